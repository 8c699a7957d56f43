# Phase `download`: fetch and verify the raw files, decode them into one array file.


rule download:
    # No code or params inputs: the files are verified by checksum, so neither
    # the code nor the source list can change what lands here.
    output:
        directory(R.RULES["download"].outputs["raw"]),
    log:
        R.RULES["download"].log,
    benchmark:
        R.RULES["download"].benchmark
    threads: 1
    script:
        script_of("download")


rule prepare:
    input:
        # Not ancient(): Snakemake 9.27 then drops every job downstream of a
        # rerunning download from the DAG (and exits 0 with targets missing).
        raw=M.raw_dir("{dataset}"),
        code=R.RULES["prepare"].code_files,
    output:
        **R.RULES["prepare"].outputs,
    params:
        **params_of("prepare"),
    log:
        R.RULES["prepare"].log,
    benchmark:
        R.RULES["prepare"].benchmark
    threads: 1
    script:
        script_of("prepare")


rule phase_download:
    input:
        expand(M.prepared("{dataset}"), dataset=config["matrix"]["datasets"]),

# Phase `download`: fetch and verify the raw files, decode them into one array file.

rule download:
    # No code or params inputs: the files are verified by checksum, so neither
    # the code nor the source list can change what lands here.
    output:
        directory(M.raw_dir("{dataset}")),
    log:
        "logs/download/{dataset}.log",
    benchmark:
        "logs/download/{dataset}.bench.tsv"
    threads: 1
    script:
        "../scripts/download.py"


rule prepare:
    input:
        # Not ancient(): Snakemake 9.27 then drops every job downstream of a
        # rerunning download from the DAG (and exits 0 with targets missing).
        raw=M.raw_dir("{dataset}"),
        code=code_of("prepare"),
    output:
        data=M.prepared("{dataset}"),
        facts=M.record(M.prepared("{dataset}")),
    params:
        **params_of("prepare"),
    log:
        "logs/download/{dataset}.prepare.log",
    benchmark:
        "logs/download/{dataset}.prepare.bench.tsv"
    threads: 1
    script:
        "../scripts/prepare.py"


rule phase_download:
    input:
        expand(M.prepared("{dataset}"), dataset=config["matrix"]["datasets"]),

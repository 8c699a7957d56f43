# Phase `download`: fetch and verify the raw files, decode them into one array file.

# Before any training (train.smk's priorities): a priority is not passed on to the jobs a job
# waits for, so without it a dataset's preparation waits behind every ready training of another.
DATA_FIRST = 1_000_000


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
    priority: DATA_FIRST
    script:
        script_of("download")


def raw_input(w):
    """A downloaded dataset's raw folder; a user's file, or every file of a user's image
    folder (a folder's own mtime misses a changed file inside it), in the work tree."""
    ds = D.get(w.dataset, config)
    if ds.fetched:
        return M.raw_dir(w.dataset)
    path = ds.source.path
    return [os.path.join(path, f) for f in DC.folder_files(path)] if ds.source.folder else path


rule prepare:
    input:
        # Not ancient(): Snakemake 9.27 then drops every job downstream of a
        # rerunning download from the DAG (and exits 0 with targets missing).
        raw=raw_input,
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
    priority: DATA_FIRST
    script:
        script_of("prepare")


rule phase_download:
    input:
        expand(M.prepared("{dataset}"), dataset=config["matrix"]["datasets"]),

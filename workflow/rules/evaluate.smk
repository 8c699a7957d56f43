# Phase `evaluate`: every .tflite measured with LiteRT (no TensorFlow import), and
# the per-layer sensitivity of some base models (Keras).


# Latency is a benchmark: its job holds every core Snakemake may use (threads =
# --cores; the scheduler keeps the sum of running jobs' threads within --cores), so
# nothing runs beside it, and times the model at 1 thread and at all of them.
# `--set-threads latency=1` would let other jobs run beside it: don't. A cluster
# executor run without --cores has no such total: there the job asks for one core, and
# the node's exclusivity is the cluster's to grant (README, SLURM).

rule latency:
    input:
        tflite=M.tflite("{dataset}", "{seed}", "{ft}", "{base}", "{prune}", "{quant}", "{cluster}"),
        info=M.record(M.tflite("{dataset}", "{seed}", "{ft}", "{base}", "{prune}", "{quant}", "{cluster}")),
        data=M.prepared("{dataset}"),
        code=R.RULES["latency"].code_files,
    output:
        **R.RULES["latency"].outputs,
    params:
        **params_of("latency"),
    log:
        R.RULES["latency"].log,
    benchmark:
        R.RULES["latency"].benchmark
    threads: ALL_CORES or 1
    script:
        script_of("latency")


def float_io_twin(w):
    """An int8-I/O export's float-I/O export of the same model (its argmax is checked against it)."""
    if not w.quant.endswith(M.INT8_IO):
        return {}
    return {"twin": M.tflite(w.dataset, w.seed, w.ft, w.base, w.prune, w.quant.removesuffix(M.INT8_IO), w.cluster)}


rule evaluate:
    input:
        unpack(float_io_twin),
        tflite=M.tflite("{dataset}", "{seed}", "{ft}", "{base}", "{prune}", "{quant}", "{cluster}"),
        info=M.record(M.tflite("{dataset}", "{seed}", "{ft}", "{base}", "{prune}", "{quant}", "{cluster}")),
        latency=lambda w: M.latency_of(config, w.dataset, w.base, w.prune, w.quant, w.cluster),  # one per cell
        data=M.prepared("{dataset}"),
        code=R.RULES["evaluate"].code_files,
    output:
        **R.RULES["evaluate"].outputs,
    params:
        **params_of("evaluate"),
    log:
        R.RULES["evaluate"].log,
    benchmark:
        R.RULES["evaluate"].benchmark
    threads: 1
    script:
        script_of("evaluate")


rule phase_evaluate:
    input:
        [M.cell_metrics(c) for c in CELLS],
        sensitivity_tables(),


rule sensitivity:
    input:
        model=lambda w: M.base_model(config, w.dataset, w.seed, w.base),
        data=M.prepared("{dataset}"),
        code=R.RULES["sensitivity"].code_files,
    output:
        **R.RULES["sensitivity"].outputs,
    params:
        **params_of("sensitivity"),
    log:
        R.RULES["sensitivity"].log,
    benchmark:
        R.RULES["sensitivity"].benchmark
    threads: 1
    script:
        script_of("sensitivity")



# Phase `evaluate`: every .tflite measured with LiteRT (no TensorFlow import), and
# the per-layer sensitivity of some base models (Keras).


rule evaluate:
    input:
        tflite=M.tflite("{dataset}", "{seed}", "{ft}", "{base}", "{prune}", "{quant}", "{cluster}"),
        info=M.record(M.tflite("{dataset}", "{seed}", "{ft}", "{base}", "{prune}", "{quant}", "{cluster}")),
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
        [M.cell_metrics(c) for c in M.cells(config)],
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



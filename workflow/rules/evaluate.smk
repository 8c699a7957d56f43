# Phase `evaluate`: every .tflite measured with LiteRT (no TensorFlow import).


rule evaluate:
    input:
        tflite=M.tflite("{dataset}", "{seed}", "{ft}", "{base}", "{prune}", "{quant}"),
        info=M.record(M.tflite("{dataset}", "{seed}", "{ft}", "{base}", "{prune}", "{quant}")),
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

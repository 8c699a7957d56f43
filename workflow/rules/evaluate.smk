# Phase `evaluate`: every .tflite measured with LiteRT (no TensorFlow import).

rule evaluate:
    input:
        tflite=M.tflite("{dataset}", "{seed}", "{base}", "{prune}", "{quant}"),
        info=M.record(M.tflite("{dataset}", "{seed}", "{base}", "{prune}", "{quant}")),
        data=M.prepared("{dataset}"),
        code=code_of("evaluate"),
    output:
        M.metrics("{dataset}", "{seed}", "{base}", "{prune}", "{quant}"),
    params:
        **params_of("evaluate"),
    log:
        "logs/evaluate/{dataset}/s{seed}/{base}+{prune}+{quant}.log",
    benchmark:
        "logs/evaluate/{dataset}/s{seed}/{base}+{prune}+{quant}.bench.tsv"
    threads: 1
    script:
        "../scripts/evaluate.py"


rule phase_evaluate:
    input:
        [M.metrics(c.dataset, c.seed, c.base, c.prune, c.quant) for c in M.cells(config)],

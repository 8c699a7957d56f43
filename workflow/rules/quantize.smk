# Phase `quantize`: every model (base or pruned) exported as .tflite with every
# scheme. Post-training schemes share one process per model (TensorFlow's
# import costs seconds); QAT is a training job of its own.

PTQ = M.ptq_schemes(config)
QAT = M.qat_schemes(config)


def source_model(w):
    return M.model(w.dataset, w.seed, w.base, w.prune)


def exported(quant):
    path = M.tflite("{dataset}", "{seed}", "{base}", "{prune}", quant)
    return [path, M.record(path)]


if PTQ:

    rule convert:
        input:
            model=source_model,
            data=M.prepared("{dataset}"),
            code=code_of("convert"),
        output:
            [f for q in PTQ for f in exported(q)],
        params:
            **params_of("convert"),
        log:
            "logs/quantize/{dataset}/s{seed}/{base}+{prune}.convert.log",
        benchmark:
            "logs/quantize/{dataset}/s{seed}/{base}+{prune}.convert.bench.tsv"
        threads: 1
        script:
            "../scripts/convert.py"


if QAT:

    rule qat:
        input:
            model=source_model,
            data=M.prepared("{dataset}"),
            code=code_of("qat"),
        output:
            exported("{quant}"),
        wildcard_constraints:
            quant="|".join(QAT),
        params:
            **params_of("qat"),
        log:
            "logs/quantize/{dataset}/s{seed}/{base}+{prune}+{quant}.log",
        benchmark:
            "logs/quantize/{dataset}/s{seed}/{base}+{prune}+{quant}.bench.tsv"
        threads: 1
        script:
            "../scripts/qat.py"


def all_tflite():
    return [M.tflite(c.dataset, c.seed, c.base, c.prune, c.quant) for c in M.cells(config)]


rule phase_quantize:
    input:
        all_tflite(),

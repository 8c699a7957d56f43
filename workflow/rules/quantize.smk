# Phase `quantize`: every model (base or pruned) exported as .tflite with every
# scheme: one conversion job per post-training scheme, so a change to one
# scheme reruns only its exports; QAT is a training job of its own.

from compressbench.catalog import methods as CM

PTQ = M.ptq_schemes(config)
QAT = M.qat_schemes(config)
CONTROLS = M.control_schemes(config)


def source_model(w):
    return M.base_model(config, w.dataset, w.seed, w.base, w.prune, w.ft, w.cluster)


def scratch_teacher(w):
    """QAT from scratch of a distilled base learns from its teacher as the base did: its
    stored logits, or under an augmenting protocol the teacher model itself (train.smk)."""
    t = M.bases(config)[w.base].teacher
    if not M.quant_method(config, w.quant).from_scratch or not t:
        return []
    seed = M.teacher_seed(config, w.dataset, w.seed, t)
    if config["protocols"][w.dataset][w.base]["augment"]:
        return M.base_model(config, w.dataset, seed, t)
    return M.base_logits(config, w.dataset, seed, t)


def calibration_data(w):
    """Only a scheme with calibration images reads the data (full-integer exports, and
    the LiteRT Quantizer's, which validate on them)."""
    return M.prepared(w.dataset) if M.quant_method(config, w.quant).calibration else []


if PTQ:

    rule convert:
        input:
            model=source_model,
            data=calibration_data,
            code=R.RULES["convert"].code_files,
        output:
            **R.RULES["convert"].outputs,
        wildcard_constraints:
            quant="|".join(PTQ),
        params:
            **params_of("convert"),
        log:
            R.RULES["convert"].log,
        benchmark:
            R.RULES["convert"].benchmark
        threads: 1
        script:
            script_of("convert")


if QAT:

    rule qat:
        input:
            model=source_model,
            data=M.prepared("{dataset}"),
            teacher=scratch_teacher,
            code=R.RULES["qat"].code_files,
        output:
            **R.RULES["qat"].outputs,
        wildcard_constraints:
            quant="|".join(QAT),
        params:
            **params_of("qat"),
        log:
            R.RULES["qat"].log,
        benchmark:
            R.RULES["qat"].benchmark
        threads: 1
        script:
            script_of("qat")


if CONTROLS:

    rule float32_ft:
        input:
            model=source_model,
            data=M.prepared("{dataset}"),
            code=R.RULES["float32_ft"].code_files,
        output:
            **R.RULES["float32_ft"].outputs,
        wildcard_constraints:
            quant="|".join(CONTROLS),
        params:
            **params_of("float32_ft"),
        log:
            R.RULES["float32_ft"].log,
        benchmark:
            R.RULES["float32_ft"].benchmark
        threads: 1
        script:
            script_of("float32_ft")


rule phase_quantize:
    input:
        [M.cell_tflite(c) for c in CELLS],

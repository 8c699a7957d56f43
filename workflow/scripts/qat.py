"""qat: quantization-aware fine-tuning of one model, then its int8 export with
float input and output and its integer-only export (int8 I/O); or qat-scratch,
the study's QAT: the architecture re-initialised and trained quantization-aware
with its base model's own protocol (distilled where the base model was).
Also rule float32_ft, QAT's control: the same fine-tune in float32, exported float32."""
from compressbench import runner


def main(smk, threads):
    from compressbench import data, distill, io, matrix, models, quantize, training
    from compressbench.catalog import methods

    w, s, protocol = smk.wildcards, smk.params.scheme, dict(smk.params.protocol)
    seed = matrix.job_seed(w.seed, w.ft)
    arrays, model = training.start_fine_tune(seed, threads, "float32", smk.input.data, smk.input.model)  # QAT: float32
    facts = quantize.describe(model)
    label = f"{w.dataset}/s{w.seed}/f{w.ft}/{matrix.variant(w.base, w.prune, w.quant, w.cluster)}"
    from_scratch = methods.get(s["method"], methods.QUANTIZE).from_scratch
    with training.Timer() as timer:
        trained, kind, conversion = quantize.trainable_copy(model, s["method"], clustered=w.cluster != matrix.NO_CLUSTER)
        runner.log.info("%s: %s", label, kind)
        if from_scratch:
            fit = training.fit_keywords(protocol)
            if smk.input.get("teacher") and protocol["augment"]:  # the teacher model, run online
                teacher = models.load(smk.input.teacher)
                history = distill.train_distilled_online(trained, arrays, teacher, **distill.kd_keywords(protocol),
                                                         **fit, seed=seed, label=label)
            elif smk.input.get("teacher"):
                io.verify(smk.input.teacher, matrix.record(smk.input.teacher))
                teacher = data.load_logits(smk.input.teacher)
                history = distill.train_distilled(trained, arrays, teacher, **distill.kd_keywords(protocol),
                                                  **fit, seed=seed, label=label)
            else:
                history = training.train_supervised(trained, arrays, **fit, seed=seed, label=label)
        else:
            history = training.train_supervised(trained, arrays, **training.fine_tune_keywords(s, protocol["fine_tune"]),
                                                seed=seed, label=label)
        blob = quantize.convert(trained, conversion)
    accuracy = training.accuracy(trained, arrays["x_test"], arrays["y_test"])
    io.write_bytes(smk.output.tflite, blob)
    record = {**facts, "quant": w.quant, "scheme": s, "qat_scheme": kind, "source": smk.input.model,
              "protocol": protocol if from_scratch else None,
              "keras_test_accuracy": round(accuracy, 6), "epochs": int(len(history)), "wall_seconds": timer.seconds}
    runner.record(smk, smk.output.record, record, artefacts=[smk.output.tflite])
    if "int8io_tflite" in smk.output.keys():  # the same training, integer-only
        calibration = quantize.representative(arrays["x_train"], smk.params.int8io["calibration_samples"], seed)
        io.write_bytes(smk.output.int8io_tflite, quantize.convert(trained, "int8io", calibration))
        runner.record(smk, smk.output.int8io_record, record | {"quant": w.quant + matrix.INT8_IO, "io": "int8"},
                      artefacts=[smk.output.int8io_tflite])
    runner.log.info("%s: %s, keras accuracy %.4f, %d bytes, %.1f s", w.quant, kind, accuracy, len(blob), timer.seconds)


runner.run(snakemake, main)  # noqa: F821 (injected by Snakemake)

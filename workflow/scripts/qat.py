"""qat: quantization-aware fine-tuning of one model, then int8 export."""
from compressbench import runner


def main(smk, threads):
    from compressbench import data, io, models, quantize, training

    w, s = smk.wildcards, smk.params.scheme
    seed = int(w.seed)
    training.configure(seed, threads)
    arrays = data.load_prepared(smk.input.data)
    model = models.load(smk.input.model)
    facts = quantize.describe(model)
    with training.Timer() as timer:
        qmodel, qscheme = quantize.qat_model(model)
        history = training.train_supervised(
            qmodel, arrays, epochs=s["epochs"], batch_size=s["batch_size"], optimizer_name="adam",
            learning_rate=s["learning_rate"], augment=False, seed=seed,
            label=f"{w.dataset}/{w.base}+{w.prune}+{w.quant} ({qscheme})")
        blob = quantize.convert(qmodel, "qat")
    accuracy = training.accuracy(qmodel, arrays["x_test"], arrays["y_test"])
    io.write_bytes(smk.output.tflite, blob)
    runner.record(smk, smk.output.record, {
        **facts, "quant": w.quant, "scheme": s, "qat_scheme": qscheme, "source": smk.input.model,
        "keras_test_accuracy": round(accuracy, 6), "epochs": int(len(history)),
        "wall_seconds": timer.seconds}, artefacts=[smk.output.tflite])
    runner.log.info("%s: %s QAT, keras accuracy %.4f, %d bytes, %.1f s",
                    w.quant, qscheme, accuracy, len(blob), timer.seconds)


runner.run(snakemake, main)  # noqa: F821

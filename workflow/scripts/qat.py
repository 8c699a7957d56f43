"""qat: quantization-aware fine-tuning of one model, then int8 export; or its
control, float32-ft: the same fine-tune in float32, exported float32."""
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
        trained, kind, conversion = quantize.trainable_copy(model, s["method"])
        history = training.train_supervised(
            trained, arrays, epochs=s["epochs"], batch_size=s["batch_size"], optimizer_name="adam",
            learning_rate=s["learning_rate"], seed=seed, label=f"{w.dataset}/{w.base}+{w.prune}+{w.quant} ({kind})")
        blob = quantize.convert(trained, conversion)
    accuracy = training.accuracy(trained, arrays["x_test"], arrays["y_test"])
    io.write_bytes(smk.output.tflite, blob)
    runner.record(smk, smk.output.record, {
        **facts, "quant": w.quant, "scheme": s, "qat_scheme": kind, "source": smk.input.model,
        "keras_test_accuracy": round(accuracy, 6), "epochs": int(len(history)),
        "wall_seconds": timer.seconds}, artefacts=[smk.output.tflite])
    runner.log.info("%s: %s, keras accuracy %.4f, %d bytes, %.1f s", w.quant, kind, accuracy, len(blob), timer.seconds)


runner.run(snakemake, main)  # noqa: F821 (injected by Snakemake)

"""convert: one model exported with one post-training scheme (the TFLite converter's,
or the LiteRT Quantizer's on the float32 export)."""
from compressbench import runner


def main(smk, threads):
    from compressbench import data, integer_io, io, models, quantize, training
    from compressbench.catalog import methods

    w, s = smk.wildcards, smk.params.scheme
    method = methods.get(s["method"], methods.QUANTIZE)
    training.configure(int(w.seed), threads)
    model = models.load(smk.input.model)
    images, quantizer, checks = None, {}, {}
    if method.calibration:
        x_train = data.load_prepared(smk.input.data, keys=("x_train",))["x_train"]
        images = quantize.calibration_images(x_train, s["calibration_samples"], int(w.seed))
    with training.Timer() as timer:
        if method.job == methods.QUANTIZER:  # recipe and per-tensor validation go in the record
            blob, quantizer = method.function()(quantize.convert(model, "float32"), s["method"], s, images, threads)
        else:
            calibration = None if images is None else quantize.representative_of(images)
            blob = quantize.convert(model, s["method"], calibration)
    if method.integer_io:  # checked against the same conversion with float input and output
        twin = quantize.convert(model, s["method"], quantize.representative_of(images), float_io=True)
        test = data.load_prepared(smk.input.data, keys=("x_test", "y_test"))
        checks = integer_io.check_blobs(blob, twin, test["x_test"], test["y_test"])
    io.write_bytes(smk.output.tflite, blob)
    runner.record(smk, smk.output.record, {
        **quantize.describe(model), "quant": w.quant, "scheme": s, "source": smk.input.model,
        **({"quantizer": quantizer} if quantizer else {}), **checks, "wall_seconds": timer.seconds},
        artefacts=[smk.output.tflite])
    runner.log.info("%s: %d bytes in %.1f s", w.quant, len(blob), timer.seconds)


runner.run(snakemake, main)  # noqa: F821 (injected by Snakemake)

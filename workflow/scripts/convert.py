"""convert: one model exported with one post-training scheme."""
from compressbench import runner


def main(smk, threads):
    from compressbench import data, io, models, quantize, training
    from compressbench.catalog import methods

    w, s = smk.wildcards, smk.params.scheme
    training.configure(int(w.seed), threads)
    model = models.load(smk.input.model)
    calibration = None
    if methods.get(s["method"], methods.QUANTIZE).calibration:
        x_train = data.load_prepared(smk.input.data, keys=("x_train",))["x_train"]
        calibration = quantize.representative(x_train, s["calibration_samples"], int(w.seed))
    with training.Timer() as timer:
        blob = quantize.convert(model, s["method"], calibration)
    io.write_bytes(smk.output.tflite, blob)
    runner.record(smk, smk.output.record, {
        **quantize.describe(model), "quant": w.quant, "scheme": s, "source": smk.input.model,
        "wall_seconds": timer.seconds}, artefacts=[smk.output.tflite])
    runner.log.info("%s: %d bytes in %.1f s", w.quant, len(blob), timer.seconds)


runner.run(snakemake, main)  # noqa: F821 (injected by Snakemake)

"""convert: one model exported with every post-training scheme, in one process."""
from pathlib import Path

from compressbench import runner


def main(smk, threads):
    from compressbench import data, io, matrix, models, quantize, training

    w = smk.wildcards
    training.configure(int(w.seed), threads)
    model = models.load(smk.input.model)
    facts = quantize.describe(model)
    x_train = None
    for name, scheme in smk.params.schemes.items():
        out = Path(matrix.tflite(w.dataset, w.seed, w.base, w.prune, name))
        calibration = None
        if scheme["method"] == "int8":
            x_train = data.load_prepared(smk.input.data)["x_train"] if x_train is None else x_train
            calibration = quantize.representative(x_train, scheme["calibration_samples"], int(w.seed))
        with training.Timer() as timer:
            blob = quantize.convert(model, scheme["method"], calibration)
        io.write_bytes(out, blob)
        io.write_json(out.with_suffix(".json"), {
            **facts, "quant": name, "scheme": scheme, "source": smk.input.model,
            "wall_seconds": timer.seconds, "threads": threads})
        runner.log.info("%s: %d bytes in %.1f s", out.name, len(blob), timer.seconds)


runner.run(snakemake, main)  # noqa: F821

"""sensitivity: one base model's accuracy with each prunable layer pruned alone."""
from compressbench import runner


def main(smk, threads):
    from compressbench import data, io, models, sensitivity, training

    w, p = smk.wildcards, smk.params
    training.configure(int(w.seed), threads)
    arrays = data.load_prepared(smk.input.data, keys=("x_test", "y_test"))
    model = models.load(smk.input.model)  # checked against its record
    with training.Timer() as timer:
        table = sensitivity.analyse(model, arrays["x_test"], arrays["y_test"], p.sensitivity["sparsities"])
    io.write_text(smk.output.table, table.to_csv(index=False, float_format="%.6f", lineterminator="\n"))
    runner.record(smk, smk.output.record, {"dataset": w.dataset, "seed": int(w.seed), "base": w.base,
                                           "layers": int(table["layer"].nunique()), "wall_seconds": timer.seconds},
                  artefacts=[smk.output.table])
    runner.log.info("%s/%s: %d layers x %d sparsities in %.1f s", w.dataset, w.base, table["layer"].nunique(),
                    len(p.sensitivity["sparsities"]), timer.seconds)


runner.run(snakemake, main)  # noqa: F821

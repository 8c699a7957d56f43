"""prune: one base model pruned with one scheme, then fine-tuned."""
from compressbench import runner


def main(smk, threads):
    from compressbench import matrix, models, prune, training

    w, p = smk.wildcards, smk.params
    seed = matrix.job_seed(w.seed, w.ft)
    arrays, source = training.start_fine_tune(seed, threads, p.precision, smk.input.data, smk.input.model)
    with training.Timer() as timer:
        pruned, history, skipped = prune.prune(source, arrays, p.scheme, p.fine_tune, seed=seed, style=p.style,
                                               label=f"{w.dataset}/s{w.seed}/f{w.ft}/{w.base}+{w.prune}")
    pruned = models.clone(pruned, "float32")  # measured and saved as deployed
    accuracy = training.accuracy(pruned, arrays["x_test"], arrays["y_test"])
    n_params, nonzero = models.count_params(pruned)
    sparsity = models.kernel_sparsity(pruned)
    runner.log.info("test accuracy %.4f, kernel sparsity %.4f, %d/%d non-zero, %.1f s",
                    accuracy, sparsity, nonzero, n_params, timer.seconds)
    if skipped:
        runner.log.info("left dense (pattern cannot apply): %s", ", ".join(skipped))
    models.save(pruned, smk.output.model)
    runner.record(smk, smk.output.record, {
        "dataset": w.dataset, "seed": int(w.seed), "ft_seed": int(w.ft), "base": w.base, "prune": w.prune, "scheme": p.scheme,
        "test_accuracy": round(accuracy, 6), "kernel_sparsity": round(sparsity, 6),
        "layer_sparsity": {k: round(v, 6) for k, v in models.layer_sparsity(pruned).items()},
        "skipped_layers": skipped, "params": n_params, "nonzero_params": nonzero,
        "epochs": int(len(history)), "wall_seconds": timer.seconds, "precision": p.precision},
        artefacts=[smk.output.model])


runner.run(snakemake, main)  # noqa: F821

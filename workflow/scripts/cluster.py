"""cluster: one (pruned) model's weights clustered, then fine-tuned."""
from compressbench import runner


def main(smk, threads):
    from compressbench import cluster, matrix, models, training

    w, p = smk.wildcards, smk.params
    seed = matrix.job_seed(w.seed, w.ft)
    arrays, source = training.start_fine_tune(seed, threads, p.precision, smk.input.data, smk.input.model)
    label = f"{w.dataset}/s{w.seed}/f{w.ft}/{matrix.variant(w.base, w.prune, '', w.cluster).rstrip('+')}"
    with training.Timer() as timer:
        clustered, history, sparse = cluster.cluster(source, arrays, p.scheme, p.fine_tune, seed=seed, label=label,
                                                           style=p.style)
    clustered = models.clone(clustered, "float32")  # measured and saved as deployed
    accuracy = training.accuracy(clustered, arrays["x_test"], arrays["y_test"])
    n_params, nonzero = models.count_params(clustered)
    values = cluster.distinct_values(clustered)
    runner.log.info("test accuracy %.4f, at most %d values per kernel%s, %.1f s", accuracy, max(values.values()),
                    " (zeros kept)" if sparse else "", timer.seconds)
    models.save(clustered, smk.output.model)
    runner.record(smk, smk.output.record, {
        "dataset": w.dataset, "seed": int(w.seed), "ft_seed": int(w.ft), "base": w.base, "prune": w.prune,
        "cluster": w.cluster, "scheme": p.scheme, "preserve_sparsity": sparse, "test_accuracy": round(accuracy, 6),
        "distinct_values": values, "params": n_params, "nonzero_params": nonzero,
        "kernel_sparsity": round(models.kernel_sparsity(clustered), 6), "epochs": int(len(history)),
        "wall_seconds": timer.seconds, "precision": p.precision}, artefacts=[smk.output.model])


runner.run(snakemake, main)  # noqa: F821

"""evaluate: one .tflite measured with LiteRT on the full test and validation sets; its
predicted labels kept beside its metrics."""
from compressbench import runner


def main(smk, threads):
    from compressbench import data, evaluate, io, matrix

    w, e = smk.wildcards, smk.params.evaluate
    arrays = data.load_prepared(smk.input.data, keys=("x_test", "y_test", "x_val", "y_val"))  # all it uses
    io.verify(smk.input.tflite, smk.input.info)
    info = io.read_json(smk.input.info)
    result, predicted = evaluate.evaluate_with_labels(
        smk.input.tflite, arrays["x_test"], arrays["y_test"], x_val=arrays["x_val"], y_val=arrays["y_val"],
        batch_size=e["batch_size"], latency_runs=e["latency_runs"], warmup_runs=e["warmup_runs"])
    evaluate.save_labels(smk.output.predictions, predicted)
    name = matrix.variant(w.base, w.prune, w.quant)  # {prune} holds "P+C" after a cluster step
    base, prune, cluster, quant = matrix.parse_variant(name)
    record = {
        "dataset": w.dataset, "seed": int(w.seed), "ft_seed": int(w.ft), "variant": name,
        "base": base, "prune": prune, "cluster": cluster, "quant": quant, **result,
        "params": info["params"], "nonzero_params": info["nonzero_params"],
        "macs": info["macs"], "nonzero_macs": info["nonzero_macs"],
        "sparsity": round(1 - info["nonzero_params"] / info["params"], 6),
    }
    runner.record(smk, smk.output.metrics, record, artefacts=[smk.output.predictions])
    runner.log.info("%s: accuracy %.4f, %d bytes (gzip %d), %.3f ms", record["variant"],
                    record["accuracy"], record["tflite_bytes"], record["gzip_bytes"], record["latency_ms"])


runner.run(snakemake, main)  # noqa: F821

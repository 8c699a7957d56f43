"""evaluate: one .tflite measured with LiteRT on the full test and validation sets (its
latency comes from its own job); its predicted labels kept beside its metrics."""
from compressbench import runner


def main(smk, threads):
    from compressbench import data, evaluate, io, matrix

    w, e = smk.wildcards, smk.params.evaluate
    arrays = data.load_prepared(smk.input.data, keys=("x_test", "y_test", "x_val", "y_val"))  # all it uses
    io.verify(smk.input.tflite, smk.input.info)
    info = io.read_json(smk.input.info)
    result, predicted = evaluate.evaluate_with_labels(
        smk.input.tflite, arrays["x_test"], arrays["y_test"], x_val=arrays["x_val"], y_val=arrays["y_val"],
        batch_size=e["batch_size"])
    evaluate.save_labels(smk.output.predictions, predicted)
    latency = io.read_json(smk.input.latency)  # its own job, the cores otherwise idle
    record = {
        "dataset": w.dataset, "seed": int(w.seed), "ft_seed": int(w.ft),
        "variant": matrix.variant(w.base, w.prune, w.quant, w.cluster),
        "base": w.base, "prune": w.prune, "cluster": w.cluster, "quant": w.quant, **result,
        **{k: v for k, v in latency.items() if k.startswith("latency_")}, "latency_cpu": latency["cpu"],
        "params": info["params"], "nonzero_params": info["nonzero_params"],
        "macs": info["macs"], "nonzero_macs": info["nonzero_macs"],
        "sparsity": round(1 - info["nonzero_params"] / info["params"], 6),
        **{k: v for k, v in info.items() if k.startswith("int8io_")},  # a full-integer PTQ export's check
    }
    if "twin" in smk.input.keys():  # an int8-I/O export: checked against its float-I/O twin
        from compressbench import integer_io
        x, y = arrays["x_test"], arrays["y_test"]
        logits = [evaluate.predict(evaluate.interpreter(p), x, e["batch_size"]) for p in (smk.input.tflite,
                                                                                           smk.input.twin)]
        record |= integer_io.check(*logits, y)
    runner.record(smk, smk.output.metrics, record, artefacts=[smk.output.predictions])
    runner.log.info("%s: accuracy %.4f, %d bytes (gzip %d), arena ~%d bytes", record["variant"],
                    record["accuracy"], record["tflite_bytes"], record["gzip_bytes"], record["arena_bytes_estimate"])


runner.run(snakemake, main)  # noqa: F821

"""latency: one .tflite timed alone on the machine (the rule holds every core), at one
thread and at all of them, until the median's 95 % CI is within the tolerance."""
from compressbench import runner


def main(smk, threads):
    import time

    from compressbench import data, io, latency  # no TensorFlow: LiteRT only

    io.verify(smk.input.tflite, smk.input.info)
    image = data.load_prepared(smk.input.data, keys=("x_test",))["x_test"][0]
    all_threads = min(threads, latency.usable_cores())
    start = time.perf_counter()
    result = latency.benchmark(smk.input.tflite, image, smk.params.latency, all_threads)
    runner.record(smk, smk.output.latency, {**result, "wall_seconds": round(time.perf_counter() - start, 2)})
    runner.log.info("%s: %.4f ms at 1 thread [%.4f, %.4f], %.4f ms at %d (%d and %d runs)", smk.input.tflite,
                    result["latency_ms"], result["latency_ci_low_ms"], result["latency_ci_high_ms"],
                    result["latency_all_ms"], all_threads, result["latency_runs"], result["latency_all_runs"])


runner.run(snakemake, main)  # noqa: F821

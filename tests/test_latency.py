"""The latency benchmark's stopping rule, with a fake clock: it stops at the first check
where the median's 95 % CI is within the tolerance, and at its caps otherwise."""
import numpy as np

from compressbench import latency

STOP = {"warmup_runs": 3, "min_runs": 20, "check_every": 10, "tolerance": 0.02, "max_runs": 500,
        "max_seconds": 1e9}


class FakeClock:
    """Time advances only inside invoke(), by the next scripted duration (seconds)."""

    def __init__(self, durations):
        self.now, self.durations, self.calls = 0.0, iter(durations), 0

    def __call__(self):
        return self.now

    def invoke(self):
        self.calls += 1
        self.now += next(self.durations)


def run(durations, **changes):
    clock = FakeClock(durations)
    return latency.measure(clock.invoke, {**STOP, **changes}, clock=clock), clock


def test_steady_times_stop_at_the_first_check():
    result, clock = run([0.001] * 1000)
    assert result["runs"] == 20 and result["converged"]
    assert clock.calls == 3 + 20  # the warm-up is not timed
    assert result["median_ms"] == 1.0 and result["iqr_ms"] == 0.0


def test_times_that_never_settle_stop_at_the_run_cap_unconverged():
    result, _ = run([0.001, 0.003] * 1000)  # a median between two modes 3x apart
    assert result["runs"] == 500 and not result["converged"]


def test_the_time_cap_stops_a_slow_model():
    result, _ = run([1.0] * 1000, max_seconds=5, min_runs=100)
    assert result["runs"] == 5 and not result["converged"]


def test_noisy_times_stop_at_the_first_check_whose_ci_is_within_two_percent():
    durations = list(np.random.default_rng(0).lognormal(np.log(0.002), 0.08, 5000))
    result, _ = run(durations)
    n = result["runs"]
    assert result["converged"] and n % 10 == 0 and 20 <= n < 500
    timed = durations[3:]  # after the 3 warm-up invocations
    assert latency.converged(timed[:n], 0.02)
    assert not any(latency.converged(timed[:k], 0.02) for k in range(20, n, 10))
    lo, hi, med = result["ci_low_ms"], result["ci_high_ms"], result["median_ms"]
    assert lo <= med <= hi and hi - lo <= 0.04 * med + 1e-4


def test_median_ci_takes_the_order_statistics_of_a_95_percent_interval():
    assert latency.median_ci(list(range(1, 101))) == (40, 61)  # the textbook ranks for n = 100


def test_benchmark_times_a_tflite_at_one_and_all_threads(tmp_path):
    import compressbench  # noqa: F401
    import tf_keras as keras

    from compressbench import quantize
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(4)])
    path = tmp_path / "m.tflite"
    path.write_bytes(quantize.convert(model, "float32"))
    out = latency.benchmark(path, np.zeros((8, 8, 1), np.uint8), {**STOP, "max_seconds": 0.5}, all_threads=2)
    assert out["latency_threads"] == 2 and out["latency_delegate"].startswith("XNNPACK")
    for prefix in ("latency_", "latency_all_"):
        assert out[prefix + "ms"] > 0 and out[prefix + "runs"] >= 20
        assert out[prefix + "ci_low_ms"] <= out[prefix + "ms"] <= out[prefix + "ci_high_ms"]

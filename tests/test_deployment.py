"""The report's deployment section: pruned models against their dense twins, judged
against the latency's own confidence intervals."""
import pandas as pd

from compressbench import deployment
from compressbench.tables import table


def row(prune, median, lo, hi, speedup=1.0, quant="float32"):
    return {"dataset": "mnist", "variant": f"student-kd+{prune}+{quant}", "base": "student-kd", "prune": prune,
            "cluster": "none", "quant": quant, "seed": 0, "ft_seed": 0, "latency_ms": median,
            "latency_ci_low_ms": lo, "latency_ci_high_ms": hi, "latency_all_ms": median / 2,
            "speedup_theoretical": speedup, "latency_cpu": "AMD EPYC", "tflite_bytes": 1000,
            "arena_bytes_estimate": 256}


def test_only_a_pruned_model_whose_ci_lies_below_its_dense_twins_is_measurably_faster(cfg):
    frame = pd.DataFrame([row("none", 1.00, 0.98, 1.02),
                          row("filters", 0.60, 0.59, 0.61, speedup=2.0),       # CIs apart: faster
                          row("global", 0.99, 0.97, 1.01, speedup=3.0),        # inside the spread: not
                          row("finetune", 0.50, 0.49, 0.51)])                  # removes nothing: not compared
    lat = deployment.latency_vs_dense(frame, cfg).set_index("variant")
    assert list(lat.index) == ["student-kd+filters+float32", "student-kd+global+float32"]
    assert lat.loc["student-kd+filters+float32", "measurably_faster"]
    assert lat.loc["student-kd+filters+float32", "speedup_1_thread"] == round(1 / 0.6, 3)
    assert not lat.loc["student-kd+global+float32", "measurably_faster"]
    text = "\n".join(deployment.section(frame, cfg, table))
    assert "On AMD EPYC, 1 of 2 pruned cells run measurably faster" in text


def test_a_run_without_latency_cis_says_so(cfg):
    frame = pd.DataFrame([{k: v for k, v in row("none", 1, 1, 1).items() if not k.startswith("latency_ci")}])
    assert deployment.latency_vs_dense(frame, cfg).empty
    assert "No latency with confidence intervals" in deployment.section(frame, cfg, table)[0]


def test_a_cells_other_seeds_carrying_its_one_timing_are_not_counted_again(cfg):
    frame = pd.DataFrame([row("none", 1.00, 0.98, 1.02), row("filters", 0.60, 0.59, 0.61, speedup=2.0),
                          {**row("filters", 0.60, 0.59, 0.61, speedup=2.0), "ft_seed": 1},   # fine-tune seed 1
                          {**row("none", 1.00, 0.98, 1.02), "seed": 1},
                          {**row("filters", 0.60, 0.59, 0.61, speedup=2.0), "seed": 1}])     # training seed 1
    lat = deployment.latency_vs_dense(frame, cfg)
    assert list(zip(lat["variant"], lat["seed"], lat["ft_seed"])) == [("student-kd+filters+float32", 0, 0)]

"""Shipping a chosen variant: its .tflite copied out of a run with a model card beside it."""
import json

import pandas as pd
import pytest

from compressbench import export, matrix, quantize

VARIANT = "student-kd+global+aeq-int8"


@pytest.fixture()
def run_tree(tmp_path):
    """A finished run's files for one cell: the .tflite, its metrics, the data's record."""
    import tf_keras as keras
    model = keras.Sequential([keras.Input((28, 28, 1), name="image"), keras.layers.Flatten(), keras.layers.Dense(10)])
    tflite = tmp_path / matrix.tflite("mnist", 0, 0, "student-kd", "global", "aeq-int8")
    tflite.parent.mkdir(parents=True)
    tflite.write_bytes(quantize.convert(model, "float32"))
    metrics = tmp_path / matrix.metrics("mnist", 0, 0, "student-kd", "global", "aeq-int8")
    metrics.parent.mkdir(parents=True)
    metrics.write_text(json.dumps({
        "dataset": "mnist", "seed": 0, "ft_seed": 0, "variant": VARIANT, "base": "student-kd", "prune": "global",
        "cluster": "none", "quant": "aeq-int8", "accuracy": 0.9, "tflite_bytes": 1234, "gzip_bytes": 1000,
        "latency_ms": 0.1, "latency_ci_low_ms": 0.098, "latency_ci_high_ms": 0.102, "latency_iqr_ms": 0.004,
        "latency_all_ms": 0.07, "latency_all_iqr_ms": 0.01, "latency_threads": 2, "latency_delegate": "XNNPACK",
        "latency_cpu": "AMD EPYC", "arena_bytes_estimate": 3176, "params": 7850, "nonzero_params": 3000,
        "macs": 7840, "nonzero_macs": 3000}))
    facts = tmp_path / matrix.record(matrix.prepared("mnist"))
    facts.parent.mkdir(parents=True)
    facts.write_text(json.dumps({"counts": {"test": 10000}}))
    pd.DataFrame([{"dataset": "mnist", "variant": VARIANT, "seed": 0, "ft_seed": 0, "accuracy": 0.9,
                   "gzip_bytes": 1000, "compression_ratio": 12.0},
                  {"dataset": "mnist", "variant": "teacher+none+float32", "seed": 0, "ft_seed": 0, "accuracy": 0.98,
                   "gzip_bytes": 12000, "compression_ratio": 1.0}]).to_csv(tmp_path / "results.csv", index=False)
    return tmp_path


def test_export_copies_the_tflite_and_writes_its_model_card(run_tree, cfg, tmp_path):
    dest = export.export(VARIANT, "mnist", 0, 0, tmp_path / "ship", run_tree, params=cfg)
    assert dest.read_bytes() == (run_tree / matrix.tflite("mnist", 0, 0, "student-kd", "global", "aeq-int8")).read_bytes()
    card = dest.with_suffix(".md").read_text()
    assert card.startswith(f"# {VARIANT} (mnist, seed 0")
    assert "accuracy: 90.00% (95 % CI 89.40% to 90.57%, 10000 test images)" in card
    assert "IQR 0.004 ms" in card and "at 2 threads" in card
    assert "~3176 bytes (an estimate" in card
    assert "- input `serving_default_image:0`: float32 [1, 28, 28, 1]" in card
    assert "method: aeq-static-int8" in card and "from commit" in card


def test_export_by_target_compression_picks_the_most_accurate_cell_that_small(run_tree, tmp_path, capsys):
    results = pd.read_csv(run_tree / "results.csv")
    assert export.choose(results, "mnist", 10)["variant"] == VARIANT
    assert export.choose(results, "mnist", 1)["variant"] == "teacher+none+float32"
    with pytest.raises(export.ExportError, match="no mnist cell is 20x smaller.*12.00x"):
        export.choose(results, "mnist", 20)


def test_export_of_a_cell_the_run_lacks_names_the_missing_file(run_tree, tmp_path, cfg):
    with pytest.raises(export.ExportError, match="teacher\\+none\\+float32.*missing; run `snakemake"):
        export.export("teacher+none+float32", "mnist", 0, 0, tmp_path / "ship", run_tree, params=cfg)


def test_export_by_target_compression_chooses_on_validation_among_the_matrixs_family(cfg):
    # the study twin is more accurate on test and validation, but its family is not the matrix's;
    # among the converged variants, b wins on validation though a wins on test
    rows = [("student-kd+global+float32", 0.92, 0.90), ("student-kd+global+ptq-int8", 0.95, 0.85),
            ("student-kd-st+global+float32", 0.99, 0.99)]
    results = pd.DataFrame([{"dataset": "cifar10", "variant": v, "base": v.split("+")[0], "seed": s, "ft_seed": 0,
                             "compression_ratio": 12.0, "gzip_bytes": 1000, "accuracy": acc, "val_accuracy": val}
                            for v, acc, val in rows for s in (1, 0)])
    row = export.choose(results, "cifar10", 10, cfg)
    assert (row["variant"], row["seed"]) == ("student-kd+global+float32", 0)   # its first run
    assert export.choose(results, "cifar10", 10)["variant"] == "student-kd-st+global+float32"  # no params: all

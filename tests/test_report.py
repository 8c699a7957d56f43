"""Tests for compressbench.report (and results, markdown, provenance) on synthetic metrics, stage
records and facts."""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from compressbench import evaluate, markdown, matrix, provenance, report, results
from compressbench import report_files as RF

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ["mnist", "cifar10"]
BASES = ["teacher", "student-kd", "student-takd"]
PRUNES = ["none", "local-all"]
QUANTS = ["float32", "ptq-int8"]
PARAMS = {
    "seeds": [0], "matrix": {"datasets": DATASETS, "bases": BASES, "prune": PRUNES, "quant": QUANTS},
    "zoo": {ds: {"teacher": [{"conv": 8}, {"dense": 10}], "student": [{"conv": 4}]} for ds in DATASETS},
    "train": {"optimizer": "adam", "learning_rate": 0.001, "batch_size": 128, "augment": False,
              "epochs": {ds: {b: 1 for b in BASES} for ds in DATASETS}},
    "distill": {"alpha": 0.1, "temperature": 10.0},
    "prune": {"fine_tune": {"epochs": 2, "batch_size": 128, "learning_rate": 0.001},
              "schemes": {"local-all": {"method": "magnitude", "layers": "all", "sparsity": 0.8}}},
    "quantize": {"schemes": {"float32": {"method": "float32"},
                             "ptq-int8": {"method": "int8", "calibration_samples": 500}}},
    "evaluate": {"batch_size": 1000},
    "latency": {"warmup_runs": 50, "min_runs": 50, "check_every": 25, "tolerance": 0.02, "max_runs": 5000,
                "max_seconds": 20},
    "val_size": 5000, "split_seed": 0,
}
SIZE = {"teacher": 1_000_000, "student-kd": 50_000, "student-takd": 50_000}


def accuracy(ds, seed, base, prune, quant):
    top = 0.98 if ds == "mnist" else 0.70
    return round(top - 0.01 * BASES.index(base) - 0.002 * PRUNES.index(prune) - 0.001 * QUANTS.index(quant)
                 + 0.003 * seed, 6)


def metric(ds, seed, base, prune, quant):
    size = SIZE[base] // (4 if quant == "ptq-int8" else 1)
    gz = int(size * (0.3 if prune != "none" else 0.9)) + seed
    acc = accuracy(ds, seed, base, prune, quant)
    return {"dataset": ds, "seed": seed, "variant": f"{base}+{prune}+{quant}", "base": base, "prune": prune,
            "quant": quant, "accuracy": acc, "tflite_bytes": size, "gzip_bytes": gz, "latency_ms": 0.1234,
            "efficiency": round(acc / (gz / 1e6), 6), "input_dtype": "float32", "output_dtype": "float32",
            "params": 1000, "nonzero_params": 200 if prune != "none" else 1000,
            "sparsity": 0.8 if prune != "none" else 0.0, "wall_seconds": 2.0, "rule": "evaluate"}


def write(path: Path, obj) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return str(path)


def make_inputs(tmp: Path, seeds=(0,), shuffle=True):
    metrics, stages, facts = [], [], []
    for ds in DATASETS:
        facts.append(write(tmp / f"data/prepared/{ds}.json", {
            "dataset": ds, "counts": {"train": 55000, "val": 5000, "test": 10000},
            "sha256": {"x_test": "ab" * 32, "y_test": "cd" * 32}}))
        for s in seeds:
            for b in BASES:
                phase = matrix.BASES[b].phase
                stages.append(write(tmp / f"models/{phase}/{ds}/s{s}/{b}.json", {
                    "dataset": ds, "seed": s, "base": b, "test_accuracy": 0.9, "wall_seconds": 10.0,
                    "distilled_from": "x.logits.npz" if matrix.BASES[b].teacher else None,
                    "rule": matrix.BASES[b].rule}))
                stages.append(write(tmp / f"models/pruned/{ds}/s{s}/{b}+local-all.json", {
                    "dataset": ds, "seed": s, "base": b, "prune": "local-all", "wall_seconds": 4.0,
                    "rule": "prune"}))
                for p in PRUNES:
                    for q in QUANTS:
                        metrics.append(write(tmp / f"metrics/{ds}/s{s}/{b}+{p}+{q}.json", metric(ds, s, b, p, q)))
                        stages.append(write(tmp / f"tflite/{ds}/s{s}/{b}+{p}+{q}.json", {
                            "quant": q, "scheme": {"method": "int8" if q == "ptq-int8" else "float32"},
                            "wall_seconds": 1.0, "rule": "convert"}))
    shutil.copy(ROOT / "reports/reference/arxiv-2305.08075.yaml", tmp / "reference.yaml")
    if shuffle:  # the rule's input order must not matter
        metrics = sorted(metrics, reverse=True)
    return metrics, stages, facts, str(tmp / "reference.yaml")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    inputs = make_inputs(tmp)
    report.build(*inputs, PARAMS, out_dir=str(tmp / "reports"), root=str(tmp))
    return tmp, inputs


def read_csv(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_results_csv_has_the_columns_one_row_per_metrics_file_in_matrix_order(built):
    tmp, (metrics, *_) = built
    rows = read_csv(tmp / "reports/results.csv")
    header = list(rows[0].keys())
    assert header[:len(results.COLUMNS)] == results.COLUMNS
    assert header == results.COLUMNS + results.EXTRAS
    assert len(rows) == len(metrics) == 2 * 3 * 2 * 2
    expected = [(ds, f"{b}+{p}+{q}") for ds in DATASETS for b in BASES for p in PRUNES for q in QUANTS]
    assert [(r["dataset"], r["variant"]) for r in rows] == expected


def test_delta_and_ratio_against_the_teacher_float32(built):
    tmp, _ = built
    rows = {(r["dataset"], r["variant"]): r for r in read_csv(tmp / "reports/results.csv")}
    teacher = rows[("cifar10", "teacher+none+float32")]
    row = rows[("cifar10", "student-kd+local-all+ptq-int8")]
    assert float(teacher["accuracy_delta_pp"]) == 0 and float(teacher["compression_ratio"]) == 1
    assert row["accuracy"] == "0.687000"
    assert row["accuracy_delta_pp"] == "-1.3000"
    assert float(row["compression_ratio"]) == pytest.approx(900_000 / int(row["gzip_bytes"]), abs=1e-4)
    assert row["gzip_bytes"] == str(int(50_000 // 4 * 0.3))


def test_report_table_matches_the_csv(built):
    tmp, _ = built
    md = (tmp / "reports/report.md").read_text()
    rows = {(r["dataset"], r["variant"]): r for r in read_csv(tmp / "reports/results.csv")}
    for ds in DATASETS:
        assert f"![{ds}: accuracy vs gzip size](figures/{ds}-pareto.png)" in md.split(f"\n## {ds}\n", 1)[1]
        section = md.split(f"\n### All variants: {ds}\n", 1)[1]
        for variant in ["teacher+none+float32", "student-takd+local-all+ptq-int8", "student-kd+none+ptq-int8"]:
            line = next(l for l in section.splitlines() if l.startswith(f"| `{variant}`"))
            cells = [c.strip() for c in line.strip("|").split("|")]
            r = rows[(ds, variant)]
            assert cells[2] == f"{100 * float(r['accuracy']):.2f}"
            assert cells[3] == f"{float(r['accuracy_delta_pp']):.2f}"
            # cells[4]: Δ vs control (the fixture has no control cells but the float32 exports)
            ref = {"student-kd+none+ptq-int8": "student-kd+none+float32",
                   "student-takd+local-all+ptq-int8": "student-takd+local-all+float32"}.get(variant)
            assert cells[4] == (f"{100 * (float(r['accuracy']) - float(rows[(ds, ref)]['accuracy'])):.2f}"
                                if ref else "—")
            assert cells[6] == f"{int(r['gzip_bytes']) / 1000:.1f}"
            assert cells[7] == f"{float(r['compression_ratio']):.2f}"
            assert cells[12] == f"{float(r['efficiency']):.2f}"


def test_report_states_efficiency_claims_reproduction_and_wall_time(built):
    tmp, _ = built
    md = (tmp / "reports/report.md").read_text()
    assert "accuracy relative to size" in md and "10^6 bytes" in md
    assert "Code version: `unknown`" in md     # the tmp dir is no git checkout
    for claim in ["C1", "C2", "C3", "C4", "C5"]:
        assert f"### {claim}:" in md
    # the study's MNIST teacher of its distillation notebook (97.00 %) next to ours (98.00 %)
    rows = {}
    for line in md.split("### cifar10")[0].splitlines():  # the MNIST table
        if line.startswith("| ") and "_notebook" in line:
            c = [c.strip() for c in line.strip("|").split("|")]
            rows[(c[0], c[1], c[3])] = c
    teacher = rows[("distillation_notebook", "teacher", "accuracy %")]
    assert teacher[2] == "`teacher+none+float32`" and teacher[4:7] + teacher[8:9] == ["97.00", "98.00", "+1.00", "ours higher"]
    assert teacher[7].startswith("[97.61, 98.39]")  # the 95 % prediction interval of one new run
    # the study's protocols this tiny run lacks: not run, no number
    qat = rows[("quantization_notebook", "teacher_qat_int8", "accuracy %")]
    assert qat[2] == "`teacher-study5+none+qat-scratch`" and qat[5:9] == ["—", "—", "—", "not run"]
    assert "Reproduction of the study's published numbers" in md.split("<details>")[0]
    times = next(l for l in md.splitlines() if l.startswith("| prune "))
    assert [c.strip() for c in times.strip("|").split("|")] == ["prune", "6", "24.0", "4.0", "4.0"]
    evaluate = next(l for l in md.splitlines() if l.startswith("| evaluate "))
    assert "| 24 " in evaluate
    assert "abababababababab" in md and "ab" * 17 not in md


def test_summary_and_plot_data(built):
    tmp, _ = built
    summary = json.loads((tmp / "reports/summary.json").read_text())
    m = summary["mnist"]
    assert m["teacher_float32_accuracy"] == 0.98 and m["cells"] == 12 and m["seeds"] == 1
    assert m["best_accuracy_variant"] == "teacher+none+float32"
    # within 1 pp of 98 %: student-kd+none+float32 at exactly 97 % is the smallest such
    assert m["smallest_within_1pp_variant"] == "student-kd+none+float32"
    assert m["smallest_within_1pp_gzip_bytes"] == 45_000 and m["smallest_within_1pp_compression"] == 20.0
    # within 0.5 pp (>= 97.5 %) only teacher variants are left: the pruned int8 one at 97.7 % is the smallest
    assert m["smallest_within_0.5pp_variant"] == "teacher+local-all+ptq-int8"
    assert m["best_efficiency_variant"] == "student-kd+local-all+ptq-int8"
    from compressbench import claims
    assert {m[f"claim_C{i}"] for i in range(1, 6)} <= set(claims.VERDICTS)  # strings, for dvc metrics diff
    plot = pd.read_csv(tmp / "reports/plots/mnist.csv")
    assert list(plot.columns) == ["variant", "gzip_bytes", "accuracy"] and len(plot) == 12
    assert report.PLOT_DATA.format(dataset="mnist") == "reports/plots/mnist.csv"


def test_regenerated_outputs_are_byte_identical(built):
    tmp, inputs = built
    out = tmp / "reports"
    files = ["results.csv", "summary.json", "report.md", "figures/mnist-pareto.png",
             "figures/cifar10-pareto.png", "plots/cifar10.csv"]
    before = {f: (out / f).read_bytes() for f in files}
    assert before["figures/mnist-pareto.png"].startswith(b"\x89PNG")
    metrics, stages, facts, ref = inputs
    report.build(sorted(metrics), stages, facts, ref, PARAMS, out_dir=str(out), root=str(tmp))
    assert {f: (out / f).read_bytes() for f in files} == before


def test_pareto_marks_on_a_hand_made_frame():
    frame = pd.DataFrame({
        "variant": ["a", "b", "c", "d", "e", "f"],
        "accuracy": [0.99, 0.98, 0.97, 0.96, 0.98, 0.99],
        "gzip_bytes": [1000, 500, 100, 200, 600, 1000],
    })
    # d is beaten by c (smaller and more accurate); e by b; a and f tie: neither dominates
    assert pareto_list(frame) == [True, True, True, False, False, True]
    two = pd.concat([frame.assign(dataset="x"), frame.assign(dataset="y", accuracy=frame["accuracy"] - 0.5)])
    assert results.pareto(two).tolist() == [True, True, True, False, False, True] * 2


def pareto_list(frame):
    return results.pareto(frame).tolist()


def test_pareto_and_best_efficiency_marked_in_the_table():
    frame = results.results_frame([metric("mnist", 0, b, p, q) for b in BASES for p in PRUNES for q in QUANTS],
                                  PARAMS)
    from compressbench import claims
    table = markdown.variant_table(claims.variant_stats(frame), PARAMS)
    marks = dict(zip(table["variant"], table["mark"]))
    assert marks["`teacher+none+float32`"] == markdown.PARETO_MARK              # the most accurate
    assert marks["`student-kd+local-all+ptq-int8`"] == markdown.PARETO_MARK + markdown.EFFICIENCY_MARK
    assert marks["`teacher+none+ptq-int8`"] == markdown.PARETO_MARK               # nothing smaller is as accurate
    assert marks["`student-takd+none+float32`"] == ""                            # student-kd: same size, more accurate
    assert list(marks.values()).count(markdown.EFFICIENCY_MARK) + list(marks.values()).count(
        markdown.PARETO_MARK + markdown.EFFICIENCY_MARK) == 1


def test_multi_seed_report_shows_mean_and_std(tmp_path):
    inputs = make_inputs(tmp_path, seeds=(0, 1, 2))
    report.build(*inputs, {**PARAMS, "seeds": [0, 1, 2]}, out_dir="reports", root=str(tmp_path))
    rows = read_csv(tmp_path / "reports/results.csv")
    assert len(rows) == 72 and [r["seed"] for r in rows[:3]] == ["0", "1", "2"]
    md = (tmp_path / "reports/report.md").read_text()
    line = next(l for l in md.split("\n### All variants: mnist\n", 1)[1].splitlines() if l.startswith("| `ta") or
                l.startswith("| `student-kd+none+float32`"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    # seeds add 0, 0.3, 0.6 pp: mean 97.30, std 0.30; delta is paired -> no spread
    assert cells[2] == "97.30 ± 0.30"
    assert cells[3] == "-1.00 ± 0.00"
    summary = json.loads((tmp_path / "reports/summary.json").read_text())
    assert summary["mnist"]["seeds"] == 3 and summary["mnist"]["seed_list"] == "0 1 2"
    assert summary["mnist"]["teacher_float32_accuracy"] == pytest.approx(0.983)


def test_job_bookkeeping_of_the_records_is_no_results_column_but_the_cpu_is():
    rec = {**metric("mnist", 0, "teacher", "none", "float32"), "wildcards": {"dataset": "mnist"},
           "cpu": "AMD EPYC [avx2 fma] oneDNN=1", "threads": 1, "rule": "evaluate"}
    frame = results.results_frame([rec], PARAMS)
    assert list(frame.columns) == results.COLUMNS + results.EXTRAS
    assert frame["cpu"].tolist() == ["AMD EPYC [avx2 fma] oneDNN=1"]  # latencies depend on it


def test_wall_time_table_groups_by_rule(built):
    tmp, _ = built
    md = (tmp / "reports/report.md").read_text()
    section = md.split("\n## Wall time per rule\n", 1)[1]
    rows = [[c.strip() for c in l.strip("|").split("|")] for l in section.splitlines() if l.startswith("| ")]
    # 2 datasets x 1 seed: one teacher, two distilled students (kd, takd) per dataset
    assert rows == [["rule", "jobs", "total s", "mean s", "max s"],
                    ["train_teacher", "2", "20.0", "10.0", "10.0"],
                    ["distill_student", "4", "40.0", "10.0", "10.0"],
                    ["prune", "6", "24.0", "4.0", "4.0"],
                    ["convert", "24", "24.0", "1.0", "1.0"],
                    ["evaluate", "24", "48.0", "2.0", "2.0"]]


def test_rule_times_in_pipeline_order_then_other_rules_then_unknown():
    records = [{"rule": "evaluate", "wall_seconds": 2.0}, {"wall_seconds": 5.0},
               {"rule": "zz_new", "wall_seconds": 1.0}, {"rule": "qat", "wall_seconds": 3.0},
               {"rule": "train_teacher", "wall_seconds": 7.0}, {"rule": "qat", "wall_seconds": 1.0},
               {"rule": "prune"}]       # no wall_seconds: left out
    times = provenance.rule_times(records)
    assert times["rule"].tolist() == ["train_teacher", "qat", "evaluate", "zz_new", provenance.UNKNOWN]
    assert times["jobs"].tolist() == [1, 2, 1, 1, 1]
    assert times.set_index("rule").loc["qat", "total s"] == 4.0
    assert provenance.rule_times([]).empty


def test_report_module_imports_no_tensorflow():
    import subprocess
    import sys
    code = "import sys, compressbench.report, compressbench.claims; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("seeds", [(0,), (0, 1, 2)], ids=["1 seed", "3 seeds"])
def test_variants_csv_is_results_csv_aggregated_per_variant(tmp_path, seeds):
    report.build(*make_inputs(tmp_path, seeds=seeds), {**PARAMS, "seeds": list(seeds)}, out_dir="reports",
                 root=str(tmp_path))
    per_seed = pd.read_csv(tmp_path / "reports/results.csv")
    variants = pd.read_csv(tmp_path / "reports/variants.csv", keep_default_na=False, dtype={"seeds": str})
    assert len(variants) == len(per_seed) // len(seeds) == len(per_seed.groupby(["dataset", "variant"]))
    for _, v in variants.iterrows():
        rows = per_seed[(per_seed["dataset"] == v["dataset"]) & (per_seed["variant"] == v["variant"])]
        assert v["n"] == len(seeds) and v["seeds"] == " ".join(map(str, seeds))
        assert v["accuracy"] == pytest.approx(rows["accuracy"].mean(), abs=1e-6)
        assert v["gzip_bytes"] == pytest.approx(rows["gzip_bytes"].mean(), abs=0.5)
        expected_std = "" if len(seeds) == 1 else pytest.approx(100 * rows["accuracy"].std(), abs=1e-4)
        assert (v["accuracy_std_pp"] if len(seeds) == 1 else float(v["accuracy_std_pp"])) == expected_std


def default_matrix_inputs(tmp: Path):
    """Metrics of the default matrix's size (5 bases x 8 pruning x 6 quantization schemes)."""
    bases = list(matrix.BASES)
    prunes = ["none", "finetune", "local-all", "local-conv", "local-dense", "global", "nm-2-4", "filters"]
    quants = ["float32", "ptq-dynamic", "ptq-int8", "ptq-fp16", "qat", "float32-ft"]
    params = {**PARAMS, "matrix": {"datasets": DATASETS, "bases": bases, "prune": prunes, "quant": quants}}
    metrics = []
    for ds in DATASETS:
        for i, (b, p, q) in enumerate((b, p, q) for b in bases for p in prunes for q in quants):
            acc = round(0.98 - 0.0007 * (i % 37) - 0.004 * bases.index(b), 6)
            gz = 1_000_000 // (1 + bases.index(b) * 4) // (1 + prunes.index(p) % 3) // (4 if "int8" in q else 1) + i
            metrics.append(write(tmp / f"metrics/{ds}/s0/{b}+{p}+{q}.json", {
                "dataset": ds, "seed": 0, "variant": f"{b}+{p}+{q}", "base": b, "prune": p, "quant": q,
                "accuracy": acc, "tflite_bytes": gz * 2, "gzip_bytes": gz, "latency_ms": 0.1,
                "efficiency": acc / (gz / 1e6), "params": 1000, "nonzero_params": 900, "sparsity": 0.1,
                "wall_seconds": 1.0, "rule": "evaluate"}))
    return metrics, params


def test_the_first_screen_of_the_default_matrix_fits_150_lines_and_the_folded_tables_match_variants_csv(tmp_path):
    metrics, params = default_matrix_inputs(tmp_path)
    report.build(metrics, [], [], None, params, out_dir="reports", root=str(tmp_path))
    md = (tmp_path / "reports/report.md").read_text()
    first = md.split("<details>", 1)[0]
    assert len(first.splitlines()) <= 150, len(first.splitlines())
    assert first.index("## Verdicts") < first.index("## mnist") < first.index("## cifar10")
    assert "Pareto front on test accuracy (" in first and "Best 8-bit export of each" in first
    variants = pd.read_csv(tmp_path / "reports/variants.csv")
    assert len(variants) == 2 * 5 * 8 * 6
    for ds in DATASETS:
        folded = md.split(f"\n### All variants: {ds}\n", 1)[1].split("</details>", 1)[0]
        shown = {l.split("|")[1].strip().strip("`"): l.split("|")[3].strip()
                 for l in folded.splitlines() if l.startswith("| `")}
        expected = variants[variants["dataset"] == ds]
        assert shown == {v: f"{100 * a:.2f}" for v, a in zip(expected["variant"], expected["accuracy"])}


def test_regenerating_the_report_from_the_same_results_is_byte_identical(tmp_path):
    metrics, params = default_matrix_inputs(tmp_path)
    texts = []
    for out in ("a", "b"):
        report.build(metrics, [], [], None, params, out_dir=out, root=str(tmp_path))
        texts.append([(tmp_path / out / f).read_bytes() for f in ("report.md", "variants.csv", "summary.json")])
    assert texts[0] == texts[1]


def _stats(rows):
    frame = pd.DataFrame([{"dataset": "mnist", "variant": v, "seed": s, "accuracy": a, "gzip_bytes": g,
                           "tflite_bytes": g, "macs": 1000, "nonzero_macs": nz, "params": 1000, "nonzero_params": nz,
                           "accuracy_delta_pp": 0.0}
                          for v, s, a, g, nz in rows])
    return results.results_frame(frame.to_dict("records"), {"matrix": {"datasets": ["mnist"]}})


def test_sensitivity_tables_become_one_csv_and_figure_per_dataset(tmp_path):
    inputs = make_inputs(tmp_path)
    tables = []
    for ds, accuracy in (("mnist", 0.5), ("cifar10", 0.2)):
        table = tmp_path / f"metrics/sensitivity/{ds}/s0/teacher.csv"
        table.parent.mkdir(parents=True)
        table.write_text(f"layer,weights,sparsity,accuracy\nconv0,72,0.0,0.98\nconv0,72,0.9,{accuracy}\n")
        write(tmp_path / f"metrics/sensitivity/{ds}/s0/teacher.json", {"dataset": ds, "base": "teacher"})
        tables.append(str(table.relative_to(tmp_path)))
    params = {**PARAMS, "sensitivity": {"bases": ["teacher"], "sparsities": [0.0, 0.9]}}
    report.build(*inputs, params, out_dir="reports", root=str(tmp_path), sensitivity=tables)
    rows = read_csv(tmp_path / "reports/plots/mnist-sensitivity.csv")
    assert [(r["base"], r["layer"], r["sparsity"], r["accuracy"]) for r in rows] == [
        ("teacher", "conv0", "0.000000", "0.980000"), ("teacher", "conv0", "0.900000", "0.500000")]
    assert read_csv(tmp_path / "reports/plots/cifar10-sensitivity.csv")[1]["accuracy"] == "0.200000"
    assert all((tmp_path / f"reports/figures/{ds}-sensitivity.png").stat().st_size > 0 for ds in DATASETS)
    md = (tmp_path / "reports/report.md").read_text()
    assert "![mnist: per-layer sensitivity](figures/mnist-sensitivity.png)" in md
    assert markdown.SENSITIVITY_NOT_RUN not in md


@pytest.mark.parametrize("sensitivity", [None, {"bases": [], "sparsities": [0.5]}], ids=["no key", "no bases"])
def test_without_sensitivity_bases_the_report_writes_no_sensitivity_figure_or_table_and_says_so(tmp_path,
                                                                                               sensitivity):
    params = PARAMS if sensitivity is None else {**PARAMS, "sensitivity": sensitivity}
    assert RF.written(params)["sensitivity"] == [] == RF.written(params)["sensitivity_table"]
    report.build(*make_inputs(tmp_path), params, out_dir="reports", root=str(tmp_path), sensitivity=[])
    assert not list((tmp_path / "reports/figures").glob("*-sensitivity.png"))
    assert not list((tmp_path / "reports/plots").glob("*-sensitivity.csv"))
    md = (tmp_path / "reports/report.md").read_text()
    assert markdown.SENSITIVITY_NOT_RUN in md and "## Per-layer sensitivity" not in md and "sensitivity.png" not in md


def test_the_first_screen_links_a_datasets_trade_off_figure_only_where_a_pruning_sweep_ran(tmp_path):
    inputs = make_inputs(tmp_path)
    link = "![mnist: accuracy vs compression and theoretical speedup"
    report.build(*inputs, PARAMS, out_dir="reports", root=str(tmp_path))
    assert link not in (tmp_path / "reports/report.md").read_text()
    assert not list((tmp_path / "reports/figures").glob("*-tradeoff.png"))  # no sweep: no figure
    # the plot data stay (dvc.yaml's `plots` names them on every built-in dataset), header only
    assert read_csv(tmp_path / "reports/plots/mnist-tradeoff.csv") == []
    report.build(*inputs, {**PARAMS, "sweeps": {"s": ["local-all"]}}, out_dir="reports", root=str(tmp_path))
    assert link in (tmp_path / "reports/report.md").read_text().split("<details>")[0]
    assert (tmp_path / "reports/figures/mnist-tradeoff.png").read_bytes().startswith(b"\x89PNG")


GLOBAL = {"method": "global", "layers": "all", "initial_sparsity": 0.5, "end_fraction": 0.75, "frequency": 50}
# A sparsity sweep, and a fine-tune budget sweep with its control, on the KD student of CIFAR-10 only.
SWEPT = {"gs0.5": {**GLOBAL, "sparsity": 0.5}, "gs0.9": {**GLOBAL, "sparsity": 0.9},
         "ft": {"method": "finetune"}, "ft-e1": {"method": "finetune", "epochs": 1},
         "g": {**GLOBAL, "sparsity": 0.8}, "g-e1": {**GLOBAL, "sparsity": 0.8, "epochs": 1}}
SWEEP_PARAMS = {**PARAMS, "matrix": {**PARAMS["matrix"], "prune": PRUNES + list(SWEPT),
                                     "only": {k: {"datasets": ["cifar10"], "bases": ["student-kd"], "quant": ["float32"]}
                                              for k in SWEPT}},
                "prune": {**PARAMS["prune"], "schemes": {**PARAMS["prune"]["schemes"], **SWEPT}},
                "sweeps": {"gs": ["gs0.5", "gs0.9"], "ft-e": ["ft-e1"], "g-e": ["g-e1"]}}


def test_trade_off_and_budget_figures_are_written_and_linked_only_where_their_sweeps_run(tmp_path):
    metrics, stages, facts, reference = make_inputs(tmp_path)
    accuracy = {"gs0.5": 0.69, "gs0.9": 0.60, "ft": 0.695, "ft-e1": 0.692, "g": 0.68, "g-e1": 0.66}
    for scheme, acc in accuracy.items():
        for ft, extra in enumerate((0.0, 0.004, -0.004) if scheme == "g" else (0.0,)):  # g: 3 fine-tune seeds
            m = {**metric("cifar10", 0, "student-kd", "local-all", "float32"), "variant": f"student-kd+{scheme}+float32",
                 "prune": scheme, "ft_seed": ft, "accuracy": acc + extra}
            metrics.append(write(tmp_path / f"metrics/cifar10/s0/f{ft}/student-kd+{scheme}+float32.json", m))
    assert {k: RF.written(SWEEP_PARAMS)[k] for k in ("tradeoff", "budget", "budget_plot")} == {
        "tradeoff": ["cifar10"], "budget": ["cifar10"], "budget_plot": ["cifar10"]}
    report.build(metrics, stages, facts, reference, SWEEP_PARAMS, out_dir="reports", root=str(tmp_path))
    figs = tmp_path / "reports/figures"
    assert sorted(p.name for p in figs.glob("*.png")) == ["cifar10-budget.png", "cifar10-pareto.png",
                                                         "cifar10-tradeoff.png", "mnist-pareto.png", "temperature.png"]
    budget = read_csv(tmp_path / "reports/plots/cifar10-budget.csv")
    assert [(r["role"], r["scheme"], r["epochs"], r["n"]) for r in budget] == [
        ("pruned", "g-e1", "1", "1"), ("pruned", "g", "2", "3"), ("control", "ft-e1", "1", "1"),
        ("control", "ft", "2", "1"), ("unpruned", "none", "0", "1")]
    assert float(budget[1]["accuracy_ci95"]) == pytest.approx(4.3027 * 0.004 / 3 ** 0.5, rel=1e-3)
    assert not (tmp_path / "reports/plots/mnist-budget.csv").exists()
    tradeoff = read_csv(tmp_path / "reports/plots/cifar10-tradeoff.csv")
    assert [r["variant"] for r in tradeoff] == ["student-kd+none+float32", "student-kd+gs0.5+float32",
                                                "student-kd+gs0.9+float32"]   # not the budget sweep's
    md = (tmp_path / "reports/report.md").read_text()
    cifar, mnist = md.split("\n## cifar10\n", 1)[1].split("\n## ", 1)[0], md.split("\n## mnist\n", 1)[1].split("\n## ", 1)[0]
    curves, budget_link = cifar.index("](figures/cifar10-tradeoff.png)"), cifar.index("](figures/cifar10-budget.png)")
    assert curves < budget_link and cifar[curves:budget_link].count("\n") == 2   # the next figure, a blank line between
    assert "figures/mnist-tradeoff.png" not in mnist and "budget.png" not in mnist


def test_the_default_params_draw_curves_and_budget_on_cifar10_only_and_no_sensitivity():
    from compressbench import params as P
    cfg = P.load(str(ROOT / "params.yaml"))
    written = RF.written(cfg)
    assert (written["tradeoff"], written["budget"], written["sensitivity"]) == (["cifar10"], ["cifar10"], [])
    assert written["figure"] == written["tradeoff_plot"] == cfg["matrix"]["datasets"]
    [sweep] = RF.budget_sweeps(cfg)
    assert sorted(sweep.pruned) == sorted(sweep.control) == [1, 2, 5]
    assert set(RF.tradeoff_sweeps(cfg)) == {"global-s", "random-s"}


def test_the_report_names_every_scheme_limited_by_matrix_only_and_how_to_run_the_rest(tmp_path):
    metrics, params = default_matrix_inputs(tmp_path)
    sweep = {"bases": ["student-kd"], "quant": ["float32", "ptq-int8"]}  # as params.resolve expands it
    params["matrix"]["only"] = {"ptq-fp16": {"prune": ["none"]}, "global-s0.5": sweep, "global-s0.9": sweep}
    params["sweeps"] = {"global-s": ["global-s0.5", "global-s0.9"]}
    report.build(metrics, [], [], None, params, out_dir="reports", root=str(tmp_path))
    md = (tmp_path / "reports/report.md").read_text()
    section = md.split("### Schemes limited to some cells (`matrix.only`)", 1)[1].split("###", 1)[0]
    rows = {l.split("|")[1].strip(): l.split("|")[2].strip() for l in section.splitlines() if l.startswith("| ")}
    assert rows == {"scheme": "runs only on", "ptq-fp16": "prune none",
                    "global-s": "bases student-kd; quant float32, ptq-int8"}
    assert "deleting an entry from `matrix.only` runs them" in section


def test_without_loss_pairs_the_temperature_figure_is_still_written_and_the_report_links_none(built):
    tmp, _ = built
    assert (tmp / "reports/figures/temperature.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp / "reports/plots/temperature.csv").read_text() == (
        "dataset,series,temperature,variant,accuracy,accuracy_se,n\n")
    assert "figures/temperature.png" not in (tmp / "reports/report.md").read_text()


def test_best_efficiency_counts_only_variants_within_5_pp_of_the_teacher():
    st = pd.DataFrame({"variant": ["teacher+none+float32", "student-kd+global-s0.97+ptq-int8",
                                   "student-kd+global+ptq-int8", "student-kd+none+float32"],
                       "accuracy": [0.7346, 0.2757, 0.7000, 0.7100], "efficiency": [0.1, 8.0, 2.0, 0.5]})
    assert st.loc[results.best_efficiency(st), "variant"] == "student-kd+global+ptq-int8"   # not the 27.57 %
    st.loc[2, "accuracy"] = 0.6840                                                          # 5.06 pp below
    assert st.loc[results.best_efficiency(st), "variant"] == "student-kd+none+float32"
    assert results.best_efficiency(st[st["variant"] != "teacher+none+float32"]) == 1       # no teacher: all count
    assert results.best_efficiency(st.assign(efficiency=float("nan"))) is None


def test_the_smallest_within_n_pp_keeps_a_variant_exactly_n_pp_below_the_teacher_and_no_lower():
    st = pd.DataFrame({"variant": ["teacher+none+float32", "a", "b", "c"],
                       "accuracy": [0.7300, 0.7200, 0.7100, 0.7099], "gzip_bytes": [100.0, 50.0, 20.0, 10.0]})
    assert results.smallest_within(st, 2)["variant"] == "b"        # 2.00 pp below counts, 2.01 does not
    assert results.smallest_within(st, 1)["variant"] == "a"
    assert results.smallest_within(st.iloc[1:], 1)["variant"] == "c"   # no teacher: all count


def test_the_recipe_table_is_chosen_on_validation_and_shows_what_each_recipe_forgets(tmp_path):
    metrics, stages, facts, reference = make_inputs(tmp_path, shuffle=False)
    y = np.repeat(np.arange(10), 10)
    for path in metrics:
        m = json.loads(Path(path).read_text())
        m["val_accuracy"] = m["accuracy"]
        Path(path).write_text(json.dumps(m))
        pred = y.copy()
        if m["variant"] == "student-kd+local-all+ptq-int8":
            pred[y == 3] = 4                      # the smallest recipe loses class 3 entirely
        evaluate.save_labels(matrix.predictions(path), {"test": pred.astype(np.uint8),
                                                        "test_class_accuracy": evaluate.class_accuracy(pred, y)})
    report.build(metrics, stages, facts, reference, PARAMS, out_dir="reports", root=str(tmp_path))
    first = (tmp_path / "reports/report.md").read_text().split("<details>", 1)[0]
    assert "Chosen on validation accuracy;" in first          # PARAMS has no protocols: none seen in training
    recipe = next(l for l in first.splitlines() if "`student-kd+local-all+ptq-int8`" in l and "best efficiency" in l)
    assert "90.00 / class 3 100.00 **loses a class**" in recipe
    variants = pd.read_csv(tmp_path / "reports/variants.csv").set_index(["dataset", "variant"])
    assert variants.loc[("mnist", "student-kd+none+ptq-int8"), "agreement"] == pytest.approx(1.0)
    assert np.isnan(variants.loc[("mnist", "student-kd+none+float32"), "agreement"])  # its own reference
    assert variants.loc[("mnist", "student-kd+local-all+ptq-int8"), "worst_class"] == 3

"""The figures' data and the first screen's pivots, from hand-made variant stats."""
import csv
import math

import pandas as pd
import pytest

from compressbench import claims, figures, markdown, overview
from test_report import _stats


def test_trade_off_curves_run_from_the_unpruned_model_through_each_sweep_in_value_order():
    rows = [("teacher+none+float32", 0, 0.99, 100_000, 1000), ("student-kd+none+float32", 0, 0.98, 10_000, 1000),
            ("student-kd+g0.9+float32", 0, 0.96, 2_000, 100), ("student-kd+g0.5+float32", 0, 0.975, 6_000, 500),
            ("student-kd+g0.5+float32", 1, 0.973, 6_000, 500), ("student-kd+local-all+float32", 0, 0.97, 4_000, 200)]
    st = claims.variant_stats(_stats(rows))
    points = figures.curves(st, {"prune": {"schemes": {"g0.5": {}, "g0.9": {}, "local-all": {}}},
                                 "sweeps": {"g": ["g0.5", "g0.9"]}})
    assert list(points["variant"]) == ["student-kd+none+float32", "student-kd+g0.5+float32", "student-kd+g0.9+float32"]
    assert list(points["speedup_theoretical"]) == [1.0, 2.0, 10.0]     # dense MACs / non-zero MACs
    assert list(points["n"]) == [1, 2, 1] and set(points["line"]) == {"student-kd g float32"}
    csv_rows = list(csv.DictReader(figures.tradeoff_csv(points).splitlines()))
    assert csv_rows[2] == {"line": "student-kd g float32", "variant": "student-kd+g0.9+float32",
                           "compression_ratio": "50.0000", "speedup_theoretical": "10.0000", "accuracy": "0.960000"}


def test_the_temperature_figure_has_both_losses_per_t_and_the_studys_published_sweep(tmp_path):
    rows = [("student-kd+none+float32", 0, 0.68, 1000, 10), ("student-kd+none+float32", 1, 0.70, 1000, 10),
            ("kd-study-t10+none+float32", 0, 0.69, 1000, 10), ("kd-t2+none+float32", 0, 0.71, 1000, 10),
            ("kd-study-t2+none+float32", 0, 0.705, 1000, 10)]
    st = claims.variant_stats(_stats(rows))
    pairs = [{"dataset": "mnist", "ours": "kd-t2", "study": "kd-study-t2", "temperature": 2},
             {"dataset": "mnist", "ours": "student-kd", "study": "kd-study-t10", "temperature": 10.0}]
    reference = {"mnist": {"distillation_notebook": {"temperature_sweep_student_kd": {2: 0.7145, 10: 0.7162}}}}
    points = figures.temperature_points(st, pairs, reference)
    series = {s: list(zip(g["temperature"], g["accuracy"].round(4), g["n"])) for s, g in points.groupby("series")}
    se = points.set_index(["series", "temperature"])["accuracy_se"]
    assert se[(figures.OURS_LOSS, 10.0)] == pytest.approx(0.01)  # std 0.01414 over 2 seeds
    assert se[(figures.OURS_LOSS, 2.0)] == pytest.approx(0.0141421, rel=1e-4)  # one run: the pooled spread
    assert math.isnan(se[(figures.STUDY_RUN, 2.0)])
    assert series == {figures.OURS_LOSS: [(2.0, 0.71, 1), (10.0, 0.69, 2)],          # mean over the two seeds
                      figures.STUDY_LOSS: [(2.0, 0.705, 1), (10.0, 0.69, 1)],
                      figures.STUDY_RUN: [(2.0, 0.7145, 1), (10.0, 0.7162, 1)]}
    csv_rows = list(csv.DictReader(figures.temperature_csv(points).splitlines()))
    assert csv_rows[0] == {"dataset": "mnist", "series": figures.OURS_LOSS, "temperature": "2.0000",
                           "variant": "kd-t2+none+float32", "accuracy": "0.710000", "accuracy_se": "0.014142",
                           "n": "1"}
    figures.temperature(points, tmp_path / "t.png")
    figures.temperature(points.iloc[0:0], tmp_path / "none.png")  # no pairs: a figure that says so
    assert all((tmp_path / f).read_bytes().startswith(b"\x89PNG") for f in ("t.png", "none.png"))


def test_the_loss_table_links_the_temperature_figure():
    st = claims.variant_stats(_stats([("student-kd+none+float32", 0, 0.68, 1000, 10),
                                      ("kd-study-t10+none+float32", 0, 0.69, 1000, 10)]))
    pairs = [{"dataset": "mnist", "ours": "student-kd", "study": "kd-study-t10", "temperature": 10.0}]
    lines = markdown.reproduction({}, st, pairs, "the study", "figures/temperature.png")
    table_at = next(i for i, line in enumerate(lines) if "| mnist     | 10" in line)
    link_at = next(i for i, line in enumerate(lines) if "](figures/temperature.png)" in line)
    assert table_at < link_at


def test_the_best_8_bit_export_of_a_pruned_cell_is_shown_however_well_its_float32_file_compresses():
    # a pruned float32 export compresses well (its zeros): its int8 export is 0.4 of it after gzip
    st = claims.variant_stats(_stats([
        ("teacher+none+float32", 0, 0.99, 100_000, 1000), ("teacher+global+float32", 0, 0.985, 20_000, 200),
        ("teacher+global+ptq-int8", 0, 0.984, 8_000, 200), ("teacher+global+qat", 0, 0.986, 8_100, 200),
        ("teacher+global+ptq-fp16", 0, 0.99, 12_000, 200)]))
    lines = overview.pivots(st, {"base": ["teacher"], "prune": ["none", "global"]}, eight_bit={"ptq-int8", "qat"})
    best = lines[lines.index(next(line for line in lines if line.startswith("Best 8-bit"))) + 2]
    row = next(r for r in best.splitlines() if r.startswith("| teacher"))
    assert [c.strip() for c in row.strip("|").split("|")] == ["teacher", "—", "qat 98.60"]  # fp16 is not 8-bit


def test_eight_bit_schemes_are_those_with_int8_weights_and_their_integer_only_exports():
    params = {"quantize": {"schemes": {"float32": {"method": "float32"}, "ptq-dynamic": {"method": "dynamic"},
                                       "ptq-int8": {"method": "int8"},
                                       "ptq-fp16": {"method": "float16"}, "qat": {"method": "qat"},
                                       "float32-ft": {"method": "float32-ft"}}}}
    st = pd.DataFrame({"quant": ["float32", "ptq-dynamic", "ptq-int8", "ptq-fp16", "qat", "qat-int8io", "float32-ft"]})
    assert overview.eight_bit(params, st) == {"ptq-dynamic", "ptq-int8", "qat", "qat-int8io"}

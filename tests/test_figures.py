"""The figures' data and the first screen's pivots, from hand-made variant stats."""
import csv
import math

import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.container import ErrorbarContainer

from compressbench import claims, figures, markdown, overview, results, sweep_figures
from compressbench import report_files as RF
from test_report import _stats


GLOBAL = {"method": "global", "layers": "all", "initial_sparsity": 0.5, "end_fraction": 0.75, "frequency": 50}


def test_trade_off_curves_run_from_the_unpruned_model_through_each_sparsity_sweep_in_value_order():
    rows = [("teacher+none+float32", 0, 0.99, 100_000, 1000), ("student-kd+none+float32", 0, 0.98, 10_000, 1000),
            ("student-kd+g0.9+float32", 0, 0.96, 2_000, 100), ("student-kd+g0.5+float32", 0, 0.975, 6_000, 500),
            ("student-kd+g0.5+float32", 1, 0.973, 6_000, 500), ("student-kd+local-all+float32", 0, 0.97, 4_000, 200),
            ("student-kd+g-e1+float32", 0, 0.95, 4_000, 200), ("student-kd+ft-e1+float32", 0, 0.98, 10_000, 1000)]
    st = claims.variant_stats(_stats(rows))
    params = {"prune": {"fine_tune": {"epochs": 2},
                        "schemes": {"g0.5": {**GLOBAL, "sparsity": 0.5}, "g0.9": {**GLOBAL, "sparsity": 0.9},
                                    "local-all": {**GLOBAL, "method": "magnitude", "sparsity": 0.8},
                                    "g-e1": {**GLOBAL, "sparsity": 0.8, "epochs": 1},
                                    "g-e5": {**GLOBAL, "sparsity": 0.8, "epochs": 5},
                                    "ft-e1": {"method": "finetune", "epochs": 1}}},
              # a sweep of fine-tune epochs and one of the control are no accuracy-vs-compression curve
              "sweeps": {"g": ["g0.5", "g0.9"], "g-e": ["g-e1", "g-e5"], "ft-e": ["ft-e1"]}}
    points = sweep_figures.curves(st, params)
    assert list(points["variant"]) == ["student-kd+none+float32", "student-kd+g0.5+float32", "student-kd+g0.9+float32"]
    assert list(points["speedup_theoretical"]) == [1.0, 2.0, 10.0]     # dense MACs / non-zero MACs
    assert list(points["weight_compression"]) == [1.0, 2.0, 10.0]      # params / non-zero params
    assert list(points["n"]) == [1, 2, 1] and set(points["line"]) == {"student-kd g float32"}
    # the two runs of g0.5 (97.5, 97.3 %): mean ± t(1, 0.975) · std / sqrt(2) = ± 12.706 · 0.1414 / 1.414 pp
    assert 100 * points["accuracy_ci"].iloc[1] == pytest.approx(1.2706, rel=1e-3)
    assert points["accuracy_ci"].isna().tolist() == [True, False, True]
    csv_rows = list(csv.DictReader(sweep_figures.tradeoff_csv(points).splitlines()))
    assert csv_rows[2] == {"line": "student-kd g float32", "variant": "student-kd+g0.9+float32",
                           "compression_ratio": "50.0000", "weight_compression": "10.0000",
                           "speedup_theoretical": "10.0000", "accuracy": "0.960000", "accuracy_ci95": "", "n": "1"}


def _runs(rows, dataset="cifar10"):
    """Variant stats of (variant, seed, ft_seed, accuracy) runs, with sizes from the pruning in the name."""
    records = [{"dataset": dataset, "variant": v, "seed": s, "ft_seed": f, "accuracy": a, "gzip_bytes": 1000,
                "tflite_bytes": 1000, "macs": 1000, "nonzero_macs": 1000, "params": 1000, "nonzero_params": 1000,
                "accuracy_delta_pp": 0.0} for v, s, f, a in rows]
    return claims.variant_stats(results.results_frame(records, {"matrix": {"datasets": [dataset]}}))


# Scheme names that say nothing: the budget sweep is found by method, settings and epochs.
BUDGET_PARAMS = {"prune": {"fine_tune": {"epochs": 2}, "schemes": {
    "ctl": {"method": "finetune"}, "p": {**GLOBAL, "sparsity": 0.8}, "ctl-short": {"method": "finetune", "epochs": 1},
    "p-long": {**GLOBAL, "sparsity": 0.8, "epochs": 5}, "p-short": {**GLOBAL, "sparsity": 0.8, "epochs": 1},
    "ctl-long": {"method": "finetune", "epochs": 5},
    "denser": {**GLOBAL, "sparsity": 0.5, "epochs": 5},                  # another sparsity: its own (one-budget) group
    "local": {**GLOBAL, "method": "magnitude", "sparsity": 0.8, "epochs": 1},   # another method
    "rand": {**GLOBAL, "method": "random", "sparsity": 0.8}}}}


def test_the_budget_sweep_is_chosen_by_method_settings_and_epochs_with_its_control_by_role():
    sweeps = RF.budget_sweeps(BUDGET_PARAMS)
    assert [(s.method, s.pruned, s.control) for s in sweeps] == [
        ("global", {1: "p-short", 2: "p", 5: "p-long"}, {1: "ctl-short", 2: "ctl", 5: "ctl-long"})]
    assert sweeps[0].label == "global (sparsity 0.8)"
    runs = [("student-kd+none+float32", 0, 0, 0.74), ("student-kd+ctl+float32", 0, 0, 0.75),
            ("student-kd+ctl-short+float32", 0, 0, 0.745), ("student-kd+ctl-long+float32", 0, 0, 0.752),
            ("student-kd+p-short+float32", 0, 0, 0.69), ("student-kd+p+float32", 0, 0, 0.71),
            ("student-kd+p-long+float32", 0, 0, 0.72), ("student-kd+denser+float32", 0, 0, 0.73),
            ("student-kd+local+float32", 0, 0, 0.70), ("student-kd+rand+float32", 0, 0, 0.60),
            # one budget of the sweep on another base: no line there
            ("teacher+p+float32", 0, 0, 0.79), ("teacher+ctl+float32", 0, 0, 0.80)]
    points = sweep_figures.budget_points(_runs(runs), BUDGET_PARAMS)
    got = [(r.role, r.epochs, r.scheme, round(r.accuracy, 3)) for r in points.itertuples()]
    assert got == [("pruned", 1, "p-short", 0.69), ("pruned", 2, "p", 0.71), ("pruned", 5, "p-long", 0.72),
                   ("control", 1, "ctl-short", 0.745), ("control", 2, "ctl", 0.75), ("control", 5, "ctl-long", 0.752),
                   ("unpruned", 0, "none", 0.74)]
    assert set(points["base"]) == {"student-kd"} and points["accuracy_ci"].isna().all()   # one run each
    rows = list(csv.DictReader(sweep_figures.budget_csv(points).splitlines()))
    assert rows[1] == {"line": "student-kd global (sparsity 0.8) float32", "role": "pruned", "scheme": "p",
                       "variant": "student-kd+p+float32", "epochs": "2", "accuracy": "0.710000",
                       "accuracy_ci95": "", "n": "1"}


def _bars(fig) -> list[tuple[float, float]]:
    """(x, half-width) of every error bar drawn on the figure's first axes."""
    out = []
    for container in fig.axes[0].containers:
        if isinstance(container, ErrorbarContainer):
            for seg in container.lines[2][0].get_segments():
                out.append((float(seg[0][0]), float(abs(seg[1][1] - seg[0][1]) / 2)))
    return sorted(out)


def test_several_fine_tune_seeds_give_a_95_ci_bar_on_the_budget_figure_and_one_seed_none(tmp_path):
    one = [("student-kd+none+float32", 0, 0, 0.74), ("student-kd+p-short+float32", 0, 0, 0.69),
           ("student-kd+p+float32", 0, 0, 0.71), ("student-kd+ctl+float32", 0, 0, 0.75),
           ("student-kd+ctl-short+float32", 0, 0, 0.745)]
    assert _bars(sweep_figures.budget(sweep_figures.budget_points(_runs(one), BUDGET_PARAMS), "cifar10", tmp_path / "a.png")) == []
    seeds = one + [("student-kd+p+float32", 0, 1, 0.72), ("student-kd+p+float32", 0, 2, 0.70)]
    points = sweep_figures.budget_points(_runs(seeds), BUDGET_PARAMS)
    fig = sweep_figures.budget(points, "cifar10", tmp_path / "b.png")
    # 71, 72, 70 %: std 1 pp, t(2, 0.975) = 4.303 -> ± 2.48 pp, at 2 epochs only
    assert _bars(fig) == [(2.0, pytest.approx(4.3027 / math.sqrt(3), rel=1e-3))]
    assert (tmp_path / "b.png").read_bytes().startswith(b"\x89PNG")


def test_the_trade_off_curve_has_a_band_over_neighbouring_points_with_several_seeds_and_log2_ticks(tmp_path):
    def point(s, acc, nz, ft=0):
        return (f"student-kd+g{s}+float32", 0, ft, acc, nz)
    rows = [("student-kd+none+float32", 0, 0, 0.74, 1000)]
    for s, acc, nz, fts in ((0.5, 0.73, 500, 1), (0.875, 0.70, 125, 3), (0.9375, 0.66, 62, 3),
                            (0.96875, 0.58, 31, 1)):
        rows += [point(s, acc + 0.01 * f, nz, f) for f in range(fts)]
    records = [{"dataset": "cifar10", "variant": v, "seed": s, "ft_seed": f, "accuracy": a, "gzip_bytes": nz,
                "tflite_bytes": nz, "macs": 1000, "nonzero_macs": nz, "params": 1000, "nonzero_params": nz,
                "accuracy_delta_pp": 0.0} for v, s, f, a, nz in rows]
    st = claims.variant_stats(results.results_frame(records, {"matrix": {"datasets": ["cifar10"]}}))
    sweep = [f"g{s}" for s in (0.5, 0.875, 0.9375, 0.96875)]
    params = {"prune": {"schemes": {n: {**GLOBAL, "sparsity": float(n[1:])} for n in sweep}}, "sweeps": {"g": sweep}}
    fig = sweep_figures.tradeoff(sweep_figures.curves(st, params), st, "cifar10", tmp_path / "t.png")
    ax = fig.axes[0]
    assert [x for x, _ in _bars(fig)] == pytest.approx([1000 / 125, 1000 / 62])
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 1  # 87.5 and 93.75 % are neighbours with 3 seeds; 50 and 96.875 % have one
    xs = bands[0].get_paths()[0].vertices[:, 0]
    assert xs.min() == pytest.approx(8.0) and xs.max() == pytest.approx(1000 / 62)
    assert ax.get_xscale() == "log" and [t.get_text() for t in ax.get_xticklabels()] == [
        "1×\n0 %", "2×\n50 %", "4×\n75 %", "8×\n87.5 %", "16×\n93.75 %", "32×\n96.875 %"]


def test_the_pareto_figure_cuts_a_30_percent_variant_and_says_so_with_one_marker_per_pruning_family(tmp_path):
    params = {"matrix": {"bases": ["teacher", "student-kd"]}, "derived": {"kd-st": {"like": "student-kd"}},
              "prune": {"schemes": {"finetune": {"method": "finetune"}, "a": {**GLOBAL, "sparsity": 0.5},
                                    "b": {**GLOBAL, "method": "magnitude", "sparsity": 0.8},
                                    "c": {**GLOBAL, "method": "magnitude", "layers": "conv", "sparsity": 0.8},
                                    "r": {**GLOBAL, "method": "random", "sparsity": 0.9},
                                    "nm": {"method": "m_by_n", "m": 2, "n": 4},
                                    "f": {"method": "filters", "fraction": 0.5}}}}
    runs = [("teacher+none+float32", 0.90, 100_000), ("student-kd+none+float32", 0.88, 10_000),
            ("student-kd+finetune+float32", 0.885, 10_000), ("student-kd+a+float32", 0.87, 6_000),
            ("student-kd+b+float32", 0.86, 3_000), ("student-kd+c+float32", 0.85, 4_000),
            ("student-kd+nm+float32", 0.84, 7_000), ("student-kd+f+float32", 0.83, 5_000),
            ("kd-st+none+float32", 0.86, 10_000), ("student-kd+r+float32", 0.30, 1_500)]
    records = [{"dataset": "cifar10", "variant": v, "seed": 0, "accuracy": a, "gzip_bytes": g, "tflite_bytes": g}
               for v, a, g in runs]
    st = claims.variant_stats(results.results_frame(records, {"matrix": {"datasets": ["cifar10"]}}))
    window = figures.accuracy_window(st)
    assert window.floor == pytest.approx(90 - 10 - 2) and window.hidden == 1 and window.lowest == pytest.approx(30)
    fig = figures.figure(st, "cifar10", params, tmp_path / "p.png")
    ax = fig.axes[0]
    assert 30 < ax.get_ylim()[0] < 78
    drawn = [y for c in ax.collections for _, y in c.get_offsets()]
    assert len(drawn) == len(runs) - 1 and min(drawn) == pytest.approx(83)   # the 30 % point is not drawn
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "not shown: 1 variant\nbelow 78.0 % (lowest 30.0 %)" in labels
    families = [label for label in labels if label in {text for _, text in figures.FAMILIES.values()}]
    # none and finetune, local and global magnitude, N:M and filters share a marker each
    assert families == [figures.FAMILIES[f][1] for f in (figures.UNPRUNED, figures.MAGNITUDE, figures.STRUCTURED)]
    bases = [t.get_text() for t in ax.artists[0].get_texts()]   # the first legend, kept by add_artist
    assert bases[:2] == ["teacher", "student-kd"] and len(bases) == 3   # kd-st: hollow, in student-kd's colour


def test_an_accuracy_window_without_low_points_hides_nothing():
    st = pd.DataFrame({"variant": ["teacher+none+float32", "x"], "accuracy": [0.90, 0.85]})
    window = figures.accuracy_window(st)
    assert window.hidden == 0 and window.note == "" and window.floor == pytest.approx(84.0)


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

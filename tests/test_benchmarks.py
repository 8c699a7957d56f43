"""benchmarks/measure.py and its measurements (benchmarks/harness/): on bench files, logs
and records the tests write, and dry runs of a tiny copied repo marked up to date with
`snakemake --touch` (nothing is trained)."""
from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

import pytest

from compressbench import matrix as M, progress, rules as R
from fixtures import new_repo
from helpers import ROOT, load_benchmark, snakemake

measure = load_benchmark("measure")  # puts benchmarks/ on sys.path
sys.path.insert(0, str(ROOT / "benchmarks"))
from harness import (commands, compare, flops, fullrun, incremental, jobs, projected, quicklook, render,  # noqa: E402
                     segments, snakelog, steptimes)

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
CPU = "Test CPU 9000 [avx2 fma] oneDNN=1"
WC = {"dataset": "mnist", "seed": "0", "ft": "0", "base": "teacher", "prune": "global", "quant": "ptq-int8",
      "cluster": "cluster-16"}


def write_bench(root: Path, rel: str, seconds: float, rss="100.00") -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{seconds}\t0:00:00\t{rss}\t1.0\t1.0\t1.0\t0.0\t0.0\t0.0\t0.0\n")


def write_job(root: Path, rule: str, wc: dict, seconds: float, epochs=(), rss="100.00") -> str:
    """A job's bench file, its log with `epochs` (seconds each) and, if it has one, its record."""
    spec, wc = R.RULES[rule], {k: wc[k] for k in jobs.BENCH[rule].groupindex}
    write_bench(root, spec.benchmark.format(**wc), seconds, rss)
    log = root / spec.log.format(**wc)
    log.write_text(f"12:00:00 INFO {rule} start\n" + "".join(
        f"12:00:01 INFO {progress.format_epoch('x', i + 1, len(epochs), {'loss': 0.5}, s)}\n"
        for i, s in enumerate(epochs)))
    record = spec.outputs.get("record") or spec.outputs.get("metrics")
    if record:
        path = root / record.format(**wc)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"rule": rule, "wildcards": wc, "cpu": CPU, "threads": 1}))
    return spec.benchmark.format(**wc)


# ---- jobs: bench files -> rules, epochs, records -------------------------------------

@pytest.mark.parametrize("rule", list(R.RULES))
def test_each_rules_bench_pattern_matches_back_to_its_rule_and_wildcards(rule):
    wc = {k: WC[k] for k in jobs.BENCH[rule].groupindex}
    assert jobs.match(R.RULES[rule].benchmark.format(**wc)) == (rule, wc)


def test_a_clustered_cells_bench_file_matches_its_export_rule_with_the_cluster_its_own_wildcard():
    path = R.RULES["evaluate"].benchmark.format(**{**WC, "prune": "global", "cluster": "cluster-16", "quant": "qat"})
    assert jobs.match(path) == ("evaluate", {**{k: WC[k] for k in ("dataset", "seed", "ft", "base")},
                                             "prune": "global", "cluster": "cluster-16", "quant": "qat"})


def test_bench_files_of_the_old_layout_match_no_rule():
    for old in ["logs/quantize/mnist/s0/teacher+none.convert.bench.tsv", "logs/download/mnist.prepare.bench.tsv",
                "logs/train_baseline/mnist/s0/teacher.bench.tsv", "logs/report/report.bench.tsv"]:
        assert jobs.match(old) is None, old


def test_jobs_carry_seconds_epochs_and_the_cpu_of_their_record_and_sum_per_rule(tmp_path):
    write_job(tmp_path, "train_teacher", WC, 10.0, epochs=(3.0, 4.5), rss="150.00")
    write_job(tmp_path, "train_teacher", {**WC, "dataset": "cifar10"}, 4.0)
    write_job(tmp_path, "prune", WC, 5.0, epochs=(2.0,))
    write_job(tmp_path, "convert", WC, 7.0)
    write_job(tmp_path, "report", {}, 9.0, rss="NA")
    write_bench(tmp_path, "logs/quantize/mnist/s0/teacher+none.convert.bench.tsv", 99.0)  # old layout
    run, stale = jobs.collect(tmp_path)
    assert stale == ["logs/quantize/mnist/s0/teacher+none.convert.bench.tsv"]
    rows = {r["rule"]: r for r in jobs.per_rule(run)}
    assert list(rows) == ["train_teacher", "prune", "convert", "report", "all"]  # rule-table order
    assert rows["train_teacher"] == {
        "rule": "train_teacher", "phase": "train_baseline", "jobs": 2, "total": 14.0, "epoch_s": 7.5,
        "other_s": 6.5, "mean": 7.0, "max": 10.0, "peak_max_rss": 150.0}
    assert rows["report"]["peak_max_rss"] is None  # NA is not a number
    assert rows["all"]["total"] == 35.0 and rows["all"]["epoch_s"] == 9.5
    convert = next(j for j in run if j.rule == "convert")
    assert (convert.wildcards, convert.cpu, convert.threads) == (WC, CPU, 1)  # {cluster}: its own path segment
    assert jobs.run_machine(run)[0] == CPU and jobs.machine(CPU) == "Test CPU 9000 [avx2 fma]"
    # A file of a current rule that is not a job the workflow has now is stale too.
    planned = {j.bench for j in run if j.rule != "convert"}
    assert len(jobs.collect(tmp_path, planned)[1]) == 2


def test_rerun_seconds_are_measured_or_taken_from_the_same_job_of_another_seed(tmp_path):
    measured = write_job(tmp_path, "convert", WC, 7.0)
    write_job(tmp_path, "convert", {**WC, "seed": "1"}, 9.0)
    run, _ = jobs.collect(tmp_path)
    new_seed = R.RULES["convert"].benchmark.format(**{**WC, "seed": "2"})
    unknown = R.RULES["convert"].benchmark.format(**{**WC, "base": "ta"})
    assert jobs.seconds_of([measured, new_seed, unknown], run) == (7.0 + 8.0, 1, 1)


# ---- the Snakemake log ----------------------------------------------------------------

def test_core_use_replays_job_starts_and_finishes():
    log = ("[Thu Jan  1 10:00:00 2026]\nlocalrule train_teacher:\n    jobid: 1\n"
           "[Thu Jan  1 10:00:00 2026]\nlocalrule train_student_scratch:\n    jobid: 2\n"
           "[Thu Jan  1 10:00:10 2026]\nFinished jobid: 2 (Rule: train_student_scratch)\n"
           "[Thu Jan  1 10:00:40 2026]\nFinished jobid: 1 (Rule: train_teacher)\n"
           "[Thu Jan  1 10:00:40 2026]\nlocalrule all:\n"
           "[Thu Jan  1 10:00:40 2026]\nFinished jobid: 0 (Rule: all)\n")
    use = snakelog.core_use(log, cores=2)
    # 2 jobs for 10 s, then 1 for 30 s: 50 busy core-seconds of 80.
    assert use["wall"] == 40 and use["idle_core_s"] == 30 and use["mean_running"] == pytest.approx(1.25)
    assert use["peak_running"] == 2 and measure.core_use is snakelog.core_use
    assert snakelog.core_use("no jobs here", cores=2) is None


def test_wall_time_comes_from_the_newest_completed_log(tmp_path):
    log_dir = tmp_path / ".snakemake/log"
    log_dir.mkdir(parents=True)
    (log_dir / "2026-01-01T100000.000000.snakemake.log").write_text(
        "[Thu Jan  1 10:00:00 2026]\nrule a:\n[Thu Jan  1 10:30:00 2026]\n3 of 3 steps (100%) done\n")
    (log_dir / "2026-01-02T100000.000000.snakemake.log").write_text(
        "[Fri Jan  2 10:00:00 2026]\n1 of 3 steps (33%) done\n")  # newer, unfinished
    (log_dir / "2026-01-03T100000.000000.snakemake.log").write_text(  # newer, ran no job
        "  Command: snakemake --cores 2 --touch --forceall\n[Sat Jan  3 10:00:00 2026]\n"
        "[Sat Jan  3 10:00:09 2026]\n3 of 3 steps (100%) done\n")
    path, info = snakelog.completed_log(tmp_path)
    assert path.name.startswith("2026-01-01") and info["seconds"] == 1800 and info["steps"] == 3


# ---- commands -------------------------------------------------------------------------

def test_a_dry_runs_listing_gives_each_planned_jobs_benchmark_file():
    out = ("rule convert:\n    input: a\n    log: logs/x.log\n    jobid: 3\n"
           "    benchmark: logs/quantize/convert/mnist/s0/teacher+none+float32.bench.tsv\n"
           "    wildcards: dataset=mnist\nlocalrule all:\n    jobid: 0\n")
    assert commands.planned_benches(out) == ["logs/quantize/convert/mnist/s0/teacher+none+float32.bench.tsv"]


def test_noop_times_each_command_against_its_target(tmp_path, monkeypatch):
    py = Path(sys.executable).name
    monkeypatch.setattr(commands, "NOOP", [("idle", [py, "-c", "print('Nothing to be done')"], "Nothing", 60.0),
                                           ("busy", [py, "-c", "print('work')"], "Nothing", 60.0),
                                           ("slow", [py, "-c", "import time; time.sleep(0.3)"], "x", 0.1)])
    rows = {r["command"]: r for r in commands.noop(tmp_path)}
    assert rows["idle"]["outcome"] == "exit 0; nothing to do" and rows["idle"]["ok"]
    assert rows["busy"]["outcome"] == "exit 0; reports work to do"
    assert rows["slow"]["seconds"] >= 0.3 and not rows["slow"]["ok"]
    targets = commands.noop_section(list(rows.values())).targets
    assert [t.ok for t in targets] == [True, True, False]


def test_a_jobs_start_up_kind_follows_the_library_modules_its_rule_runs():
    kinds = {rule: commands.start_kind(rule) for rule in R.RULES}
    assert kinds == {"download": "python", "prepare": "python", "train_teacher": "tensorflow",
                     "train_student_scratch": "tensorflow", "distill_ta": "tensorflow",
                     "distill_student": "tensorflow", "prune": "tensorflow", "cluster": "tensorflow",
                     "convert": "tensorflow", "qat": "tensorflow", "float32_ft": "tensorflow",
                     "latency": "litert", "evaluate": "litert", "sensitivity": "tensorflow", "report": "python"}


# ---- incremental: which changes -------------------------------------------------------

def test_one_change_per_scheme_family_from_the_repos_params():
    from compressbench import params
    cfg = params.load_yaml(params.ROOT / "params.yaml")  # as written: the sweeps unexpanded
    found, skipped = incremental.changes(cfg)
    assert [(c.family, c.key, c.old, c.new) for c in found] == [
        ("KD", "distill.alpha", 0.1, 0.2),
        ("prune: magnitude", "prune.schemes.local-all.sparsity", 0.8, 0.7),
        ("prune: global", "prune.schemes.global.sparsity", 0.8, 0.7),
        ("prune: m_by_n", "prune.schemes.nm-2-4.n", 4, 8),
        ("prune: filters", "prune.schemes.filters.fraction", 0.5, 0.4),
        ("quantize: int8", "quantize.schemes.ptq-int8.calibration_samples", 500, 600),
        ("quantize: qat", "quantize.schemes.qat.epochs", 1, 2),
        ("quantize: aeq-int8-weights", "quantize.schemes.aeq-int8w.calibration_samples", 100, 200),
        ("quantize: aeq-int4-weights", "quantize.schemes.aeq-int4w.calibration_samples", 100, 200),
        ("quantize: aeq-static-int8", "quantize.schemes.aeq-int8.calibration_samples", 500, 600),
        ("quantize: aeq-mixed", "quantize.schemes.aeq-mixed.calibration_samples", 100, 200),
        ("quantize: aeq-auto", "quantize.schemes.aeq-auto.calibration_samples", 100, 200),
        ("a training seed", "seeds", [0], [0, 1])]
    assert skipped == ["prune method `finetune`: no params", "prune method `random`: swept only (random-s)"] + [
        f"quantize method `{m}`: no params" for m in ("float32", "dynamic", "float16")] + [
        "quantize method `float32-ft`: changes with `qat`, its scheme", "quantize method `qat-scratch`: no params"]
    # The cells of the default run that use each scheme, counted from the plan itself: a pruning
    # scheme's every export; a quantization scheme's exports (QAT with its integer-only export and
    # its float32-ft control, which changes with it); none for KD and seeds (every distilled cell).
    cells = M.cells(params.resolve(cfg))
    uses = {c.key: {c.key.split(".")[2], *c.controls} for c in found if c.key.startswith(("prune.", "quantize."))}
    expected = [None if c.key not in uses else
                sum(1 for x in cells if {x.prune, x.quant, x.quant.removesuffix(M.INT8_IO)} & uses[c.key])
                for c in found]
    assert [incremental.scheme_cells(cfg, c) for c in found] == expected
    assert expected[1:3] == [30, 51] and all(n for n in expected[1:-1])  # local-all, global; every scheme runs
    assert found[6].controls == ("float32-ft",)


def test_a_changed_copy_leaves_the_params_untouched(cfg):
    new = incremental.changed(cfg, "distill.alpha", 0.2)
    assert new["distill"] == {**cfg["distill"], "alpha": 0.2} and cfg["distill"]["alpha"] == 0.1
    assert incremental.changed(cfg, "seeds", [0, 1])["seeds"] == [0, 1] and cfg["seeds"] == [0]


# ---- step times, comparisons, rendering -----------------------------------------------

def _step_row(precision, onednn, ms, cpu="Test CPU 9000 [avx2 fma]", kind="train"):
    return {"dataset": "mnist", "arch": "teacher", "kind": kind, "precision": precision, "onednn": onednn,
            "ms_per_step": str(ms), "steps": "3", "repeats": "1", "batch_size": "128",
            "cpu": f"{cpu} oneDNN={onednn}", "date": "2026-12-01"}


def test_step_times_of_the_runs_machine_per_setting_with_speedups(tmp_path):
    step_time = load_benchmark("step_time")
    path = tmp_path / "step-times.csv"
    for row in [_step_row("float32", "0", 90.0), _step_row("float32", "1", 60.0),
                _step_row("float32", "1", 30.0), _step_row("mixed_bfloat16", "1", 20.0),  # newest wins
                _step_row("float32", "1", 5.0, cpu="Other CPU [avx512f]"), _step_row("float32", "1", 70.0, kind="qat")]:
        step_time.append_csv(path, row)
    rows = steptimes.table_rows(steptimes.read(path), CPU)
    assert rows == [{"dataset": "mnist", "arch": "teacher", "kind": "train", "f32_off": 90.0, "f32_on": 30.0,
                     "bf16": 20.0, "onednn_x": 3.0, "bf16_x": 1.5},
                    {"dataset": "mnist", "arch": "teacher", "kind": "qat", "f32_on": 70.0, "onednn_x": None,
                     "bf16_x": None}]
    other = steptimes.section(path, "step-times.csv", "Unseen CPU [avx2] oneDNN=1", "records")
    assert not other.tables and "Other CPU [avx512f]" in other.notes[0]


def test_step_time_measures_in_a_child_when_onednn_must_be_set_before_tensorflow_loads(monkeypatch):
    step_time = load_benchmark("step_time")
    args = step_time.parse(["--dataset", "mnist", "--arch", "student", "--precision", "float32", "--onednn", "0"])
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")
    assert step_time.in_child(args)
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    assert step_time.in_child(args) == ("tensorflow" in sys.modules)
    assert not step_time.in_child(step_time.parse(["--dataset", "mnist", "--arch", "ta", "--precision", "float32"]))


def _row(ds, base, prune, quant, latency, seed=0):
    return {"dataset": ds, "base": base, "prune": prune, "quant": quant, "seed": str(seed), "latency_ms": str(latency)}


def test_latency_ratios_are_relative_to_the_datasets_float32_teacher():
    rows = [_row("mnist", "teacher", "none", "float32", 2.0), _row("mnist", "teacher", "none", "float32", 4.0, 1),
            _row("mnist", "teacher", "global", "float32", 3.0), _row("mnist", "teacher", "none", "ptq-int8", 1.5),
            _row("mnist", "student-kd", "none", "ptq-int8", 0.3), _row("mnist", "student-kd", "none", "float32", 0.6),
            _row("cifar10", "teacher", "none", "float32", 10.0), _row("cifar10", "teacher", "none", "ptq-int8", 5.0)]
    got = {(r["dataset"], r["by"], r["group"]): r["ratio"] for r in compare.latency_ratios(rows)}
    assert got[("mnist", "quant", "float32")] == pytest.approx(2.5 / 3.0)    # median(2, 4, 3, 0.6) / 3
    assert got[("mnist", "quant", "ptq-int8")] == pytest.approx(0.9 / 3.0)
    assert got[("mnist", "base", "student-kd")] == pytest.approx(0.45 / 3.0)
    assert got[("cifar10", "base", "teacher")] == pytest.approx(7.5 / 10.0)


def test_accuracy_deltas_pair_cells_by_dataset_seeds_and_variant_in_points():
    row = lambda ds, v, acc, ft=None: {"dataset": ds, "seed": "0", "variant": v, "base": v.split("+")[0],  # noqa: E731
                                       "prune": v.split("+")[1], "quant": v.split("+")[2], "accuracy": str(acc),
                                       **({"ft_seed": ft} if ft is not None else {})}
    before = [row("mnist", "teacher+none+float32", 0.9894), row("mnist", "ta+none+qat", 0.98),
              row("cifar10", "teacher+none+float32", 0.7335),
              row("cifar10", "ta+local-conv+float32", 0.70, "0"), row("cifar10", "ta+local-conv+float32", 0.72, "1")]
    after = [row("cifar10", "teacher+none+float32", 0.7245, "0"), row("mnist", "teacher+none+float32", 0.9899),
             row("mnist", "student-kd+none+float32", 0.97),  # no partner: left out
             row("cifar10", "ta+local-conv+float32", 0.70, "0"), row("cifar10", "ta+local-conv+float32", 0.72, "1")]
    deltas = compare.accuracy_deltas(before, after)
    assert [(d["dataset"], d["ft_seed"], round(d["delta_pp"], 6)) for d in deltas] == [
        ("cifar10", "0", -0.9), ("mnist", "0", 0.05), ("cifar10", "0", 0.0), ("cifar10", "1", 0.0)]
    s = compare.delta_summary(deltas)
    assert (s["cells"], s["within_half"], s["within_one"], round(s["mean"], 6)) == (4, 3, 4, -0.2125)


def test_the_deployed_bases_are_named_base_none_float32_and_exclude_clustered_cells():
    d = lambda v: {"variant": v, "base": v.split("+")[0], "prune": v.split("+")[1], "quant": v.split("+")[-1]}  # noqa: E731
    deltas = [d("student-kd+none+float32"), d("student-kd+none+cluster-16+float32"), d("teacher+none+ptq-int8"),
              d("teacher+global+float32"), d("teacher+none+float32")]
    assert [x["variant"] for x in compare.deployed_bases(deltas)] == ["student-kd+none+float32", "teacher+none+float32"]


def test_stage_totals_read_old_per_kind_and_new_per_rule_files_alike():
    rows = [{"section": "full_run", "name": "prune.total", "value": "5306.1"},
            {"section": "full_run", "name": "train_teacher.total", "value": "10"},
            {"section": "full_run", "name": "train_student_scratch.total", "value": "5"},
            {"section": "full_run", "name": "prune.mean", "value": "88.4"},
            {"section": "startup", "name": "tensorflow.total", "value": "1131.3"}]
    assert compare.stage_totals(rows) == {"prune": 5306.1, "train": 15.0}


def test_the_renderer_writes_every_shown_number_once_to_the_csv_and_gathers_the_targets(tmp_path):
    cols = [render.Col("rule", "rule"), render.Col("jobs", "jobs", "jobs"), render.Col("total", "total s", "s"),
            render.Col("ok", "", "bool")]
    sec = render.Section("full_run", "Full run", "the bench files",
                         tables=[render.Table(cols, [{"rule": "prune", "jobs": 2, "total": 3.25, "ok": True}],
                                              ("rule",), "bench")],
                         facts=[render.Fact("wall", 61.0, "s", "Wall: **1.0 min**.", "log")],
                         targets=[render.Target("Wall", "≤ 1 min", "1.0 min", False)])
    render.write(tmp_path, "Benchmarks", "Intro.", [sec, render.Section("noop", "No-op", notes=["Skipped."])])
    md = (tmp_path / "benchmarks.md").read_text()
    assert "## 1. Full run" in md and "## 2. No-op" in md and "## 3. Targets" in md and "Skipped." in md
    assert "| prune  | 2      | 3.2       |" in md and "- Wall: **1.0 min**." in md and "**not met**" in md
    rows = list(csv.reader((tmp_path / "benchmarks.csv").open()))
    assert rows == [render.CSV_HEADER, ["full_run", "prune.jobs", "2", "jobs", "bench"],
                    ["full_run", "prune.total", "3.2", "s", "bench"], ["full_run", "prune.ok", "1", "bool", "bench"],
                    ["full_run", "wall", "61.0", "s", "log"], ["targets", "Wall", "1.0 min", "", "≤ 1 min; not met"]]


# ---- the whole harness on a tiny repo marked up to date -------------------------------

SECONDS = {"download": 1, "prepare": 2, "train_teacher": 30, "distill_student": 20, "prune": 10,
           "convert": 2, "qat": 8, "latency": 0, "evaluate": 1, "report": 3}  # latency: 0 keeps the sums below
# Each job's planned epochs (the converged protocol's 10 on MNIST; the tiny fine-tunes' 1): 25, 15, 6, 5 s.
EPOCHS = {"train_teacher": (2.5,) * 10, "distill_student": (1.5,) * 10, "prune": (6.0,), "qat": (5.0,)}


def write_log(repo: Path, hour: int, spans, threads=None, tail: str = "") -> Path:
    """A Snakemake log of a segment starting at hour:00:00 of 2026-01-01: one job per (rule, start s,
    end s or None); `threads`: rule -> threads (printed above 1, as Snakemake does)."""
    stamp = lambda s: f"[Thu Jan  1 {hour + s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d} 2026]"  # noqa: E731
    events = [(start, f"{stamp(start)}\nlocalrule {rule}:\n    jobid: {i}\n"
                      + (f"    threads: {threads[rule]}\n" if threads and rule in threads else ""))
              for i, (rule, start, _) in enumerate(spans, 1)]
    events += [(end, f"{stamp(end)}\nFinished jobid: {i} (Rule: {rule})\n")
               for i, (rule, _, end) in enumerate(spans, 1) if end is not None]
    path = repo / f".snakemake/log/2026-01-01T{hour:02d}0000.000000.snakemake.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"  Command: snakemake --cores 2\n  Date: 2026-01-01 {hour:02d}:00:00\nProvided cores: 2\n"
                    + "".join(text for _, text in sorted(events, key=lambda e: e[0])) + tail)
    return path


def _touched_repo(path: Path) -> Path:
    """A tiny repo whose every output exists (records with their CPU) and is marked up to
    date by `snakemake --touch`; then a bench file and log per job, and two stale files."""
    repo = new_repo(path, bases=("teacher", "student-kd"), prune=("none", "global", "filters"),
                    quant=("float32", "ptq-int8", "qat"))
    listing = snakemake(repo, "-n", "--forceall").stdout
    for line in listing.splitlines():
        if line.startswith("    output: "):
            for out in line.split(": ", 1)[1].split(", "):
                target = repo / out
                target.mkdir(parents=True) if not target.suffix else target.parent.mkdir(parents=True, exist_ok=True)
                if target.suffix:
                    target.write_text("{}")
    for bench in commands.planned_benches(listing):
        rule, wc = jobs.match(bench)
        record = R.RULES[rule].outputs.get("record") or R.RULES[rule].outputs.get("metrics")
        if record:
            (repo / record.format(**wc)).write_text(json.dumps({"rule": rule, "wildcards": wc, "cpu": CPU}))
    snakemake(repo, "--touch", "--forceall")  # every job, so each records its params
    for bench in commands.planned_benches(listing):
        rule, wc = jobs.match(bench)
        write_bench(repo, bench, SECONDS[rule])
        (repo / R.RULES[rule].log.format(**wc)).write_text("".join(
            progress.format_epoch("x", i, 2, {}, s) + "\n" for i, s in enumerate(EPOCHS.get(rule, ()), 1)))
    write_bench(repo, "logs/quantize/mnist/s0/teacher+none.convert.bench.tsv", 500)  # an older layout
    write_bench(repo, R.RULES["prune"].benchmark.format(**{**WC, "prune": "local-all"}), 500)  # not in the matrix
    # The models' MACs (the report's results.csv), the machine's attainable GFLOP/s, the projection
    # made before the run, and the Snakemake logs of a run in two segments after a stale one.
    (repo / "reports/results.csv").write_text(
        "dataset,variant,base,prune,cluster,quant,seed,ft_seed,accuracy,macs\n"
        "mnist,teacher+none+float32,teacher,none,none,float32,0,0,0.99,5000000\n"
        "mnist,student-kd+none+float32,student-kd,none,none,float32,0,0,0.98,1000000\n")
    (repo / "attainable.csv").write_text("dtype,threads,gflops,cpu\n"
                                         f"float32,1,1000.0,{CPU}\nbfloat16,1,1500.0,{CPU}\nfloat32,2,1900.0,{CPU}\n")
    (repo / "projection.md").write_text(
        "Projection of the planned run (75 jobs) from reports/benchmarks.csv, on 2 cores.\n\n"
        "| rule | jobs | epochs | job-s | floor min | estimated | unmeasured |\n|---|---|---|---|---|---|---|\n"
        "| train_teacher | 1 | 10 | 36 | 0.3 | | |\n| prune | 4 | 4 | 40 | 0.3 | | |\n\n"
        "Job floor: 1.5 min of the 240-min budget (1 %).\n")
    # Segments at 10:00 (two jobs for 100 s) and 11:00 (100 s and 60 s): 360 busy core-seconds of 400.
    for hour, second_job_ends in ((9, 100), (10, 100), (11, 60)):  # 09:00 is before --logs-since
        write_log(repo, hour, [("prune", 0, 100), ("convert", 0, second_job_ends)])
    return repo


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    repo = _touched_repo(tmp_path_factory.mktemp("touched"))
    step_time = load_benchmark("step_time")
    steps = repo / "step-times.csv"
    for row in (_step_row("float32", "0", 90.0), _step_row("float32", "1", 30.0), _step_row("mixed_bfloat16", "1", 20.0)):
        step_time.append_csv(steps, row)
    base = repo / "before"
    base.mkdir()
    (base / "benchmarks.csv").write_text("section,name,value,unit,note\nfull_run,train.total,60.0,s,\n"
                                         "full_run,all.total,372.0,s,\nfull_run,wall,200.0,s,\n")
    (base / "results.csv").write_text("dataset,seed,variant,base,prune,quant,accuracy\n")
    mp = pytest.MonkeyPatch()
    mp.setattr(commands, "IMPORTS", {"tensorflow": "pass", "litert": "pass", "python": "pass"})
    try:
        assert measure.main(["--root", str(repo), "--out", "out", "--skip-noop", "--wall-seconds", "100", "--wall-note", "one segment",
                             "--cores", "2", "--step-times", str(steps), "--baseline", "before",
                             "--attainable", "attainable.csv", "--quicklook-seconds", "480",
                             "--projection", "projection.md", "--logs-since", "2026-01-01T09:30:00"]) == 0
    finally:
        mp.undo()
    rows = list(csv.DictReader((repo / "out/benchmarks.csv").open()))
    return (repo / "out/benchmarks.md").read_text(), {(r["section"], r["name"]): r for r in rows}


def value(rows, section, name):
    return rows[(section, name)]["value"]


def test_full_run_sums_each_rules_jobs_and_drops_stale_files(measured):
    md, rows = measured
    # 1 dataset, 1 seed, teacher + student-kd; 2 pruned variants each; 2 PTQ schemes + QAT (two
    # exports each: float and int8 I/O).
    jobs_per_rule = {"download": 1, "prepare": 1, "train_teacher": 1, "distill_student": 1, "prune": 4,
                     "convert": 12, "qat": 6, "latency": 24, "evaluate": 24, "report": 1}
    for rule, n in jobs_per_rule.items():
        assert value(rows, "full_run", f"{rule}.jobs") == str(n), rule
        assert float(value(rows, "full_run", f"{rule}.total")) == n * SECONDS[rule], rule
    assert value(rows, "full_run", "all.total") == "192.0" and value(rows, "full_run", "all.epoch_s") == "94.0"
    assert rows[("full_run", "jobs_found")]["note"] == "of 75 planned" and value(rows, "full_run", "stale_files") == "2"


def test_wall_is_set_against_the_epoch_floor_and_the_rest_is_the_non_epoch_share(measured):
    md, rows = measured
    assert value(rows, "full_run", "epoch_floor") == "47.0"                 # 94 epoch s / 2 cores
    assert value(rows, "full_run", "job_floor") == "96.0"                   # 192 job-seconds / 2 cores
    assert value(rows, "full_run", "wall_over_epoch_floor") == "2.13"       # 100 s / 47 s
    assert value(rows, "full_run", "non_epoch_share") == "51.0"             # 98 of 192 job-seconds
    assert value(rows, "startup", "tensorflow.jobs") == "24"                # train, distill, prune, convert, qat
    assert "Wall / (epoch seconds / cores): **2.13**" in md
    assert "--wall-seconds (measured by the caller: one segment)" in md


@pytest.mark.parametrize("change,jobs_,job_s,ok", [
    ("kd", 37, 20 + 2 * 10 + 6 * 2 + 3 * 8 + 12 + 3, None),
    # A pruning scheme: its 2 pruned models, their 4 PTQ exports and 2 QAT (4 exports), 8
    # latency benchmarks and 8 evaluations, the report: 25 <= 3 x 8 cells + 2 pruned models + 1.
    ("prune.global", 25, 2 * 10 + 4 * 2 + 2 * 8 + 8 + 3, "1"),
    ("prune.filters", 25, 2 * 10 + 4 * 2 + 2 * 8 + 8 + 3, "1"),
    ("quantize.ptq-int8", 19, 6 * 2 + 6 + 3, "1"),                          # its exports, latencies, evaluations, report
    ("quantize.qat", 31, 6 * 8 + 12 + 3, "1"),                              # both exports of each QAT job
    ("seeds", 49, 192 - 3, None),                                           # all but download, prepare and latency (timed once per cell)
])
def test_each_changes_rerun_comes_from_snakemakes_dry_run_and_its_measured_jobs(measured, change, jobs_, job_s, ok):
    _, rows = measured
    assert value(rows, "incremental", f"{change}.jobs") == str(jobs_)
    assert float(value(rows, "incremental", f"{change}.job_s")) == job_s
    assert rows[("incremental", f"{change}.ok")]["value"] == (ok or "n/a")


def test_the_report_has_step_times_before_after_and_only_current_targets(measured):
    md, rows = measured
    assert value(rows, "step_time", "mnist.teacher.train.onednn_x") == "3.00"
    assert value(rows, "step_time", "mnist.teacher.train.bf16_x") == "1.50"
    assert value(rows, "before_after", "before.train.before") == "60.0"
    assert value(rows, "before_after", "before.train.after") == "30.0"      # the trainers per kind
    assert value(rows, "before_after", "before.distill.after") == "20.0"
    assert value(rows, "before_after", "before.wall.speedup") == "2.00"
    targets = {name: r["value"] for (section, name), r in rows.items() if section == "targets"}
    budget = next(name for name in targets if name.startswith("Full default run within the budget"))
    training = next(name for name in targets if name.startswith("Training at ≥ 70 %"))
    assert targets == {"One-scheme change reruns ≤ 3 × its cells (+ its pruned models) + 1 jobs": "4 of 4",
                       "No-op snakemake -n": "n/a", "No-op dvc status": "n/a", budget: "1.7 min",
                       "Wall / (epoch seconds / cores)": "2.13",
                       "Busy cores over the whole run (all segments)": "90.0 % (2 segment(s))",
                       "Job floor within 10 % of the projection": "1.6 min vs 1.5 min projected (1.07×)",
                       training: "1 of 3 met; lowest 30.0 % (prune mnist/teacher)",
                       "Quick look (2 cores)": "8.0 min"}
    assert re.search(r"\| Wall / \(epoch seconds / cores\) +\| ≤ 1\.15 +\| 2\.13 +\| \*\*not met\*\*", md)
    assert "45 min" not in md and "start-up share" not in md.lower()


def test_the_budget_is_240_min_on_avx512_and_2_5_times_that_on_avx2_only_cpus():
    assert fullrun.budget_minutes("AMD EPYC [avx2 fma avx512f avx512_vnni avx512_bf16] oneDNN=1") == 240
    assert fullrun.budget_minutes("AMD EPYC [avx2 fma] oneDNN=1") == 600


def test_a_run_in_segments_is_judged_by_its_job_floor_not_its_summed_wall():
    cpu = "AMD EPYC [avx2 fma avx512f avx512_vnni avx512_bf16] oneDNN=1"
    # 2 cores: 12000 job-seconds (9000 inside epochs) -> job floor 100 min, epoch floor 75 min
    work = [jobs.Job("train_teacher", {}, "a.tsv", 7000.0, None, 6000.0), jobs.Job("prune", {}, "b.tsv", 5000.0, None, 3000.0)]
    targets = lambda run: {t.name.split(" (2 cores")[0]: (t.measured, t.ok) for t in fullrun.wall_section(run, None, cpu).targets}  # noqa: E731
    whole = fullrun.Run(work, [], None, 2, wall=18000.0)                 # one segment: 300 min of wall
    assert targets(whole) == {"Full default run within the budget": ("300.0 min", False),
                              "Wall / (epoch seconds / cores)": ("4.00", False)}
    resumed = fullrun.Run(work, [], None, 2, wall=18000.0, segments=3)  # the same wall, with redone work
    assert targets(resumed) == {
        "Full default run within the budget": ("100.0 min (job floor: a run in 3 segments)", True),
        "Wall / (epoch seconds / cores)": ("1.33 (job floor: a run in 3 segments)", False)}


def test_no_rerun_verdict_while_jobs_are_pending():
    row = {"id": "quantize.ptq-int8", "key": "k", "error": "", "bound": 13, "ok": False}
    pending = commands.DryRun("snakemake -n --", 1.0, 0, {"evaluate": 3, "all": 1})
    s = incremental.section(pending, [row], [], cores=2)
    assert "3 jobs pending" in s.notes[0] and s.tables[0].rows[0]["verdict"] == "—"
    assert s.targets[0].ok is None and row["ok"] is False  # the measurement's rows stay as measured
    done = incremental.section(commands.DryRun("snakemake -n --", 1.0, 0, {}), [row], [], cores=2)
    assert done.tables[0].rows[0]["verdict"] == "**no**" and done.targets[0].ok is False


def test_the_report_has_the_attainable_rates_the_projection_busy_cores_and_the_quick_look(measured):
    md, rows = measured
    # 6 x 10 epochs x 59,960 images (the tiny repo's 40 validation images left out) x 5 M MACs in 25 s
    # of epochs; 1000 GFLOP/s attainable on 1 thread.
    assert value(rows, "flops", "train_teacher.mnist/teacher.converged.1.gflops") == "719.52"
    assert value(rows, "flops", "train_teacher.mnist/teacher.converged.1.share") == "72.0"
    assert value(rows, "flops", "train_teacher.mnist/teacher.converged.1.met") == "1"
    assert value(rows, "flops", "distill_student.mnist/student.converged.1.met") == "n/a"  # 1 M MACs: not judged
    assert value(rows, "flops", "attainable.float32.2") == "1900.0"
    assert value(rows, "busy_cores", "busy_share") == "90.0" and value(rows, "busy_cores", "segments") == "2"
    assert value(rows, "projection", "projected_floor") == "1.5" and value(rows, "projection", "floor_ratio") == "1.07"
    assert value(rows, "projection", "prune.m_job_s") == "40"                 # 4 jobs x 10 s
    assert value(rows, "quicklook", "wall") == "480.0"
    assert "## 4. Projection against the measured job floor" in md and "**not met**" in md


# ---- achieved against attainable GFLOP/s ---------------------------------------------------

MACS = {("cifar10", "teacher"): 10e6, ("cifar10", "student"): 5e6, ("mnist", "student"): 1e6,
        ("cifar10", "mobilenet"): 8e6}


def _job(rule, epoch_s, epochs, threads=None, **wc):
    return jobs.Job(rule, {"seed": "0", **wc}, f"{rule}.tsv", epoch_s + 10, None, epoch_s, CPU, threads, epochs)


def _keras(path: Path, layers: list[str]) -> None:
    import zipfile
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps({"class_name": "Sequential", "config": {
            "layers": [{"class_name": name, "config": {}} for name in layers]}}))


def test_achieved_gflops_per_rule_and_model_with_the_online_teacher_against_float32_attainable(tmp_path, cfg):
    ft = {"ft": "0", "prune": "global"}
    run = [_job("train_teacher", 1500.0, 30, dataset="cifar10", base="teacher"),           # converged, 30 epochs
           _job("distill_student", 375.0, 15, dataset="cifar10", base="student-kd"),       # online teacher
           _job("distill_student", 100.0, 10, dataset="mnist", base="student-kd"),         # unaugmented: offline
           _job("distill_student", 180.0, 15, dataset="cifar10", base="mobilenet-kd"),
           _job("prune", 30.0, 2, dataset="cifar10", base="student-kd", **ft),
           _job("prune", 15.0, 2, threads=2, dataset="cifar10", base="student-kd", **{**ft, "seed": "1"}),
           _job("train_teacher", 500.0, 10, dataset="cifar10", base="teacher-st"),         # the study's protocol
           _job("train_teacher", 50.0, 1, dataset="cifar10", base="teacher", seed="1"),    # cut short
           _job("train_student_scratch", 50.0, 15, dataset="cifar10", base="resnet-x")]    # not a base
    _keras(tmp_path / R.RULES["distill_student"].outputs["model"].format(
        dataset="cifar10", seed="0", base="mobilenet-kd"), ["InputLayer", "Conv2D", "DepthwiseConv2D", "Dense"])
    depthwise = flops.depthwise_of(tmp_path, cfg, run)
    assert depthwise[("cifar10", "mobilenet")] is True and depthwise[("cifar10", "teacher")] is False  # a zoo stack
    rows, skipped = flops.achieved(cfg, run, MACS, depthwise)
    assert skipped == ["1 jobs: its log has other than its planned epochs (cut short, or still running)",
                       "1 jobs: not a job of the params (base or scheme unknown)"]
    ceiling = [{"dtype": "float32", "threads": "1", "gflops": "100.0", "cpu": CPU},
               {"dtype": "bfloat16", "threads": "1", "gflops": "150.0", "cpu": CPU},
               {"dtype": "float32", "threads": "2", "gflops": "180.0", "cpu": CPU},
               {"dtype": "float32", "threads": "1", "gflops": "999.0", "cpu": "Other CPU [avx512f] oneDNN=1"}]
    s = flops.section(rows, skipped, [], ceiling, "attainable.csv", CPU, "records")
    got = {(r["rule"], r["model"], r["family"], r["threads"]): r for r in rows}
    # the converged protocol fits on the training split less its 5,000 validation images:
    # 6 x 30 epochs x 45,000 images x 10 M MACs / 1500 s
    teacher = got[("train_teacher", "cifar10/teacher", "converged", 1)]
    assert (teacher["gflops"], teacher["share"], teacher["met"], teacher["bf16"]) == (54.0, 54.0, False, 150.0)
    # 15 x 45,000 x (6 x 5 M + 2 x 10 M of the teacher's forward passes) / 375 s
    kd = got[("distill_student", "cifar10/student", "converged", 1)]
    assert (kd["online"], kd["gflops"], kd["met"]) == ("yes", pytest.approx(90.0), True)
    offline = got[("distill_student", "mnist/student", "converged", 1)]          # 6 x 10 x 55,000 x 1 M / 100 s
    assert (offline["online"], offline["gflops"], offline["judged"]) == ("no", pytest.approx(33.0), False)
    assert not got[("distill_student", "cifar10/mobilenet", "converged", 1)]["judged"]  # depthwise
    assert not got[("train_teacher", "cifar10/teacher", "study", 1)]["judged"]
    assert got[("prune", "cifar10/student", "converged", 1)]["gflops"] == pytest.approx(90.0)  # 6 x 2 x 45,000 x 5 M / 30 s
    two = got[("prune", "cifar10/student", "converged", 2)]
    assert (two["gflops"], two["f32"], two["share"]) == (pytest.approx(180.0), 180.0, pytest.approx(100.0, abs=0.1))
    (target,) = s.targets
    assert (target.measured, target.ok) == ("3 of 4 met; lowest 54.0 % (train_teacher cifar10/teacher)", False)
    assert flops.section(rows, skipped, [], ceiling[3:], "attainable.csv", CPU, "records").targets[0].ok is None
    assert flops.has_depthwise(tmp_path / "missing.keras") is None


# ---- busy cores over every segment ---------------------------------------------------------

def test_busy_cores_replay_threads_errors_and_a_job_cut_by_the_stop(tmp_path):
    error = "[Thu Jan  1 10:00:30 2026]\nError in rule prune:\n    message: None\n    jobid: 2\n"
    path = write_log(tmp_path, 10, [("train_teacher", 10, 40), ("prune", 10, None), ("latency", 40, 60),
                                    ("evaluate", 60, None), ("all", 100, None)], threads={"latency": 2})
    text = path.read_text()
    text = text.replace("[Thu Jan  1 10:00:40 2026]\nFinished jobid: 1", error + "[Thu Jan  1 10:00:40 2026]\n"
                        "Finished jobid: 1")
    # 2 jobs 10-30 s (40), 1 job 30-40 (10), latency on both cores 40-60 (40), evaluate 60-100 (40):
    # 130 busy core-seconds in 100 s of wall from the header's Date; evaluate never ended.
    info = snakelog.busy(text, cores=4)
    assert (info["wall"], info["cores"], info["jobs"], info["ended"], info["busy_core_s"]) == (100, 2, 4, 3, 130)
    s = segments.section([(path, info)], "one log", segments=3)
    assert s.targets[0].measured == "65.0 % (1 segment(s))" and s.targets[0].ok is False
    assert "--logs-since" in s.notes[0]


def test_every_segment_after_the_runs_start_is_replayed_not_touches_or_earlier_logs(tmp_path):
    write_log(tmp_path, 8, [("prune", 0, 100)])                               # before the run
    write_log(tmp_path, 9, [("prune", 0, 100), ("convert", 0, 100)])
    write_log(tmp_path, 10, [("prune", 0, 100), ("convert", 0, 50)], tail="4 of 4 steps (100%) done\n")
    write_log(tmp_path, 11, [("prune", 0, 10)]).write_text(                   # marks files, runs nothing
        "  Command: snakemake --cores 2 --touch\n[Thu Jan  1 11:00:00 2026]\nlocalrule prune:\n    jobid: 1\n")
    logs, how = segments.gather(tmp_path, "2026-01-01T08:30:00", cores=2)
    assert [p.name[:13] for p, _ in logs] == ["2026-01-01T09", "2026-01-01T10"] and "--logs-since" in how
    s = segments.section(logs, how, segments=2)
    assert s.targets[0].measured == "87.5 % (2 segment(s))"                  # 350 of 2 x 200 core-seconds
    assert [r["share"] for r in s.tables[0].rows] == [100.0, 75.0]
    newest, how = segments.gather(tmp_path, None, cores=2)                   # the newest completed log alone
    assert [p.name[:13] for p, _ in newest] == ["2026-01-01T10"] and "alone" in how
    assert snakelog.parse_since("2026-01-01T08:30:00") == snakelog.parse_since("2026-01-01 08:30:00")
    assert snakelog.parse_since("2026-01-01T08:30:00Z").tzinfo is None


# ---- the projection beside the measured job floor ------------------------------------------

def test_the_projection_is_read_from_its_own_markdown_and_set_against_the_measured_floor(cfg):
    from compressbench import projection as PJ
    teacher = PJ._job("train_teacher", dataset="mnist", seed=0, base="teacher")
    cell = dict(dataset="mnist", seed=0, ft=0, base="teacher", prune="none", cluster="none", quant="float32")
    planned = [PJ.Projected(teacher, 600.0, 1, "measured", 60.0),
               PJ.Projected(PJ._job("latency", **cell), 15.0, 2, "measured"),
               PJ.Projected(PJ._job("latency", **{**cell, "quant": "ptq-int8"}), 15.0, 2, "measured"),
               PJ.Projected(PJ._job("report"), None, 1, "unmeasured: rule report")]
    text = PJ.render(cfg, planned, 2, 240.0, "reports/benchmarks.csv")
    p = projected.parse(text)
    assert (p["jobs"], p["cores"], p["floor_min"], p["budget_min"], p["not_counted"]) == (4, 2, 5.5, 240.0, 1)
    assert p["rules"]["train_teacher"] == {"jobs": 1, "epochs": 10, "job_s": 600, "floor_min": 5.0}
    assert p["rules"]["latency"]["floor_min"] == 0.5 and "mnist/teacher" not in str(p["rules"])
    run = [jobs.Job("train_teacher", {}, "a.tsv", 630.0, None), jobs.Job("latency", {}, "b.tsv", 20.0, None),
           jobs.Job("latency", {}, "c.tsv", 10.0, None), jobs.Job("convert", {}, "d.tsv", 6.0, None)]
    s = projected.section(text, "projection-before.md", run, cores=2)
    rows = {r["rule"]: r for r in s.tables[0].rows}
    # 630 s / 2 cores; the latency jobs' 30 s on both cores: 30 x 2 / 2; convert was not projected.
    assert rows["train_teacher"]["m_floor"] == 5.25 and rows["latency"]["m_floor"] == 0.5
    assert rows["report"]["m_jobs"] is None and rows["convert"]["p_floor"] is None
    assert s.targets[0].measured == "5.8 min vs 5.5 min projected (1.05×)" and s.targets[0].ok is True
    assert "1 jobs without measurements" in s.notes[0]
    assert projected.section(None, "missing.md", run, cores=2).targets[0].ok is None


def test_the_quick_look_is_judged_on_two_cores_only():
    assert quicklook.section(540.0, 2).targets[0].ok is True
    assert quicklook.section(700.0, 2).targets[0].ok is False
    assert quicklook.section(300.0, 4).targets[0].ok is None
    assert quicklook.section(None, 2).targets[0].measured == "n/a"

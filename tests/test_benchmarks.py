"""benchmarks/measure.py: its pure parts, on synthetic inputs (fast, no Snakemake run)."""
from __future__ import annotations

from pathlib import Path

import pytest

from compressbench import stages
from helpers import load_benchmark

measure = load_benchmark("measure")

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _bench(root: Path, rel: str, seconds: float, rss="100.00"):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{seconds}\t0:00:00\t{rss}\t1.0\t1.0\t1.0\t0.0\t0.0\t0.0\t0.0\n")


def test_bench_files_map_to_stage_kinds_and_sum(tmp_path):
    files = {
        "logs/download/mnist.bench.tsv": (1.0, "download"),
        "logs/download/mnist.prepare.bench.tsv": (2.0, "prepare"),
        "logs/train_baseline/mnist/s0/teacher.bench.tsv": (10.0, "train"),
        "logs/train_baseline/mnist/s0/student-scratch.bench.tsv": (4.0, "train"),
        "logs/teacher_assistant/mnist/s0/ta.bench.tsv": (6.0, "distill"),
        "logs/student_distill/mnist/s0/student-kd.bench.tsv": (3.0, "distill"),
        "logs/prune/mnist/s0/teacher+global.bench.tsv": (5.0, "prune"),
        "logs/quantize/mnist/s0/teacher+none.convert.bench.tsv": (7.0, "convert"),
        "logs/quantize/mnist/s0/teacher+none+qat.bench.tsv": (8.0, "qat"),
        "logs/evaluate/mnist/s0/teacher+none+float32.bench.tsv": (0.5, "evaluate"),
        "logs/evaluate/mnist/s0/teacher+none+qat.bench.tsv": (1.5, "evaluate"),
        "logs/report/report.bench.tsv": (9.0, "report"),
    }
    for rel, (secs, kind) in files.items():
        assert measure.stage_kind(rel) == kind, rel
        _bench(tmp_path, rel, secs, rss="NA" if kind == "report" else f"{100 + secs:.2f}")
    (tmp_path / "logs/download/mnist.log").write_text("not a benchmark")

    summary = measure.summarize_bench(measure.collect_bench(tmp_path))

    assert {k: s["jobs"] for k, s in summary.items()} == {
        "download": 1, "prepare": 1, "train": 2, "distill": 2, "prune": 1,
        "convert": 1, "qat": 1, "evaluate": 2, "report": 1}
    assert summary["train"]["total_s"] == pytest.approx(14.0)
    assert summary["train"]["mean_s"] == pytest.approx(7.0)
    assert summary["train"]["max_s"] == pytest.approx(10.0)
    assert summary["train"]["peak_rss_mb"] == pytest.approx(110.0)
    assert summary["distill"]["total_s"] == pytest.approx(9.0)
    assert summary["evaluate"]["total_s"] == pytest.approx(2.0)
    assert summary["report"]["peak_rss_mb"] is None  # NA is not a number
    assert sum(s["total_s"] for s in summary.values()) == pytest.approx(57.0)


def test_epoch_seconds_come_from_the_log_beside_each_bench_file(tmp_path):
    _bench(tmp_path, "logs/prune/mnist/s0/teacher+global.bench.tsv", 100.0)
    (tmp_path / "logs/prune/mnist/s0/teacher+global.log").write_text(
        "12:00:00 INFO prune [dataset=mnist] start\n"
        "12:00:50 INFO mnist/teacher+global epoch 1/2 accuracy=0.9709 val_loss=0.0442 (43.5 s)\n"
        "12:01:35 INFO mnist/teacher+global epoch 2/2 accuracy=0.9757 val_loss=0.0416 (44.0 s)\n"
        "12:01:40 INFO test accuracy 0.9880, 140.1 s\n")
    _bench(tmp_path, "logs/quantize/mnist/s0/teacher+none.convert.bench.tsv", 7.0)  # no epochs, no log
    summary = measure.summarize_bench(measure.collect_bench(tmp_path))
    assert summary["prune"]["epoch_s"] == pytest.approx(87.5)
    assert summary["convert"]["epoch_s"] == 0.0


def test_core_use_replays_job_starts_and_finishes():
    log = ("[Thu Jan  1 10:00:00 2026]\nlocalrule train_teacher:\n    jobid: 1\n"
           "[Thu Jan  1 10:00:00 2026]\nlocalrule train_student_scratch:\n    jobid: 2\n"
           "[Thu Jan  1 10:00:10 2026]\nFinished jobid: 2 (Rule: train_student_scratch)\n"
           "[Thu Jan  1 10:00:40 2026]\nFinished jobid: 1 (Rule: train_teacher)\n"
           "[Thu Jan  1 10:00:40 2026]\nlocalrule all:\n"
           "[Thu Jan  1 10:00:40 2026]\nFinished jobid: 0 (Rule: all)\n")
    use = measure.core_use(log, cores=2)
    # 2 jobs for 10 s, then 1 for 30 s: 50 busy core-seconds of 80.
    assert use["wall"] == 40 and use["idle_core_s"] == 30 and use["mean_running"] == pytest.approx(1.25)
    assert use["peak_running"] == 2
    assert measure.core_use("no jobs here", cores=2) is None


def test_wall_time_comes_from_first_and_last_log_timestamps(tmp_path):
    log_dir = tmp_path / ".snakemake/log"
    log_dir.mkdir(parents=True)
    (log_dir / "2026-01-01T100000.000000.snakemake.log").write_text(
        "[Thu Jan  1 10:00:00 2026]\nrule a:\n[Thu Jan  1 10:30:00 2026]\n3 of 3 steps (100%) done\n")
    (log_dir / "2026-01-02T100000.000000.snakemake.log").write_text(
        "[Fri Jan  2 10:00:00 2026]\n1 of 3 steps (33%) done\n")  # newer, unfinished
    path, info = measure.completed_log(tmp_path)
    assert path.name.startswith("2026-01-01")
    assert info["seconds"] == 1800 and info["steps"] == 3


SMALL = {
    "seeds": [0],
    "matrix": {"datasets": ["mnist", "cifar10"], "bases": ["teacher", "student-kd"],
               "prune": ["none", "global", "filters"], "quant": ["float32", "ptq-int8", "qat"]},
    "data": {"val_size": 10, "split_seed": 0},
    "zoo": {ds: {"teacher": [{"conv": 4}], "ta": [{"conv": 2}], "student": [{"conv": 2}]}
            for ds in ("mnist", "cifar10")},
    "train": {"precision": "float32", "optimizer": "adam", "learning_rate": 0.001, "batch_size": 8, "augment": False,
              "epochs": {ds: {b: 1 for b in ("teacher", "ta", "student-scratch", "student-kd", "student-takd")}
                         for ds in ("mnist", "cifar10")}},
    "distill": {"alpha": 0.1, "temperature": 10.0},
    "prune": {"fine_tune": {"epochs": 1, "batch_size": 8, "learning_rate": 0.001},
              "schemes": {"global": {"method": "global", "layers": "all", "sparsity": 0.8},
                          "filters": {"method": "filters", "layers": "conv", "fraction": 0.5}}},
    "quantize": {"schemes": {"float32": {"method": "float32"},
                             "ptq-int8": {"method": "int8", "calibration_samples": 500},
                             "qat": {"method": "qat", "epochs": 1}}},
    "evaluate": {"batch_size": 10, "latency_runs": 1, "warmup_runs": 1},
}


def _rerun(key, value):
    return measure.expected_rerun_counts(SMALL, measure.set_dotted(SMALL, key, value))


def test_expected_incremental_counts_for_a_small_matrix_match_hand_counts():
    # 2 datasets x 1 seed x 2 bases x 3 prune variants = 12 models; 2 PTQ-converted
    # schemes in one convert job per model, 1 QAT scheme.
    assert measure.full_run_counts(SMALL) == {
        "all": 1, "convert": 12, "distill_student": 2, "download": 2, "evaluate": 36, "prepare": 2,
        "prune": 8, "qat": 12, "report": 1, "train_teacher": 2}
    # Quantization param: every convert job, and the evaluate of its 2 PTQ schemes.
    assert _rerun("quantize.schemes.ptq-int8.calibration_samples", 600) == {
        "all": 1, "convert": 12, "evaluate": 24, "report": 1}
    # Pruning param of one scheme: 2 datasets x 2 bases pruned, converted, QAT'd; 3 quant each.
    assert _rerun("prune.schemes.global.sparsity", 0.7) == {
        "all": 1, "convert": 4, "evaluate": 12, "prune": 4, "qat": 4, "report": 1}
    # KD alpha: the student-kd of each dataset and everything downstream of it.
    assert _rerun("distill.alpha", 0.2) == {
        "all": 1, "convert": 6, "distill_student": 2, "evaluate": 18, "prune": 4, "qat": 6, "report": 1}
    # A scheme outside the matrix changes nothing.
    assert _rerun("prune.schemes.filters.layers", "conv") == {}


def test_expected_kd_counts_include_ta_and_both_students_for_the_default_bases():
    cfg = {**SMALL, "matrix": {**SMALL["matrix"], "datasets": ["mnist"],
                               "bases": ["teacher", "ta", "student-scratch", "student-kd", "student-takd"]}}
    got = measure.expected_rerun_counts(cfg, measure.set_dotted(cfg, "distill.alpha", 0.2))
    # ta, student-kd, student-takd: 3 bases x 3 prune variants = 9 models.
    assert got == {"all": 1, "convert": 9, "distill_student": 2, "distill_ta": 1, "evaluate": 27,
                   "prune": 6, "qat": 9, "report": 1}


def test_override_file_holds_just_the_nested_key():
    assert measure.nested("distill.alpha", 0.2) == {"distill": {"alpha": 0.2}}
    assert measure.set_dotted(SMALL, "distill.alpha", 0.2)["distill"] == {"alpha": 0.2, "temperature": 10.0}
    assert SMALL["distill"]["alpha"] == 0.1  # the original is untouched


# Captured from `snakemake -n --quiet rules` (Snakemake 9.27) on the default matrix.
DRY_RUN = """\
Building DAG of jobs...
Job stats:
job                      count
---------------------  -------
download                     2
prepare                      2
train_student_scratch        2
train_teacher                2
convert                     70
distill_student              4
distill_ta                   2
prune                       60
qat                         70
evaluate                   350
report                       1
all                          1
total                      566

Reasons:
    (check individual jobs above for details)
    input files updated by another job:
        all, convert, distill_student, distill_ta, evaluate, prepare, prune, qat, report
This was a dry-run (flag -n). The order of jobs does not reflect the order of execution.
"""


def test_job_count_parser_reads_a_captured_dry_run_table():
    jobs = stages.planned_jobs(DRY_RUN)
    assert jobs == {"all": 1, "convert": 70, "distill_student": 4, "distill_ta": 2, "download": 2,
                    "evaluate": 350, "prepare": 2, "prune": 60, "qat": 70, "report": 1,
                    "train_student_scratch": 2, "train_teacher": 2}
    assert "total" not in jobs
    assert stages.planned_jobs("Building DAG of jobs...\nNothing to be done.\n") == {}


def test_parsed_dry_run_equals_the_full_run_counts_of_the_default_params(cfg):
    assert stages.planned_jobs(DRY_RUN) == measure.full_run_counts(cfg)


def _row(ds, base, prune, quant, latency, seed=0):
    return {"dataset": ds, "base": base, "prune": prune, "quant": quant, "seed": str(seed),
            "latency_ms": str(latency)}


def test_latency_ratios_are_relative_to_the_datasets_float32_teacher():
    rows = [
        _row("mnist", "teacher", "none", "float32", 2.0),
        _row("mnist", "teacher", "none", "float32", 4.0, seed=1),  # reference: median 3.0
        _row("mnist", "teacher", "global", "float32", 3.0),
        _row("mnist", "teacher", "none", "ptq-int8", 1.5),
        _row("mnist", "student-kd", "none", "ptq-int8", 0.3),
        _row("mnist", "student-kd", "none", "float32", 0.6),
        _row("cifar10", "teacher", "none", "float32", 10.0),
        _row("cifar10", "teacher", "none", "ptq-int8", 5.0),
    ]
    got = {(r["dataset"], r["by"], r["group"]): r["ratio"] for r in measure.latency_ratios(rows)}
    assert got[("mnist", "quant", "float32")] == pytest.approx(2.5 / 3.0)    # median(2, 4, 3, 0.6)
    assert got[("mnist", "quant", "ptq-int8")] == pytest.approx(0.9 / 3.0)   # median(1.5, 0.3)
    assert got[("mnist", "base", "student-kd")] == pytest.approx(0.45 / 3.0)
    assert got[("cifar10", "quant", "ptq-int8")] == pytest.approx(0.5)
    assert got[("cifar10", "base", "teacher")] == pytest.approx(7.5 / 10.0)


def test_startup_share_counts_tf_jobs_at_the_tf_import_cost():
    secs, pct = measure.startup_share({"train": 2, "convert": 1, "evaluate": 4, "report": 1},
                                      heavy_s=5.0, light_s=0.5, total_job_s=100.0)
    assert secs == pytest.approx(3 * 5.0 + 5 * 0.5)
    assert pct == pytest.approx(17.5)


def test_every_job_of_the_dag_names_a_bench_file_of_its_own_stage_kind():
    kinds = {"download": "download", "prepare": "prepare", "train_teacher": "train", "distill_student": "distill",
             "prune": "prune", "convert": "convert", "qat": "qat", "evaluate": "evaluate", "report": "report"}
    jobs = [j for j in measure.dag(SMALL).values() if j.rule != "all"]
    paths = [measure.bench_path(j) for j in jobs]
    assert len(set(paths)) == len(jobs)  # one file per job
    for job, path in zip(jobs, paths):
        assert measure.stage_kind(path) == kinds[job.rule], (job, path)


def test_rerun_cost_sums_the_bench_files_of_exactly_the_rerun_jobs(tmp_path):
    for job in measure.dag(SMALL).values():
        if job.rule != "all":
            _bench(tmp_path, measure.bench_path(job), 100.0 if job.rule == "convert" else 1.0)
    changed = measure.rerun_jobs(SMALL, measure.set_dotted(SMALL, "quantize.schemes.ptq-int8.calibration_samples", 9))
    cost, found = measure.rerun_seconds(tmp_path, [j for j in changed.values() if j.rule != "all"])
    assert found == 12 + 24 + 1  # convert, evaluate, report (see the hand counts above)
    assert cost == 12 * 100.0 + 24 * 1.0 + 1.0


def test_accuracy_deltas_pair_cells_by_dataset_seed_and_variant_in_points():
    row = lambda ds, v, acc: {"dataset": ds, "seed": "0", "variant": v, "base": v.split("+")[0],  # noqa: E731
                              "prune": v.split("+")[1], "quant": v.split("+")[2], "accuracy": str(acc)}
    before = [row("mnist", "teacher+none+float32", 0.9894), row("mnist", "ta+none+qat", 0.98),
              row("cifar10", "teacher+none+float32", 0.7335)]
    after = [row("cifar10", "teacher+none+float32", 0.7245), row("mnist", "teacher+none+float32", 0.9899),
             row("mnist", "student-kd+none+float32", 0.97)]  # no partner: left out
    deltas = measure.accuracy_deltas(before, after)
    assert [(d["dataset"], d["variant"]) for d in deltas] == [("cifar10", "teacher+none+float32"),
                                                             ("mnist", "teacher+none+float32")]
    assert [round(d["delta_pp"], 6) for d in deltas] == [-0.9, 0.05]
    summary = measure.delta_summary(deltas)
    assert summary["cells"] == 2 and summary["within_half"] == 1 and summary["within_one"] == 2
    assert round(summary["max_abs"], 6) == 0.9 and round(summary["mean"], 6) == -0.425


def test_stage_totals_read_back_what_the_harness_wrote():
    rows = [{"section": "full_run", "name": "prune.total", "value": "5306.1"},
            {"section": "full_run", "name": "prune.mean", "value": "88.4"},
            {"section": "full_run", "name": "all.total", "value": "14392.7"},
            {"section": "startup", "name": "total", "value": "1131.3"}]
    assert measure.stage_totals(rows) == {"prune": 5306.1, "all": 14392.7}


def _run_dir(path: Path, prune_total: float, wall: float, teacher_acc: float) -> Path:
    path.mkdir(parents=True)
    (path / "benchmarks.csv").write_text(
        "section,name,value,unit,note\n"
        f"full_run,prune.total,{prune_total},s,\nfull_run,all.total,{prune_total},s,\nfull_run,wall,{wall},s,\n")
    (path / "results.csv").write_text("dataset,seed,variant,base,prune,quant,accuracy\n"
                                      f"mnist,0,teacher+none+float32,teacher,none,float32,{teacher_acc}\n")
    return path


def test_each_baseline_gets_its_own_before_after_table_and_csv_rows(tmp_path):
    first = _run_dir(tmp_path / "baseline-float32", 400.0, 1000.0, 0.99)
    second = _run_dir(tmp_path / "baseline-bf16", 300.0, 800.0, 0.985)
    results = _run_dir(tmp_path / "now", 0, 0, 0.98) / "results.csv"
    rep = measure.Report()
    for base in (first, second):
        measure.before_after(rep, base, tmp_path, {"prune": {"total_s": 200.0}}, 200.0, 400.0, results)
    md = "\n".join(rep.md)
    assert md.index("### Against `baseline-float32`") < md.index("### Against `baseline-bf16`")
    assert "| prune | 400.0 | 200.0 | 2.00× |" in md and "| prune | 300.0 | 200.0 | 1.50× |" in md
    assert "| **wall** | 1000.0 | 400.0 | 2.50× |" in md and "| **wall** | 800.0 | 400.0 | 2.00× |" in md
    rows = {(r[1]): (r[2], r[4]) for r in rep.rows}
    assert rows["baseline-float32.wall"] == ("400.0", "before 1000.0 s")
    assert rows["baseline-bf16.prune.job_seconds"] == ("200.0", "before 300.0 s")
    assert rows["baseline-bf16.mnist.accuracy_delta.mean"][0] == "-0.50"
    assert len(rows) == len(rep.rows)  # no name written twice


def test_seed_noise_summary_gives_mean_std_and_the_precision_difference():
    seed_noise = load_benchmark("seed_noise")
    rows = ["| cifar10 | student-scratch | float32 | 1 | 66.00 | 90 |",
            "| cifar10 | student-scratch | float32 | 0 | 64.00 | 91 |",
            "| cifar10 | student-scratch | mixed_bfloat16 | 0 | 64.50 | 80 |",
            "| cifar10 | student-scratch | mixed_bfloat16 | 1 | 65.50 | 81 |",
            "log lines are ignored"]
    text = seed_noise.summarize(rows)
    assert "| cifar10 | student-scratch | float32 | 2 | 65.00 | 1.41 |" in text
    assert "| cifar10 | student-scratch | mixed_bfloat16 | 2 | 65.00 | 0.71 |" in text
    assert "| cifar10 | student-scratch | +0.00 | 1.41 |" in text
    assert text.index("| float32 | 0 |") < text.index("| float32 | 1 |")  # runs sorted by seed

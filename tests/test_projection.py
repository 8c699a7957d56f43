"""The projection of a planned run's job floor from measured seconds (compressbench.projection),
and the ETA it gives a running Snakemake (compressbench.eta), on tiny numbers."""
import io
import logging
import os
import subprocess
from pathlib import Path

import pytest

from compressbench import eta, params as P, projection as J, rules as R

ROOT = Path(__file__).resolve().parents[1]
MACS = {"teacher": 1000, "student": 100}  # forward MACs per image


def tiny_cfg(teacher_epochs=2, bases=("teacher", "student-scratch")):
    raw = P.load_yaml(ROOT / "params.yaml")
    raw["seeds"], raw["derived"], raw["sensitivity"]["bases"] = [0], {}, []
    raw["matrix"] = {"datasets": ["mnist"], "bases": list(bases), "prune": ["none", "finetune"],
                     "cluster": ["none"], "quant": ["float32", "qat"]}
    raw["train"]["epochs"]["mnist"] |= {"teacher": teacher_epochs, "student-scratch": 1}
    raw["prune"]["fine_tune"]["epochs"] = 2
    raw["quantize"]["schemes"]["qat"]["epochs"] = 1
    return P.resolve(raw, files=())


def results_csv(macs=MACS) -> str:
    rows = [f"mnist,{b},none,float32,{macs[a]}" for b, a in (("teacher", "teacher"), ("student-scratch", "student"))
            if a in macs]
    return "dataset,base,prune,quant,macs\n" + "\n".join(rows) + "\n"


# The measured run (tiny_cfg()): per rule, jobs, total seconds, seconds inside epochs.
MEASURED = {"download": (1, 2, 0), "prepare": (1, 3, 0), "train_teacher": (1, 130, 120),
            "train_student_scratch": (1, 16, 6), "prune": (2, 60, 48), "convert": (4, 20, 0), "qat": (4, 48, 8),
            "latency": (12, 36, 0), "evaluate": (12, 12, 0), "report": (1, 5, 0)}
LATENCY_S = MEASURED["latency"][1]  # a latency job holds every core: counted once more on 2 cores


def benchmarks_csv(measured=MEASURED) -> str:
    lines = ["section,name,value,unit,note"]
    for rule, (jobs, total, epoch_s) in measured.items():
        lines += [f"full_run,{rule}.jobs,{jobs},jobs,", f"full_run,{rule}.total,{total},s,",
                  f"full_run,{rule}.epoch_s,{epoch_s},s,"]
    return "\n".join(lines) + "\n"


def test_the_tiny_plan_has_the_jobs_snakemake_plans_per_rule():
    counts = {}
    for job in J.planned_jobs(tiny_cfg()):
        counts[job.rule] = counts.get(job.rule, 0) + 1
    assert counts == {rule: jobs for rule, (jobs, _, _) in MEASURED.items()}


def test_the_default_plan_has_exactly_the_jobs_of_a_dry_run():
    env = {**os.environ, "PATH": f"{Path(os.sys.executable).parent}:{os.environ['PATH']}",
           "PYTHONPATH": str(ROOT / "src")}
    dry = subprocess.run(["snakemake", "-n", "--forceall", "--quiet", "rules"], cwd=ROOT, capture_output=True,
                         text=True, env=env)
    assert dry.returncode == 0, dry.stderr
    planned = {}
    for job in J.planned_jobs(P.load(ROOT / "params.yaml")):
        planned[job.rule] = planned.get(job.rule, 0) + 1
    snake = {r: n for r, n in R.planned_jobs(dry.stdout).items() if r in R.RULES}
    assert planned == snake


def test_each_job_costs_its_rules_other_seconds_plus_its_work_at_the_rules_rate():
    cfg = tiny_cfg()
    costs = J.from_benchmarks_csv(benchmarks_csv(), cfg, J.macs_of(results_csv(), cfg)).costs()
    # train_teacher: 10 s outside epochs; 120 s over 2 epochs x 60000 images x 1000 MACs
    assert costs["train_teacher"].other == pytest.approx(10)
    assert costs["train_teacher"].rate == pytest.approx(120 / (2 * 60000 * 1000))
    # prune: two fine-tunes of 2 epochs (teacher 1000, student 100 MACs): 48 s of epochs
    assert costs["prune"].rate == pytest.approx(48 / (2 * 60000 * 1100))
    rows = J.project(cfg, costs, J.macs_of(results_csv(), cfg))
    by = {(r.job.rule, r.job.wc.get("base")): r.seconds for r in rows}
    assert by[("prune", "teacher")] == pytest.approx(6 + 48 * 1000 / 1100)
    assert by[("prune", "student-scratch")] == pytest.approx(6 + 48 * 100 / 1100)
    # The measured plan projects to the measured job-seconds exactly.
    total = sum(t for _, t, _ in MEASURED.values())
    assert J.job_floor(rows, cores=2) == pytest.approx(total / 2)
    rows = J.project(cfg, costs, J.macs_of(results_csv(), cfg), threads=J.rule_threads(2))
    assert {r.threads for r in rows if r.job.rule == "latency"} == {2}
    assert J.job_floor(rows, cores=2) == pytest.approx((total + LATENCY_S) / 2)


def test_more_epochs_are_projected_from_the_per_epoch_seconds_not_guessed():
    measured_cfg, planned = tiny_cfg(), tiny_cfg(teacher_epochs=5)
    macs = J.macs_of(results_csv(), measured_cfg)
    costs = J.from_benchmarks_csv(benchmarks_csv(), measured_cfg, macs).costs()
    rows = J.project(planned, costs, macs)
    (teacher,) = [r for r in rows if r.job.rule == "train_teacher"]
    assert teacher.seconds == pytest.approx(10 + 5 * 60)  # 60 s per teacher epoch, measured over 2
    total = sum(t for _, t, _ in MEASURED.values()) + 3 * 60
    assert J.job_floor(rows, cores=1) == pytest.approx(total)
    text = J.render(planned, rows, 1, 240, "tiny")
    floor = f"Job floor: {total / 60:.1f} min of the 240-min budget ({100 * total / 60 / 240:.0f} %)."
    assert "| train_teacher" in text and floor in text


def test_a_model_or_rule_without_measurements_is_listed_unless_an_estimate_is_given():
    measured_cfg = tiny_cfg()
    macs = J.macs_of(results_csv(), measured_cfg)
    costs = J.from_benchmarks_csv(benchmarks_csv(), measured_cfg, macs).costs()
    del costs["report"]
    planned = tiny_cfg()
    no_macs = {k: v for k, v in macs.items() if k[1] != "student"}  # as if the student were a new model
    rows = J.project(planned, costs, no_macs)
    missing = [r for r in rows if r.seconds is None]
    assert {r.how for r in missing} == {"unmeasured: model mnist/student", "unmeasured: rule report"}
    assert [r.job.rule for r in missing if "student" in r.how] == ["train_student_scratch", "prune", "qat", "qat"]
    text = J.render(planned, rows, 2, 240, "tiny")
    assert "Not counted: 5 jobs without measurements (model mnist/student, rule report)" in text
    rows = J.project(planned, costs, no_macs, {"mnist/student": 7.0, "report": 4.0})
    assert all(r.seconds is not None for r in rows)
    (scratch,) = [r for r in rows if r.job.rule == "train_student_scratch"]
    assert (scratch.seconds, scratch.how) == (pytest.approx(10 + 1 * 7.0), "estimate")


def test_a_workspace_is_measured_job_by_job_with_a_rate_per_rule_and_model(tmp_path):
    cfg = tiny_cfg()
    # (rule, base) -> job seconds, per-epoch seconds; prune's student epochs cost more per MAC
    measured = {("train_teacher", "teacher"): (50.0, 20.0), ("prune", "teacher"): (30.0, 10.0),
                ("prune", "student-scratch"): (14.0, 5.0)}
    for job in J.planned_jobs(cfg):
        if (job.rule, job.wc.get("base")) in measured:
            secs, per_epoch = measured[(job.rule, job.wc["base"])]
            n = J.epochs(cfg, job)
            (tmp_path / job.benchmark).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / job.benchmark).write_text(f"s\th:m:s\tmax_rss\n{secs}\t0:00:50\t900\n")
            (tmp_path / R.RULES[job.rule].log.format(**job.wc)).write_text("".join(
                f"12:00:00 INFO x epoch {i}/{n} loss=0.1 ({per_epoch} s)\n" for i in range(1, n + 1)))
    macs = J.macs_of(results_csv(), cfg)
    costs = J.from_workspace(tmp_path, cfg, macs).costs()
    assert set(costs) == {"train_teacher", ("train_teacher", "mnist/teacher"), "prune", ("prune", "mnist/teacher"),
                          ("prune", "mnist/student")}
    assert costs["train_teacher"].other == pytest.approx(10)
    assert costs["train_teacher"].rate * 2 * 60000 * 1000 == pytest.approx(40)
    rows = {(r.job.rule, r.job.wc.get("base")): r for r in J.project(cfg, costs, macs)}
    assert rows[("prune", "student-scratch")].seconds == pytest.approx(14.0)  # its own rate, not the rule's
    assert rows[("prune", "student-scratch")].per_epoch == pytest.approx(5.0)
    assert rows[("prune", "teacher")].seconds == pytest.approx(30.0)
    assert rows[("qat", "teacher")].how == "unmeasured: rule qat"


def test_the_command_prints_the_table_and_refuses_a_measurement_of_other_jobs(tmp_path, capsys):
    cfg_file = tmp_path / "params.yaml"
    import yaml
    plain = tiny_cfg()
    for key in R.RESOLVED:  # the keys params.resolve adds
        plain.pop(key)
    cfg_file.write_text(yaml.safe_dump(plain))
    (tmp_path / "run").mkdir()
    (tmp_path / "run/benchmarks.csv").write_text(benchmarks_csv())
    (tmp_path / "run/results.csv").write_text(results_csv())
    (tmp_path / "run/params.yaml").write_text(yaml.safe_dump(plain))
    assert J.main(["--params", str(cfg_file), "--measured", str(tmp_path / "run"), "--cores", "2"]) == 0
    out = capsys.readouterr().out
    jobs, total = (sum(m[i] for m in MEASURED.values()) for i in (0, 1))
    # --cores 2: the latency jobs hold both cores
    assert f"Projection of the planned run ({jobs} jobs)" in out
    assert f"Job floor: {(total + LATENCY_S) / 2 / 60:.1f} min" in out
    wrong = dict(MEASURED, prune=(3, 60, 48))
    (tmp_path / "run/benchmarks.csv").write_text(benchmarks_csv(wrong))
    assert J.main(["--params", str(cfg_file), "--measured", str(tmp_path / "run")]) == 2
    assert "prune 3 measured, 2 in its params" in capsys.readouterr().err


def record(event, **extra):
    rec = logging.LogRecord("snakemake.logging", logging.INFO, "", 0, None, None, None)
    rec.__dict__.update(event=event, **extra)
    return rec


def test_the_eta_counts_the_jobs_left_less_the_running_ones_time(tmp_path):
    cfg = tiny_cfg()
    macs = J.macs_of(results_csv(), cfg)
    rows = J.project(cfg, J.from_benchmarks_csv(benchmarks_csv(), cfg, macs).costs(), macs,
                     threads=J.rule_threads(2))
    done = next(r.job for r in rows if r.job.rule == "download")  # ran before: its benchmark file is there
    (tmp_path / done.benchmark).parent.mkdir(parents=True)
    (tmp_path / done.benchmark).write_text("s\n2.0\n")
    now, out = [0.0], io.StringIO()
    from datetime import datetime
    handler = eta.Eta(rows, cores=2, source="tiny", root=tmp_path, stream=out, clock=lambda: now[0],
                      now=lambda: datetime(2026, 1, 1, 12, 0))
    total = sum(t for _, t, _ in MEASURED.values()) + LATENCY_S  # job-seconds x threads
    assert handler.left() == pytest.approx(total - 2)
    teacher = next(r.job for r in rows if r.job.rule == "train_teacher")
    handler.emit(record("job_info", jobid=7, rule_name="train_teacher", wildcards=teacher.wc))
    now[0] = 30.0
    handler.emit(record("progress", done=0, total=len(rows) - 1))  # the jobs not run before
    # 12:00 plus the wall seconds left on 2 cores, read as a clock shows it (the minute begun)
    assert out.getvalue() == f"ETA 12:{int((total - 2 - 30) / 2 // 60):02d} ({(total - 32) / 2 / 60:.1f} min: " \
                             f"{(total - 32) / 60:.1f} job-min left on 2 cores, projected from tiny)\n"
    handler.emit(record("job_finished", job_id=7))
    assert handler.left() == pytest.approx(total - 2 - 130)
    # Snakemake runs a part of the plan (a phase target): 12 of the pending jobs are left.
    handler.emit(record("progress", done=1, total=13))
    assert handler.left() == pytest.approx((total - 2 - 130) * 12 / (len(rows) - 2))


def test_a_snakemake_run_shows_an_eta_line_under_its_progress(tmp_path, mirror):
    from fixtures import new_repo
    from helpers import read_params, snakemake

    repo = new_repo(tmp_path / "repo", bases=("student-scratch",), prune=("none",), quant=("float32",))
    cfg = P.resolve(read_params(repo), files=())
    counts = {}
    for job in J.planned_jobs(cfg):
        counts[job.rule] = counts.get(job.rule, 0) + 1
    (repo / "reports/benchmarks.csv").write_text(  # a measured run of these params: 60 s a job
        benchmarks_csv({rule: (n, 60 * n, 0) for rule, n in counts.items()}))
    (repo / "reports/results.csv").write_text(results_csv())
    out = snakemake(repo, "--cores", "1", "data/prepared/mnist.npz", **mirror)
    etas = [l for l in (out.stdout + out.stderr).splitlines() if l.startswith("ETA ")]
    # After the download, 1 of the 2 jobs of this target is left: 60 s on 1 core.
    assert len(etas) == 1 and etas[0].endswith(
        "(1.0 min: 1.0 job-min left on 1 core, projected from reports/benchmarks.csv)"), etas

"""Both front ends on one workspace: running `snakemake` and then `dvc repro`, the
reverse, or the two interleaved after a param change never reruns a finished job,
never rewrites or damages an output, and ends where a clean run ends."""
import hashlib
import shutil
import subprocess
from types import SimpleNamespace

import pytest

from fixtures import new_repo
from compressbench import rules
from helpers import BIN, TIMING, change, dvc, env, planned_jobs, results, snakemake

pytestmark = pytest.mark.slow

# One trained model, one conversion job exporting two schemes, two evaluations, the report.
MATRIX = dict(bases=("student-scratch",), prune=("none",), quant=("float32", "ptq-int8"))
ROWS = 2
CALIBRATION = "quantize.schemes.ptq-int8.calibration_samples"  # tiny() sets 20
INT8 = "tflite/mnist/s0/f0/student-scratch/none/none/ptq-int8.tflite"
OUTPUTS = ("data", "models", "tflite", "metrics", "reports", "logs")


def snapshot(repo, dirs=OUTPUTS) -> dict:
    """Every output file -> (mtime, content hash): any rewrite or rerun changes it."""
    return {str(p.relative_to(repo)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
            for d in dirs for p in sorted((repo / d).rglob("*")) if p.is_file()}


def exports(repo) -> dict:
    """.tflite file -> content hash (the JSON records beside them hold wall times)."""
    return {path: digest for path, (_, digest) in snapshot(repo, ("tflite",)).items() if path.endswith(".tflite")}


def dvc_repro(repo, *targets, mirror) -> str:
    """`dvc repro`; DVC's stage lines and the job tables of the Snakemake inside, in order."""
    proc = subprocess.run([BIN / "dvc", "repro", *targets], cwd=repo, env=env(**mirror),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.returncode == 0, proc.stdout[-6000:]
    return proc.stdout


def stage_logs(out: str) -> dict[str, str]:
    """Stage -> what was printed while DVC ran it (stages it skipped are absent)."""
    parts = out.split("Running stage '")[1:]
    return {p.split("'", 1)[0]: p for p in parts}


def jobs_run(log: str) -> dict[str, int]:
    """The real jobs in a stage's log: a phase target with nothing in it (an empty
    phase: no TA in this matrix) is a no-op Snakemake always "executes"."""
    return {rule: n for rule, n in rules.planned_jobs(log).items() if not rule.startswith("phase_")}


def assert_up_to_date(repo, mirror):
    assert planned_jobs(repo, **mirror) == {}
    status = dvc(repo, "status").stdout
    assert "up to date" in status, status


def assert_outputs_valid(repo):
    from compressbench import evaluate, models
    keras_files = sorted((repo / "models").rglob("*.keras"))
    tflite_files = sorted((repo / "tflite").rglob("*.tflite"))
    assert len(keras_files) == 1 and len(tflite_files) == ROWS
    for path in keras_files:
        models.load(path)  # raises naming the file if truncated or not a model
    for path in tflite_files:
        evaluate.interpreter(path)
    rows = results(repo)
    assert len(rows) == ROWS and all(0 <= float(r["accuracy"]) <= 1 for r in rows)


def copy_workspace(src, dest):
    """The workspace with its .snakemake and .dvc state; file mtimes kept to the nanosecond."""
    return shutil.copytree(src, dest, symlinks=True)


@pytest.fixture(scope="module")
def snakemake_then_dvc(tmp_path_factory, mirror):
    repo = new_repo(tmp_path_factory.mktemp("snakemake-first"), **MATRIX)
    snakemake(repo, **mirror)
    before = snapshot(repo)
    dvc(repo, "init", "--no-scm", "-q")
    out = dvc_repro(repo, mirror=mirror)
    return SimpleNamespace(repo=repo, before=before, after=snapshot(repo), out=out)


@pytest.fixture(scope="module")
def dvc_then_snakemake(tmp_path_factory, mirror):
    repo = new_repo(tmp_path_factory.mktemp("dvc-first"), **MATRIX)
    dvc(repo, "init", "--no-scm", "-q")
    dvc_repro(repo, mirror=mirror)
    before, planned = snapshot(repo), planned_jobs(repo, **mirror)
    proc = snakemake(repo, **mirror)
    return SimpleNamespace(repo=repo, before=before, planned=planned, after=snapshot(repo),
                           out=proc.stdout + proc.stderr)


@pytest.fixture(scope="module")
def clean_run_with_new_param(tmp_path_factory, mirror):
    """What a plain `snakemake` run with the changed param produces: results (timing
    dropped) and the .tflite files, which TFLite's converter writes byte for byte alike."""
    repo = new_repo(tmp_path_factory.mktemp("clean"), **MATRIX)
    change(repo, CALIBRATION, 10)
    snakemake(repo, **mirror)
    return SimpleNamespace(rows=results(repo, drop=TIMING), tflite=exports(repo))


def assert_ends_like(repo, clean, old_tflite):
    new_tflite = exports(repo)
    assert new_tflite == clean.tflite
    changed = {p for p in new_tflite if new_tflite[p] != old_tflite[p]}
    assert changed == {INT8}  # the param mattered: a stale export would have been caught
    assert results(repo, drop=TIMING) == clean.rows


def test_dvc_repro_after_snakemake_reruns_no_job_and_leaves_every_output_untouched(snakemake_then_dvc, mirror):
    run = snakemake_then_dvc
    logs = stage_logs(run.out)
    # No dvc.lock yet, so DVC runs every stage, but the Snakemake inside each finds its jobs done.
    assert list(logs) == [rules.FINGERPRINT_STAGE, *rules.PHASES]
    assert {"models/train_baseline/mnist/s0/student-scratch.keras", INT8, "reports/results.csv"} <= set(run.before)
    for stage, log in logs.items():
        assert jobs_run(log) == {}, (stage, log[-2000:])
    assert run.after == run.before  # no model retrained, nothing rewritten, results.csv identical
    assert_outputs_valid(run.repo)
    assert_up_to_date(run.repo, mirror)


def test_snakemake_after_dvc_repro_has_nothing_to_do_and_leaves_every_output_untouched(dvc_then_snakemake, mirror):
    run = dvc_then_snakemake
    assert run.planned == {}
    assert "Nothing to be done" in run.out
    assert run.after == run.before
    assert_outputs_valid(run.repo)
    assert_up_to_date(run.repo, mirror)  # DVC still sees the outputs it recorded


def test_both_front_ends_give_the_same_results(snakemake_then_dvc, dvc_then_snakemake):
    ours, theirs = (results(r.repo, drop=TIMING) for r in (snakemake_then_dvc, dvc_then_snakemake))
    assert len(ours) == ROWS and ours == theirs


def test_param_change_dvc_repro_one_stage_then_snakemake_the_rest_ends_like_a_clean_run(
        snakemake_then_dvc, clean_run_with_new_param, tmp_path, mirror):
    repo = copy_workspace(snakemake_then_dvc.repo, tmp_path / "ws")
    models_before, old_tflite = snapshot(repo, ("data", "models")), exports(repo)
    change(repo, CALIBRATION, 10)
    status = dvc(repo, "status").stdout
    assert "quantize:" in status and "train_baseline:" not in status, status
    logs = stage_logs(dvc_repro(repo, "quantize", mirror=mirror))
    assert list(logs) == ["quantize"]  # the upstream stages did not change
    assert rules.planned_jobs(logs["quantize"]) == {"convert": 1, "phase_quantize": 1}
    # Snakemake picks up after DVC: the new exports' evaluations and the report, nothing before.
    assert planned_jobs(repo, **mirror) == {"all": 1, "latency": 1, "evaluate": 1, "report": 1}
    snakemake(repo, **mirror)
    assert_ends_like(repo, clean_run_with_new_param, old_tflite)
    # DVC then records what Snakemake made without redoing any of it.
    done = snapshot(repo)
    logs = stage_logs(dvc_repro(repo, mirror=mirror))
    assert set(logs) == {"evaluate", "report"}
    for stage, log in logs.items():
        assert jobs_run(log) == {}, (stage, log[-2000:])
    assert snapshot(repo) == done
    assert snapshot(repo, ("data", "models")) == models_before  # nothing retrained
    assert_outputs_valid(repo)
    assert_up_to_date(repo, mirror)


def test_param_change_snakemake_one_phase_then_dvc_repro_the_rest_ends_like_a_clean_run(
        dvc_then_snakemake, clean_run_with_new_param, tmp_path, mirror):
    repo = copy_workspace(dvc_then_snakemake.repo, tmp_path / "ws")
    models_before, old_tflite = snapshot(repo, ("data", "models")), exports(repo)
    change(repo, CALIBRATION, 10)
    assert planned_jobs(repo, "phase_quantize", **mirror) == {"convert": 1, "phase_quantize": 1}
    snakemake(repo, "phase_quantize", **mirror)
    exported = snapshot(repo, ("tflite",))
    logs = stage_logs(dvc_repro(repo, mirror=mirror))
    # DVC reruns the quantize stage (its params changed) but its Snakemake finds the
    # exports done; evaluate and report run only what the new exports need.
    assert list(logs) == ["quantize", "evaluate", "report"]
    assert jobs_run(logs["quantize"]) == {}, logs["quantize"][-2000:]
    assert rules.planned_jobs(logs["evaluate"]) == {"evaluate": 1, "latency": 1, "phase_evaluate": 1}
    assert rules.planned_jobs(logs["report"]) == {"phase_report": 1, "report": 1}
    assert snapshot(repo, ("tflite",)) == exported
    assert snapshot(repo, ("data", "models")) == models_before
    assert_ends_like(repo, clean_run_with_new_param, old_tflite)
    assert_outputs_valid(repo)
    assert_up_to_date(repo, mirror)

"""Faults a real run meets: a job killed midway, damaged inputs, reruns, several seeds."""
import os
import shutil
import signal
import subprocess
import time

import pytest

from fixtures import new_repo
from helpers import BIN, copy_repo, env, planned_jobs, read_params, results, snakemake, write_params

pytestmark = pytest.mark.slow


def test_training_killed_midway_leaves_no_model_and_the_rerun_completes(tmp_path, mirror):
    repo = new_repo(tmp_path, bases=("teacher",), prune=("none",), quant=("float32",))
    cfg = read_params(repo)
    cfg["train"]["epochs"]["mnist"]["teacher"] = 400
    write_params(repo, cfg)
    log = repo / "logs/train_baseline/mnist/s0/teacher.log"
    proc = subprocess.Popen([BIN / "snakemake", "--cores", "2"], cwd=repo, env=env(**mirror),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while not (log.exists() and "epoch 3/" in log.read_text()):
        assert proc.poll() is None and time.time() < deadline, "training never got going"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # snakemake and its job, mid-epoch
    proc.wait()
    stem = repo / "models/baseline/mnist/s0/teacher"
    assert not any(stem.with_suffix(s).exists() for s in (".keras", ".json"))
    cfg["train"]["epochs"]["mnist"]["teacher"] = 2
    write_params(repo, cfg)
    snakemake(repo, "--unlock")  # a killed Snakemake leaves its lock behind
    snakemake(repo, **mirror)  # the profile's rerun-incomplete takes over the killed job
    assert len(results(repo)) == 1
    assert planned_jobs(repo, **mirror) == {}


def test_a_corrupted_model_or_tflite_input_fails_naming_the_file(tmp_path, mirror):
    repo = new_repo(tmp_path, bases=("student-scratch",), prune=("none", "local-all"), quant=("float32",))
    snakemake(repo, **mirror)
    tfl = "tflite/mnist/s0/student-scratch+local-all+float32.tflite"
    (repo / tfl).write_bytes(b"\0" * 64)
    proc = snakemake(repo, "--allowed-rules", "evaluate", "--",
                     "metrics/mnist/s0/student-scratch+local-all+float32.json", check=False, **mirror)
    assert proc.returncode != 0
    assert f"{tfl}: not a valid .tflite model" in proc.stderr + proc.stdout
    model = "models/baseline/mnist/s0/student-scratch.keras"
    (repo / model).write_bytes((repo / model).read_bytes()[:200])  # truncated
    proc = snakemake(repo, "--allowed-rules", "prune", "phase_prune", "--", "phase_prune",
                     check=False, **mirror)
    assert proc.returncode != 0
    assert f"{model}: not a readable Keras model" in proc.stderr + proc.stdout


def test_same_params_and_seed_give_identical_results(tmp_path, mirror):
    runs = []
    for name in ("a", "b"):
        repo = new_repo(tmp_path / name, bases=("teacher", "student-kd"), prune=("none", "global"),
                        quant=("float32", "ptq-int8", "qat"))
        snakemake(repo, **mirror)
        # Stopwatch readings (latency, job wall time) are the only columns that cannot repeat.
        runs.append(results(repo, drop=("latency_ms", "wall_seconds")))
    assert len(runs[0]) == 12 and runs[0] == runs[1]


def test_several_seeds_keep_per_seed_rows_and_report_mean_and_std(tmp_path, mirror):
    repo = new_repo(tmp_path, bases=("student-scratch",), prune=("none",), quant=("float32",))
    cfg = read_params(repo)
    cfg["seeds"] = [0, 1]
    write_params(repo, cfg)
    snakemake(repo, **mirror)
    rows = results(repo)
    assert sorted(r["seed"] for r in rows) == ["0", "1"]
    assert all((repo / f"metrics/mnist/s{s}/student-scratch+none+float32.json").exists() for s in (0, 1))
    assert "±" in (repo / "reports/report.md").read_text()


def test_dvc_remote_push_then_pull_into_a_fresh_copy_restores_outputs_without_rerunning(tmp_path, mirror):
    repo = new_repo(tmp_path / "origin", bases=("student-scratch",), prune=("none",), quant=("float32",))
    from helpers import dvc
    dvc(repo, "init", "--no-scm", "-q")
    dvc(repo, "remote", "add", "-d", "shared", str(tmp_path / "remote"))
    dvc(repo, "repro", **mirror)
    dvc(repo, "push", "-q")
    fresh = copy_repo(tmp_path / "fresh")  # what a clone has: code, params, dvc.yaml ...
    write_params(fresh, read_params(repo))
    shutil.copytree(repo / "reports", fresh / "reports", dirs_exist_ok=True)  # committed to git
    for name in ("dvc.lock", ".dvc/config"):
        (fresh / name).parent.mkdir(parents=True, exist_ok=True)
        (fresh / name).write_text((repo / name).read_text())
    dvc(fresh, "pull", "-q")
    for path in ("models/baseline/mnist/s0/student-scratch.keras", "tflite/mnist/s0/student-scratch+none+float32.tflite",
                 "metrics/mnist/s0/student-scratch+none+float32.json"):
        assert (fresh / path).read_bytes() == (repo / path).read_bytes()
    assert "up to date" in dvc(fresh, "status").stdout

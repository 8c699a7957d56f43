"""The fault matrix: every way a run can meet bad input, a damaged artefact or
an interruption, one test per case, each checking the message a user sees and
that nothing partial is left behind; then reruns, several seeds and a remote.
Bad parameters first: each front end refuses them before any job (the cases, and
the validation they exercise, are in tests/test_params.py). Add a case with every
new input or param kind."""
import copy
import json
import os
import shutil
import signal
import subprocess
import threading
import time

import pytest
import yaml

from compressbench import params
from fixtures import new_repo
from helpers import BIN, copy_repo, dvc, env, planned_jobs, read_params, results, snakemake, write_params
from test_params import CASES, FRONTEND_CASES, alias_bomb

pytestmark = pytest.mark.slow

# What TensorFlow's C++ side and absl print at start-up: job logs only, never the terminal.
TF_NOISE = ("cuInit", "remapper failed", "absl::InitializeLog", "oneDNN custom operations", "cudart_stub")
SMALL = dict(bases=("student-scratch",), prune=("none",), quant=("float32",))


def assert_user_facing(out: str, *fragments: str) -> None:
    """One line per problem on the terminal, naming it; no traceback, no TensorFlow noise."""
    for fragment in fragments:
        assert fragment in out, (fragment, out[-3000:])
    assert "Traceback" not in out, out[-3000:]
    assert not any(n in out for n in TF_NOISE), out[-3000:]


def leftovers(repo) -> list[str]:
    """Temporary files of interrupted writes (io.atomic_path names them .<name>.*; Snakemake's
    .snakemake_timestamp marks a finished directory output)."""
    return [str(p) for d in ("data", "models", "tflite", "metrics", "reports") if (repo / d).exists()
            for p in (repo / d).rglob(".*") if p.is_file() and p.name != ".snakemake_timestamp"]


# ---- bad parameters: refused by both front ends before any job ----------------------

@pytest.fixture(scope="module")
def default_cfg():
    return params.load_yaml(params.ROOT / "params.yaml")


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return copy_repo(tmp_path_factory.mktemp("repo"))


def refused_before_any_job(repo, cfg: dict, front, *fragments) -> None:
    """`front(repo)` with `cfg` as params.yaml fails, its terminal naming every fragment in
    one message (no traceback, nor Snakemake's frame lines), and no data or model exists."""
    (repo / "params.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = front(repo)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert_user_facing(out, *fragments)
    assert 'File "' not in out, out[-2000:]
    assert not (repo / "data" / "raw").exists() and not (repo / "models").exists()


def mutated(cfg: dict, mutate) -> dict:
    cfg = copy.deepcopy(cfg)
    mutate(cfg)
    return cfg


@pytest.mark.parametrize("case,mutate,fragments", FRONTEND_CASES, ids=[c[0] for c in FRONTEND_CASES])
def test_snakemake_stops_on_invalid_params_before_any_job(repo, default_cfg, case, mutate, fragments):
    refused_before_any_job(repo, mutated(default_cfg, mutate), lambda r: snakemake(r, check=False), *fragments)


def test_snakemake_refuses_an_alias_bomb_at_once_naming_the_key(repo):
    (repo / "params.yaml").write_text(alias_bomb())
    start = time.perf_counter()
    proc = snakemake(repo, "-n", check=False)
    assert proc.returncode != 0 and time.perf_counter() - start < 60
    assert_user_facing(proc.stdout + proc.stderr, "params.yaml: seeds[", "more than 100000 YAML nodes")
    assert not (repo / "data").exists() and not (repo / "models").exists()


@pytest.mark.parametrize("case", ["misspelt pruning scheme", "alpha above one", "unknown top-level key"])
def test_dvc_repro_stops_on_invalid_params_before_any_job(tmp_path, default_cfg, case):
    repo = copy_repo(tmp_path)
    dvc(repo, "init", "--no-scm", "-q")
    _, mutate, fragments = next(c for c in CASES if c[0] == case)
    refused_before_any_job(repo, mutated(default_cfg, mutate), lambda r: dvc(r, "repro", check=False), *fragments)


# ---- bad data, damaged artefacts -------------------------------------------------------

@pytest.fixture(scope="module")
def done(tmp_path_factory, mirror):
    """A finished tiny run and what its terminal showed."""
    repo = new_repo(tmp_path_factory.mktemp("done"), **SMALL)
    proc = snakemake(repo, **mirror)
    return repo, proc.stdout + proc.stderr


def damaged_copy(done, tmp_path, path: str, damage) -> object:
    repo = shutil.copytree(done[0], tmp_path / "ws", symlinks=True)
    target = repo / path
    target.write_bytes(damage(target.read_bytes()))
    return repo


def flip_last_byte(blob: bytes) -> bytes:
    return blob[:-1] + bytes([blob[-1] ^ 1])


# ---- a healthy run ------------------------------------------------------------------

def test_a_healthy_run_shows_progress_and_no_tensorflow_noise(done):
    repo, out = done
    assert "steps (100%) done" in out and "epoch 1/1" in out  # Snakemake's progress, the jobs' own lines
    assert_user_facing(out)
    log = (repo / "logs/train_baseline/train_student_scratch/mnist/s0/student-scratch.log").read_text()
    assert any(n in log for n in TF_NOISE)  # it is kept, in the job's log


# ---- damaged artefacts: every job checks what it loads ---------------------------------

def test_a_truncated_prepared_dataset_fails_naming_the_file_and_the_rebuild(done, tmp_path, mirror):
    repo = damaged_copy(done, tmp_path, "data/prepared/mnist.npz", lambda b: b[:len(b) // 2])
    proc = snakemake(repo, check=False, **mirror)
    assert proc.returncode != 0
    assert_user_facing(proc.stdout + proc.stderr, "error in train_student_scratch",
                       "data/prepared/mnist.npz: not a readable prepared dataset",
                       "rebuild it with: snakemake --forcerun prepare")
    assert not (repo / "models/train_baseline/mnist/s0/student-scratch.keras").exists()
    assert leftovers(repo) == []


def test_a_changed_tflite_fails_its_evaluation_naming_the_file(done, tmp_path, mirror):
    tfl = "tflite/mnist/s0/f0/student-scratch+none+float32.tflite"
    repo = damaged_copy(done, tmp_path, tfl, flip_last_byte)
    proc = snakemake(repo, check=False, **mirror)
    assert proc.returncode != 0
    assert_user_facing(proc.stdout + proc.stderr, "error in evaluate",
                       f"{tfl}: content differs from the sha256 in student-scratch+none+float32.json",
                       f"snakemake --force {tfl}")
    assert not (repo / "metrics/mnist/s0/f0/student-scratch+none+float32.json").exists()


def test_a_truncated_model_fails_its_conversion_naming_the_file(done, tmp_path, mirror):
    model = "models/train_baseline/mnist/s0/student-scratch.keras"
    repo = damaged_copy(done, tmp_path, model, lambda b: b[:200])
    proc = snakemake(repo, check=False, **mirror)
    assert proc.returncode != 0
    assert_user_facing(proc.stdout + proc.stderr, "error in convert", f"{model}: content differs from the sha256")
    assert leftovers(repo) == []


# ---- bad data: a missing mirror file or folder, a checksum mismatch --------------------------------

def test_a_missing_mirror_file_fails_listing_every_source_tried(tmp_path, mirror):
    folder = shutil.copytree(mirror["COMPRESSBENCH_MIRROR"], tmp_path / "mirror")
    (folder / "mnist/t10k-labels-idx1-ubyte.gz").unlink()
    repo = new_repo(tmp_path / "repo", **SMALL)
    proc = snakemake(repo, "phase_download", check=False, **{**mirror, "COMPRESSBENCH_MIRROR": folder})
    assert proc.returncode != 0
    assert_user_facing(proc.stdout + proc.stderr, "error in download",
                       "could not obtain a verified t10k-labels-idx1-ubyte.gz; sources tried:")
    assert not (repo / "data/raw/mnist/t10k-labels-idx1-ubyte.gz").exists() and leftovers(repo) == []


def test_a_missing_mirror_folder_fails_in_one_line_naming_it(tmp_path, mirror):
    repo = new_repo(tmp_path / "repo", **SMALL)
    cfg = read_params(repo)
    cfg["data"]["sources"]["mnist"] = ["https://unreachable.invalid/"]  # never tried: the folder comes first
    write_params(repo, cfg)
    proc = snakemake(repo, "phase_download", check=False, **{**mirror, "COMPRESSBENCH_MIRROR": tmp_path / "gone"})
    assert proc.returncode != 0
    [line] = [l for l in proc.stderr.splitlines() if l.startswith("error in download")]
    assert line == (f"error in download [dataset=mnist]: mirror folder {tmp_path / 'gone'} does not exist "
                    "(COMPRESSBENCH_MIRROR or data.mirror); allowed: a folder laid out as <folder>/<dataset>/<file>, "
                    "or unset")
    assert "unreachable.invalid" not in proc.stderr and leftovers(repo) == []


def test_a_checksum_mismatch_fails_naming_the_file_and_keeps_nothing_unverified(tmp_path, mirror):
    sums = json.loads(mirror["COMPRESSBENCH_CHECKSUMS"].read_text())
    sums["mnist"]["train-labels-idx1-ubyte.gz"] = "0" * 32
    (tmp_path / "sums.json").write_text(json.dumps(sums))
    repo = new_repo(tmp_path / "repo", **SMALL)
    proc = snakemake(repo, "phase_download", check=False,
                     **{**mirror, "COMPRESSBENCH_CHECKSUMS": tmp_path / "sums.json"})
    assert proc.returncode != 0
    assert_user_facing(proc.stdout + proc.stderr, "train-labels-idx1-ubyte.gz", "md5 mismatch")
    assert not (repo / "data/raw/mnist/train-labels-idx1-ubyte.gz").exists() and leftovers(repo) == []


# ---- interruptions -------------------------------------------------------------------------

def long_training(tmp_path):
    """A repo whose one training lasts minutes, whatever the CPU: 400 epochs of one image
    per step (the tiny split's 9 batches of 32 per epoch take a few seconds for all 400,
    less than a second front end's start-up on a loaded machine)."""
    repo = new_repo(tmp_path, bases=("teacher",), prune=("none",), quant=("float32",))
    cfg = read_params(repo)
    cfg["train"]["epochs"]["mnist"]["teacher"] = 400
    cfg["train"]["batch_size"] = 1
    write_params(repo, cfg)
    return repo, cfg


class Running:
    """A front end started in its own session, its output collected as it comes."""

    def __init__(self, args, repo, mirror):
        # As from a terminal: a shell without job control (CI, `cmd &`) starts its background
        # commands with SIGINT ignored, and Python then never turns it into KeyboardInterrupt.
        self.proc = subprocess.Popen(args, cwd=repo, env=env(**mirror), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, start_new_session=True,
                                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.lines = []
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True)
        self.reader.start()

    def wait_for(self, text, seconds=300):
        deadline = time.time() + seconds
        while not any(text in line for line in self.lines):
            assert self.proc.poll() is None and time.time() < deadline, "".join(self.lines)[-3000:]
            time.sleep(0.2)

    def interrupt(self, sig=signal.SIGINT) -> str:
        """`sig` to the whole process group (what Ctrl-C sends, and `kill -TERM -<pgid>`), then wait
        until every process of the group has exited: DVC has no SIGTERM handler and dies at once,
        while the Snakemake under it is still cleaning up."""
        os.killpg(self.proc.pid, sig)
        self.proc.wait(timeout=120)
        deadline = time.time() + 120
        while True:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                break
            assert time.time() < deadline, "processes of the interrupted run still alive after 120 s"
            time.sleep(0.2)
        self.reader.join(timeout=30)
        assert not self.reader.is_alive(), "the interrupted run's output never ended"
        return "".join(self.lines)


def assert_stopped_cleanly(repo, out):
    assert "Traceback" not in out and "Cannot close a running event loop" not in out, out[-3000:]
    stem = repo / "models/train_baseline/mnist/s0/teacher"
    assert not any(stem.with_suffix(s).exists() for s in (".keras", ".json")) and leftovers(repo) == []


def interrupted_then_rerun(tmp_path, mirror, sig, command: list) -> object:
    """A long training started with `command`, stopped by `sig` mid-epoch (checked clean),
    then made short: the repo, for the same command to finish."""
    repo, cfg = long_training(tmp_path)
    if command[0] == "dvc":
        dvc(repo, "init", "--no-scm", "-q")
    run = Running([BIN / command[0], *command[1:]], repo, mirror)
    run.wait_for("epoch 3/")
    out = run.interrupt(sig)
    assert run.proc.returncode != 0
    assert_stopped_cleanly(repo, out)
    cfg["train"]["epochs"]["mnist"]["teacher"] = 1
    write_params(repo, cfg)
    return repo


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_snakemake_stops_cleanly_and_the_next_run_finishes(tmp_path, mirror, sig):
    repo = interrupted_then_rerun(tmp_path, mirror, sig, ["snakemake", "--cores", "2"])
    snakemake(repo, **mirror)
    assert len(results(repo)) == 1 and planned_jobs(repo, **mirror) == {}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_dvc_repro_stops_cleanly_and_the_next_repro_finishes(tmp_path, mirror, sig):
    repo = interrupted_then_rerun(tmp_path, mirror, sig, ["dvc", "repro"])
    dvc(repo, "repro", **mirror)
    assert len(results(repo)) == 1 and "up to date" in dvc(repo, "status").stdout


def test_snakemake_refuses_to_start_while_dvc_repro_runs_and_vice_versa(tmp_path, mirror):
    repo, _ = long_training(tmp_path)
    dvc(repo, "init", "--no-scm", "-q")
    run = Running([BIN / "dvc", "repro"], repo, mirror)
    run.wait_for("epoch 3/")
    second = snakemake(repo, check=False, **mirror)
    assert second.returncode != 0 and "is running in this workspace (.dvc/tmp/rwlock)" in second.stderr + second.stdout
    run.interrupt()
    run = Running([BIN / "snakemake", "--cores", "2"], repo, mirror)
    run.wait_for("epoch 3/")
    second = dvc(repo, "repro", check=False, **mirror)
    assert second.returncode != 0 and "Directory cannot be locked" in second.stderr + second.stdout
    run.interrupt()


def test_training_killed_midway_leaves_no_model_and_the_rerun_completes(tmp_path, mirror):
    repo = new_repo(tmp_path, bases=("teacher",), prune=("none",), quant=("float32",))
    cfg = read_params(repo)
    cfg["train"]["epochs"]["mnist"]["teacher"] = 400
    write_params(repo, cfg)
    log = repo / "logs/train_baseline/train_teacher/mnist/s0/teacher.log"
    proc = subprocess.Popen([BIN / "snakemake", "--cores", "2"], cwd=repo, env=env(**mirror),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while not (log.exists() and "epoch 3/" in log.read_text()):
        assert proc.poll() is None and time.time() < deadline, "training never got going"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # snakemake and its job, mid-epoch
    proc.wait()
    stem = repo / "models/train_baseline/mnist/s0/teacher"
    assert not any(stem.with_suffix(s).exists() for s in (".keras", ".json"))
    cfg["train"]["epochs"]["mnist"]["teacher"] = 2
    write_params(repo, cfg)
    snakemake(repo, "--unlock")  # a killed Snakemake leaves its lock behind
    snakemake(repo, **mirror)  # the profile's rerun-incomplete takes over the killed job
    assert len(results(repo)) == 1
    assert planned_jobs(repo, **mirror) == {}


def test_same_params_and_seed_give_identical_results(tmp_path, mirror):
    runs = []
    for name in ("a", "b"):
        repo = new_repo(tmp_path / name, bases=("teacher", "student-kd"), prune=("none", "global"),
                        quant=("float32", "ptq-int8", "qat"))
        snakemake(repo, **mirror)
        # Stopwatch readings (latency, job wall time) are the only columns that cannot repeat.
        runs.append(results(repo, drop=("latency_ms", "wall_seconds")))
    assert len(runs[0]) == 16 and runs[0] == runs[1]  # 2 bases x 2 prunings x 4 exports (qat: two)


def test_several_seeds_keep_per_seed_rows_and_report_mean_and_std(tmp_path, mirror):
    repo = new_repo(tmp_path, bases=("student-scratch",), prune=("none",), quant=("float32",))
    cfg = read_params(repo)
    cfg["seeds"] = [0, 1]
    write_params(repo, cfg)
    snakemake(repo, **mirror)
    rows = results(repo)
    assert sorted(r["seed"] for r in rows) == ["0", "1"]
    assert all((repo / f"metrics/mnist/s{s}/f0/student-scratch+none+float32.json").exists() for s in (0, 1))
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
    for path in ("models/train_baseline/mnist/s0/student-scratch.keras", "tflite/mnist/s0/f0/student-scratch+none+float32.tflite",
                 "metrics/mnist/s0/f0/student-scratch+none+float32.json"):
        assert (fresh / path).read_bytes() == (repo / path).read_bytes()
    assert "up to date" in dvc(fresh, "status").stdout

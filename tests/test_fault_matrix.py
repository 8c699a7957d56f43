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

from compressbench import io, params, rules
from fixtures import new_repo
from helpers import BIN, TIMING, copy_repo, dvc, env, planned_jobs, read_params, results, run, snakemake, write_params
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
    """Temporary files of interrupted writes (io.atomic_path names them .<name>.partial-*; Snakemake's
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
    assert not (repo / "data" / "raw").exists() and not (repo / "models").exists()  # data/local ships with the code


@pytest.mark.parametrize("how", ["--config", "--configfile"])
def test_snakemake_refuses_an_alias_bomb_given_on_the_command_line_at_once(tmp_path, how):
    repo = copy_repo(tmp_path / "repo")  # valid params.yaml: the bomb comes from the command line
    levels = ["&a0 [0, 0, 0, 0, 0, 0, 0, 0, 0]"] + [f"&a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    bomb = f"[{', '.join(levels)}]"
    (tmp_path / "bomb.yaml").write_text(f"seeds: {bomb}\n")
    args = ["--config", f"seeds={bomb}"] if how == "--config" else ["--configfile", str(tmp_path / "bomb.yaml")]
    start = time.perf_counter()
    proc = snakemake(repo, "-n", *args, check=False)
    assert proc.returncode != 0 and time.perf_counter() - start < 60
    where = "--config seeds[" if how == "--config" else "bomb.yaml: seeds["
    assert_user_facing(proc.stdout + proc.stderr, where, "more than 100000 YAML nodes")
    assert len((proc.stdout + proc.stderr).splitlines()) < 10


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
                       "rebuild it with: snakemake --cores 1 --force data/prepared/mnist.npz")
    assert not (repo / "models/train_baseline/mnist/s0/student-scratch.keras").exists()
    assert leftovers(repo) == []


def test_a_changed_tflite_fails_its_evaluation_naming_the_file(done, tmp_path, mirror):
    tfl = "tflite/mnist/s0/f0/student-scratch/none/none/float32.tflite"
    repo = damaged_copy(done, tmp_path, tfl, flip_last_byte)
    proc = snakemake(repo, check=False, **mirror)
    assert proc.returncode != 0
    # The latency job reads the .tflite first (the evaluation waits for it); both verify it.
    assert_user_facing(proc.stdout + proc.stderr, "error in latency",
                       f"{tfl}: content differs from the sha256 in float32.json",  # its record, beside it
                       f"snakemake --cores 1 --force {tfl}")
    assert not (repo / "metrics/latency/mnist/s0/f0/student-scratch/none/none/float32.json").exists()
    metrics = "metrics/mnist/s0/f0/student-scratch/none/none/float32.json"  # never rewritten from the changed file
    assert (repo / metrics).read_bytes() == (done[0] / metrics).read_bytes()


@pytest.mark.parametrize("target,rule", [("data/prepared/mnist.npz", "prepare"),
                                         ("tflite/mnist/s0/f0/student-scratch/none/none/float32.tflite", "convert")])
def test_the_rebuild_hint_pasted_as_written_plans_exactly_the_one_job(done, target, rule, mirror):
    hint = ["--cores", "1", "--force", target]  # what io.rebuild_command prints after `snakemake`
    assert io.rebuild_command(target) == "snakemake " + " ".join(hint)
    proc = run([BIN / "snakemake", "-n", "--quiet", "rules", *hint], done[0], **mirror)
    assert rules.planned_jobs(proc.stdout) == {rule: 1}


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
        runs.append(results(repo, drop=TIMING))
    assert len(runs[0]) == 16 and runs[0] == runs[1]  # 2 bases x 2 prunings x 4 exports (qat: two)


def test_several_seeds_keep_per_seed_rows_and_report_mean_and_std(tmp_path, mirror):
    repo = new_repo(tmp_path, bases=("student-scratch",), prune=("none",), quant=("float32",))
    cfg = read_params(repo)
    cfg["seeds"] = [0, 1]
    write_params(repo, cfg)
    snakemake(repo, **mirror)
    rows = results(repo)
    assert sorted(r["seed"] for r in rows) == ["0", "1"]
    assert all((repo / f"metrics/mnist/s{s}/f0/student-scratch/none/none/float32.json").exists() for s in (0, 1))
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
    for path in ("models/train_baseline/mnist/s0/student-scratch.keras", "tflite/mnist/s0/f0/student-scratch/none/none/float32.tflite",
                 "metrics/mnist/s0/f0/student-scratch/none/none/float32.json"):
        assert (fresh / path).read_bytes() == (repo / path).read_bytes()
    assert "up to date" in dvc(fresh, "status").stdout


# ---- kills mid-write: nothing partial survives, nothing partial is recorded ----------------

WRITER = """
import sys, time
from compressbench import io, runner
runner.handle_interruptions()  # as every job has it from its first import
with io.atomic_path(sys.argv[1]) as tmp:
    with open(tmp, "wb") as f:
        f.write(b"partial" * 100000)
        f.flush()
        print("writing", flush=True)
        time.sleep(600)
"""


def writing(repo, target: str) -> subprocess.Popen:
    """A process writing `target` as every job writes (io.atomic_path), stopped mid-write."""
    proc = subprocess.Popen([BIN / "python", "-c", WRITER, target], cwd=repo, env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "writing\n", proc.stderr.read()
    return proc


def test_a_job_killed_mid_write_by_sigterm_or_sigkill_leaves_nothing_in_the_tree_or_dvc_lock(done, tmp_path, mirror):
    repo = shutil.copytree(done[0], tmp_path / "ws", symlinks=True)
    dvc(repo, "init", "--no-scm", "-q")
    data = repo / "data/prepared/mnist.npz"
    before = data.read_bytes()
    term = writing(repo, "data/prepared/mnist.npz")
    term.send_signal(signal.SIGTERM)
    assert term.wait(timeout=30) == 128 + signal.SIGTERM and "Traceback" not in term.stderr.read()
    assert leftovers(repo) == [] and data.read_bytes() == before  # removed by the handler, target untouched
    model = "models/train_baseline/mnist/s0/student-scratch.keras"
    kill = writing(repo, model)
    kill.kill()
    kill.wait()
    assert len(leftovers(repo)) == 1  # SIGKILL runs no handler: the next run's sweep removes it
    (repo / "data/prepared/.cifar10.npz.partial-elsewhere-1-x.npz").write_bytes(b"from another host")
    dvc(repo, "repro", **mirror)  # every stage's Snakemake sweeps first; DVC ignores what is left
    assert [p.rsplit("/", 1)[-1] for p in leftovers(repo)] == [".cifar10.npz.partial-elsewhere-1-x.npz"]
    lock = (repo / "dvc.lock").read_text()
    assert ".partial-" not in lock
    prepared = next(o for s in yaml.safe_load(lock)["stages"].values() for o in s.get("outs", [])
                    if o["path"] == "data/prepared")
    assert prepared["nfiles"] == len([p for p in (repo / "data/prepared").iterdir() if ".partial-" not in p.name])


# ---- the launcher (make run): SIGTERM and Ctrl-C end the running jobs within seconds ---------

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_the_launcher_alone_ends_the_running_job_within_seconds_and_says_so(tmp_path, mirror, sig):
    repo, _ = long_training(tmp_path)
    run = Running([BIN / "python", "-m", "compressbench.launch", "--cores", "2"], repo, mirror)
    run.wait_for("epoch 3/")
    start = time.time()
    out = run.interrupt(sig)  # the launcher's group: Snakemake and its jobs run in their own
    assert time.time() - start < 60, out[-3000:]
    assert run.proc.returncode == 128 + sig, out[-3000:]
    assert f"launch: stopped by {signal.Signals(sig).name}" in out, out[-3000:]
    assert "marked incomplete: models/train_baseline/mnist/s0/teacher" in out, out[-3000:]
    assert_stopped_cleanly(repo, out)
    assert not (repo / ".snakemake/locks").exists() or not any((repo / ".snakemake/locks").iterdir())


@pytest.mark.parametrize("front", ["launch", "snakemake"])
def test_ctrl_c_while_a_job_is_still_importing_prints_no_traceback(tmp_path, mirror, front):
    repo, _ = long_training(tmp_path)
    args = ([BIN / "python", "-m", "compressbench.launch"] if front == "launch" else [BIN / "snakemake"]) + ["--cores", "2"]
    run = Running(args, repo, mirror)
    # Snakemake announces the job as it starts its process ("localrule train_teacher:"; its
    # job table at start names the rule too, while download and prepare have yet to run).
    run.wait_for("rule train_teacher:")
    time.sleep(0.3)
    out = run.interrupt(signal.SIGINT)
    assert run.proc.returncode != 0
    assert_stopped_cleanly(repo, out)
    log = repo / "logs/train_baseline/train_teacher/mnist/s0/teacher.log"
    assert not log.exists() or "Traceback" not in log.read_text()


# ---- make exp: a DVC experiment that validates first and deletes nothing ---------------------

def exp_workspace(repo):
    """`repo` as a git + DVC clone with a venv make accepts (this one, behind a stand-in)."""
    from helpers import ROOT
    for name in ("Makefile", "requirements.lock", "pyproject.toml", ".gitignore"):
        shutil.copy2(ROOT / name, repo / name)
    python = repo / ".venv/bin/python"
    python.parent.mkdir(parents=True, exist_ok=True)
    python.write_text(f'#!/bin/sh\nexec "{BIN / "python"}" "$@"\n')
    python.chmod(0o755)
    pins = subprocess.run("cat requirements.lock pyproject.toml | sha256sum", shell=True, cwd=repo,
                          capture_output=True, text=True, check=True).stdout[:64]
    (repo / ".venv/.installed").write_text(pins + "\n")
    (repo / ".gitignore").write_text((repo / ".gitignore").read_text() + "/.venv/\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    dvc(repo, "init", "-q")
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "clone"], cwd=repo, check=True)
    return repo


def make_exp(repo, *args, **extra):
    return subprocess.run(["make", "--no-print-directory", "exp", *args], cwd=repo, env=env(**extra),
                          capture_output=True, text=True)


def test_make_exp_refuses_bad_values_and_unrecorded_outputs_changing_nothing(tmp_path):
    repo = exp_workspace(new_repo(tmp_path / "ws", **SMALL))
    marker = repo / "models/train_baseline/mnist/s9/marker.keras"
    marker.parent.mkdir(parents=True)
    marker.write_bytes(b"a trained model")
    params_before = (repo / "params.yaml").read_bytes()
    for setting, says in (("train.learning_rate=nan", "train.learning_rate: nan is not a finite number"),
                          ("data.val_size=60001", "data.val_size: 60001 is greater than the maximum"),
                          ("train.learning_rate=3e-4", "outputs not recorded in dvc.lock would be deleted by "
                                                       "`dvc exp run`")):
        proc = make_exp(repo, f"SET={setting}")
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0 and says in out and "params.yaml unchanged" in out, out[-3000:]
        assert_user_facing(out)
        assert marker.read_bytes() == b"a trained model"
        assert (repo / "params.yaml").read_bytes() == params_before
        status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout
        assert status == "", status  # nothing modified, nothing staged (models/ is ignored)


def test_make_exp_with_commit_keeps_the_outputs_and_changes_one_line_of_params(done, tmp_path, mirror):
    repo = exp_workspace(shutil.copytree(done[0], tmp_path / "ws", symlinks=True))
    model = repo / "models/train_baseline/mnist/s0/student-scratch.keras"
    before, params_before = model.read_bytes(), (repo / "params.yaml").read_text()
    proc = make_exp(repo, "SET=latency.max_runs=30", "COMMIT=1", **mirror)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert model.read_bytes() == before  # committed first, so the experiment's checkout restored it
    changed = [(a, b) for a, b in zip(params_before.splitlines(), (repo / "params.yaml").read_text().splitlines())
               if a != b]
    assert len(params_before.splitlines()) == len((repo / "params.yaml").read_text().splitlines())
    assert [b.split("#")[0].strip() for _, b in changed] == ["max_runs: 30"], changed
    assert "latency.max_runs" in dvc(repo, "exp", "show", "--no-pager", "--md").stdout

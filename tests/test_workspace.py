"""A snakemake started while a DVC command writes to the workspace is refused."""
import json
import os
import subprocess
import sys
from pathlib import Path

from compressbench import workspace


def dvc_workspace(tmp_path, pid, kind="write"):
    (tmp_path / ".dvc/tmp").mkdir(parents=True)
    (tmp_path / workspace.DVC_RWLOCK).write_text(json.dumps(
        {"write": {}, "read": {}} | {kind: {"models/prune": {"pid": pid, "cmd": "dvc repro"}}}))
    return tmp_path


def test_a_live_dvc_process_write_locking_outputs_holds_the_workspace(tmp_path, monkeypatch):
    monkeypatch.delenv("DVC_STAGE", raising=False)
    assert workspace.dvc_writer(dvc_workspace(tmp_path, os.getpid())) == "dvc repro"


def test_read_locks_and_stale_locks_of_finished_processes_do_not(tmp_path, monkeypatch):
    monkeypatch.delenv("DVC_STAGE", raising=False)
    assert workspace.dvc_writer(dvc_workspace(tmp_path / "a", os.getpid(), kind="read")) is None  # dvc status
    done = subprocess.Popen(["true"])
    done.wait()
    assert workspace.dvc_writer(dvc_workspace(tmp_path / "b", done.pid)) is None


def test_dvcs_own_stage_commands_and_plain_workspaces_are_not_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("DVC_STAGE", "train_baseline")
    assert workspace.dvc_writer(dvc_workspace(tmp_path / "a", os.getpid())) is None
    monkeypatch.delenv("DVC_STAGE")
    assert workspace.dvc_writer(tmp_path / "no-dvc-here") is None


WRITER = """
import sys, time
from compressbench import io
with io.atomic_path(sys.argv[1]) as tmp:
    open(tmp, "w").write("half")
    print(tmp, flush=True)
    time.sleep(600)
"""


def test_the_sweep_removes_what_dead_writers_left_and_keeps_live_writers_files(tmp_path):
    target = tmp_path / "tflite/mnist/s0/f0/teacher+global-s0.5+ptq-int8.tflite"  # a suffix with '-'
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, text=True)
    partial = Path(writer.stdout.readline().strip())
    (tmp_path / "tflite/.x.tflite.partial-otherhost-1-abcdefgh.tflite").write_text("another machine's")
    try:
        assert workspace.sweep_partials(tmp_path) == [] and partial.exists()  # its writer is alive
    finally:
        writer.kill()
        writer.wait()
    assert workspace.sweep_partials(tmp_path) == [partial] and not partial.exists()
    assert (tmp_path / "tflite/.x.tflite.partial-otherhost-1-abcdefgh.tflite").exists()
    assert not target.exists()

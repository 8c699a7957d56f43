"""A snakemake started while a DVC command holds the workspace is refused."""
import json
import os
import subprocess
import sys

from compressbench import workspace


def dvc_workspace(tmp_path, pid=None):
    (tmp_path / ".dvc/tmp").mkdir(parents=True)
    if pid is not None:
        (tmp_path / workspace.DVC_RWLOCK).write_text(json.dumps(
            {"write": {"models/prune": {"pid": pid, "cmd": "dvc repro"}}, "read": {}}))
    return tmp_path


def test_a_live_dvc_process_write_locking_outputs_holds_the_workspace(tmp_path, monkeypatch):
    monkeypatch.delenv("DVC_STAGE", raising=False)
    assert workspace.dvc_running(dvc_workspace(tmp_path, pid=os.getpid()))


def test_a_stale_rwlock_of_a_finished_process_does_not(tmp_path, monkeypatch):
    monkeypatch.delenv("DVC_STAGE", raising=False)
    done = subprocess.Popen(["true"])
    done.wait()
    assert not workspace.dvc_running(dvc_workspace(tmp_path, pid=done.pid))


def test_dvcs_own_stage_commands_and_plain_workspaces_are_not_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("DVC_STAGE", "train_baseline")
    assert not workspace.dvc_running(dvc_workspace(tmp_path / "a", pid=os.getpid()))
    monkeypatch.delenv("DVC_STAGE")
    assert not workspace.dvc_running(tmp_path / "no-dvc-here")


def test_dvcs_repository_lock_held_between_stages_holds_the_workspace(tmp_path, monkeypatch):
    import zc.lockfile
    monkeypatch.delenv("DVC_STAGE", raising=False)
    repo = dvc_workspace(tmp_path)
    lock = zc.lockfile.LockFile(str(repo / workspace.DVC_LOCK))
    try:
        # zc.lockfile locks per process (fcntl): ask from another process, as snakemake would.
        code = "import sys; from compressbench import workspace; sys.exit(workspace.dvc_running(sys.argv[1]))"
        assert subprocess.run([sys.executable, "-c", code, str(repo)]).returncode == 1
    finally:
        lock.close()
    assert not workspace.dvc_running(repo)

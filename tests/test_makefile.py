"""make reinstalls the venv only when the content of the pins changed, and then tries
offline first: a fresh clone or a checkout with a working .venv never needs the network."""
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# A venv stand-in: logs each call; `pip install` without --no-index is the network and fails
# (an offline machine); --no-index succeeds unless MISSING names a file (a pin not installed).
FAKE_PYTHON = """#!/bin/sh
echo "$*" >> "$(dirname "$0")/../calls.log"
case "$*" in
  *"pip install"*--no-index*) test ! -e "$(dirname "$0")/../MISSING" ;;
  *"pip install"*) exit 1 ;;
  *) exit 0 ;;
esac
"""


@pytest.fixture
def repo(tmp_path):
    for name in ("Makefile", "requirements.lock", "pyproject.toml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    python = tmp_path / ".venv/bin/python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    return tmp_path


def make(repo, *args):
    return subprocess.run(["make", "--no-print-directory", *args], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, "PYTHON": "false"})


def calls(repo) -> list[str]:
    log = repo / ".venv/calls.log"
    out = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return out


def test_a_working_venv_without_a_stamp_is_checked_offline_and_stamped(repo):
    proc = make(repo, "venv")
    assert proc.returncode == 0, proc.stderr
    assert [c for c in calls(repo) if "install" in c] == ["-m pip install -q --no-index -r requirements.lock"]
    assert len((repo / ".venv/.installed").read_text().strip()) == 64


def test_touching_the_pins_without_changing_them_reinstalls_nothing(repo):
    assert make(repo, "venv").returncode == 0
    calls(repo)
    later = time.time() + 10
    for name in ("requirements.lock", "pyproject.toml"):
        os.utime(repo / name, (later, later))  # what a checkout or a fresh clone does
    proc = make(repo, "venv")
    assert proc.returncode == 0 and calls(repo) == [], proc.stderr


def test_changed_pins_try_offline_first_then_the_network(repo):
    assert make(repo, "venv").returncode == 0
    calls(repo)
    with (repo / "requirements.lock").open("a") as f:
        f.write("newpackage==1.0\n")
    (repo / ".venv/MISSING").touch()
    proc = make(repo, "venv")
    assert proc.returncode != 0  # the stand-in has no network
    made = calls(repo)
    assert made[0] == "-m pip install -q --no-index -r requirements.lock"
    assert any("--no-index" not in c and "install" in c for c in made[1:])

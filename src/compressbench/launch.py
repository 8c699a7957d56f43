"""launch: run Snakemake so that SIGTERM or Ctrl-C ends the running jobs within seconds.

    python -m compressbench.launch [snakemake arguments]      (what `make run` calls)

Snakemake 9 answers SIGTERM by waiting for its running jobs (hours for a teacher) and
then reports them failed. This launcher starts Snakemake in its own process group with
SIGINT ignored there (so no process of the run can print a KeyboardInterrupt traceback,
at any moment), and turns a SIGTERM or SIGINT it receives into a SIGTERM to that whole
group: every job stops at once, removing what it was writing (runner, io.atomic_path),
and Snakemake, its jobs failed, cleans up and exits. A group still alive after
GRACE_SECONDS is killed; the launcher then releases Snakemake's lock, and the
workflow profile's rerun-incomplete reruns the killed jobs. Either way it says which
outputs are incomplete and exits 128 + the signal's number.

    >>> stopped_message("SIGTERM", ["models/train_baseline/mnist/s0/teacher.keras"])[:40]
    'launch: stopped by SIGTERM; 1 output of '
"""
from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import refused

REPLANS = 3  # runs after the first while jobs refuse their cells
GRACE_SECONDS = 20  # a job stops at its next Python instruction; Snakemake then needs a few seconds
INCOMPLETE = Path(".snakemake/incomplete")  # Snakemake's markers: base64 of each running job's output


def incomplete_outputs(root=".") -> list[str]:
    """The outputs Snakemake marks incomplete (jobs started and not finished)."""
    folder = Path(root) / INCOMPLETE
    out = []
    for marker in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if marker.is_file():  # a long name is split into folders, each part but the last after '@'
            name = "".join(part.lstrip("@") for part in marker.relative_to(folder).parts)
            try:
                out.append(base64.urlsafe_b64decode(name.encode()).decode())
            except ValueError:
                continue  # Snakemake's own files (migration_underway)
    return out


def stopped_message(signame: str, incomplete: list[str], killed: bool = False) -> str:
    how = f"killed after {GRACE_SECONDS} s" if killed else "ended"
    if not incomplete:
        return f"launch: stopped by {signame}; the running jobs were {how} and kept nothing partial"
    shown = ", ".join(incomplete[:5]) + (f" and {len(incomplete) - 5} more" if len(incomplete) > 5 else "")
    return (f"launch: stopped by {signame}; {len(incomplete)} output{'s' * (len(incomplete) != 1)} of the "
            f"running jobs ({how}) marked incomplete: {shown}; the same command reruns them")


def _wait(proc: subprocess.Popen, seconds: float) -> bool:
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass  # the group has ended


def _run(args: list[str], received: list, group: list[int]) -> int:
    """One Snakemake run in its own process group; its exit code, or 128 + the signal's number."""
    group.clear()
    proc = subprocess.Popen([sys.executable, "-m", "snakemake", *args], start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    group.append(proc.pid)
    if received:  # a signal while Snakemake was starting
        _killpg(proc.pid, signal.SIGTERM)
    while not _wait(proc, 0.5):
        if received and time.monotonic() - received[0][1] > GRACE_SECONDS:
            break
    if not received:
        return proc.returncode
    signum, _, incomplete = received[0]
    killed = proc.poll() is None
    _killpg(proc.pid, signal.SIGKILL)  # whatever of the group is left: no job outlives the run
    proc.wait()
    if killed:
        subprocess.run([sys.executable, "-m", "snakemake", "--unlock"], capture_output=True)
    print(stopped_message(signal.Signals(signum).name, incomplete, killed), file=sys.stderr, flush=True)
    return 128 + signum


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    received: list[tuple[int, float, list[str]]] = []  # (signal, when, outputs then running)
    group: list[int] = []  # Snakemake's pid, its process group's id too (its own session)

    def forward(signum, _frame):
        if not received:
            print(f"launch: {signal.Signals(signum).name} received; stopping the running jobs",
                  file=sys.stderr, flush=True)
            received.append((signum, time.monotonic(), incomplete_outputs()))
            if group:
                _killpg(group[0], signal.SIGTERM)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    before = len(refused.records())
    code = _run(args, received, group)
    # A job that refused its cell failed the run; the plan leaves such cells out (refused.py), so
    # another run finishes the rest and the report, which lists them (again while new ones refuse,
    # a few times at most: each run can only add refusals of cells the previous plan still had).
    for _ in range(REPLANS):
        new = len(refused.records()) - before
        if code == 0 or received or new <= 0 or {"-n", "--dry-run"} & set(args):
            break
        print(f"launch: {new} job(s) refused their cells; planning again without them", file=sys.stderr, flush=True)
        before += new
        code = _run(args, received, group)
    return code


if __name__ == "__main__":
    raise SystemExit(main())

"""One front end at a time on a workspace. A second `snakemake` is refused by
Snakemake's own lock, and a `dvc repro` started during a Snakemake run by the
same lock inside its first stage. What neither sees is a `snakemake` started
while `dvc repro` runs a stage: DVC then write-locks the stage's outputs in its
rwlock file (read locks, which `dvc status` also takes, are no conflict).
And what killed writers left in the output folders is swept at every start."""
from __future__ import annotations

import json
import os
from pathlib import Path

DVC_RWLOCK = ".dvc/tmp/rwlock"


def _alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError, TypeError):
        return False
    return True


def dvc_writer(root=".") -> str | None:
    """The command of a live DVC process write-locking this workspace's outputs, unless
    this process is one of its stage commands (DVC sets DVC_STAGE for those)."""
    if os.environ.get("DVC_STAGE"):
        return None
    try:
        locks = json.loads((Path(root) / DVC_RWLOCK).read_text())
    except (OSError, ValueError):
        return None
    writers = (locks.get("write") or {}).values() if isinstance(locks, dict) else ()
    return next((str(w.get("cmd", "dvc")) for w in writers if isinstance(w, dict) and _alive(w.get("pid"))), None)


def sweep_partials(root=".") -> list[Path]:
    """Remove what killed writers left in the output folders (io.sweep_partials): run at
    the start of every Snakemake invocation, so a SIGKILL's leftovers never reach DVC."""
    from . import io, rules
    tops = {folder.split("/")[0] for phase in rules.PHASES for folder in rules.folders_of(phase)} | {"reports"}
    return io.sweep_partials(sorted(str(Path(root) / t) for t in tops))

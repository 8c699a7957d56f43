"""One front end at a time on a workspace. A second `snakemake` is refused by
Snakemake's own lock, and a `dvc repro` started during a Snakemake run by the
same lock inside its first stage. What neither sees is a `snakemake` started
while `dvc repro` runs: DVC holds its repository lock between stages and, while
a stage's command runs, write-locks the stage's outputs in its rwlock file."""
from __future__ import annotations

import json
import os
from pathlib import Path

DVC_LOCK, DVC_RWLOCK = ".dvc/tmp/lock", ".dvc/tmp/rwlock"


def _alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError, TypeError):
        return False
    return True


def _repo_lock_held(lock: Path) -> bool:
    import zc.lockfile  # DVC's own lock backend

    try:
        zc.lockfile.LockFile(str(lock)).close()  # DVC retries for seconds: a brief hold is harmless
    except zc.lockfile.LockError:
        return True
    return False


def dvc_running(root=".") -> bool:
    """True when a DVC command holds this workspace and this process is not one of
    its stage commands (DVC sets DVC_STAGE in their environment)."""
    root = Path(root)
    if os.environ.get("DVC_STAGE") or not (root / ".dvc").is_dir():
        return False
    try:
        locks = json.loads((root / DVC_RWLOCK).read_text())
    except (OSError, ValueError):
        locks = {}
    holders = [info.get("pid") for kind in ("write", "read") for info in (locks.get(kind) or {}).values()
               if isinstance(info, dict)]
    if any(_alive(pid) for pid in holders):
        return True
    return (root / DVC_LOCK).exists() and _repo_lock_held(root / DVC_LOCK)

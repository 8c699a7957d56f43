"""One front end at a time on a workspace. A second `snakemake` is refused by
Snakemake's own lock, and a `dvc repro` started during a Snakemake run by the
same lock inside its first stage; what neither sees is a `snakemake` started
while `dvc repro` runs (between its stages no Snakemake holds the lock)."""
from __future__ import annotations

import os
from pathlib import Path

DVC_LOCK = ".dvc/tmp/lock"


def dvc_running(root=".") -> bool:
    """True when another process holds DVC's repository lock and this process is
    not one of its stage commands (DVC sets DVC_STAGE in their environment)."""
    lock = Path(root) / DVC_LOCK
    if os.environ.get("DVC_STAGE") or not lock.exists():
        return False
    import zc.lockfile  # DVC's own lock backend

    try:
        zc.lockfile.LockFile(str(lock)).close()  # DVC retries for seconds: a brief hold is harmless
    except zc.lockfile.LockError:
        return True
    return False

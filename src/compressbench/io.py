"""Atomic file output: a reader never sees a half-written artefact, and a killed
writer's temporary file is never recorded (.dvcignore, .gitignore) and never kept
(removed on SIGTERM by runner's handler, swept at the start of every run after SIGKILL)."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import tempfile
from pathlib import Path

# Temporary names: .<name>.partial-<host>-<pid>-<random><suffix>. The pattern `.*.partial-*`
# is in .dvcignore and .gitignore; the host and pid tell the sweep whose writer is gone.
PARTIAL = ".partial-"
# The random part is mkstemp's 8 characters; the target's suffixes follow (".5+ptq-int8.tflite").
_PARTIAL_NAME = re.compile(r"^\..+?\.partial-(?P<host>.+)-(?P<pid>\d+)-[a-z0-9_]{8}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # alive, owned by another user
        return True
    return True


def sweep_partials(folders) -> list[Path]:
    """Remove the temporary files under `folders` whose writer (a process of this host) is
    gone, e.g. killed by SIGKILL; files of live writers and other hosts stay. Returns them.

    >>> sweep_partials(["no-such-folder"])
    []
    """
    host, removed = socket.gethostname(), []
    for folder in folders:
        for parent, _, files in os.walk(folder):
            for name in files:
                m = _PARTIAL_NAME.match(name)
                if m and m["host"] == host and not _alive(int(m["pid"])):
                    path = Path(parent) / name
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
                        removed.append(path)
    return removed


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None):
    """Yield a temporary path beside `path`; rename it onto `path` only on success.

    The temporary file keeps the target's suffix (Keras picks the format from it).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.name}{PARTIAL}{socket.gethostname()}-{os.getpid()}-"
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix or "".join(path.suffixes), dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # writers (Keras, numpy) create it themselves
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_bytes(path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)


def write_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)


def write_json(path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def read_json(path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable JSON file ({exc})") from exc


class ArtefactError(RuntimeError):
    """An artefact differs from the content its record holds."""


def sha256(path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def verify(path, record) -> None:
    """Check `path` against the sha256 its record (the JSON its job wrote beside
    it) holds for it. No record: nothing to check, and Snakemake reruns a job
    whose record is missing anyway."""
    path, record = Path(path), Path(record)
    if not record.is_file():
        return
    rec = read_json(record)
    expected = (rec.get("sha256") or {}).get(path.name)
    if expected is not None and sha256(path) != expected:
        raise ArtefactError(f"{path}: content differs from the sha256 in {record.name} (damaged or changed "
                            f"since rule {rec.get('rule', '?')} wrote it); rebuild it with: "
                            f"{rebuild_command(path)}")


def rebuild_command(path) -> str:
    """The command that rebuilds `path` alone (its one job), as it can be pasted."""
    return f"snakemake --cores 1 --force {path}"


def record_of(path: str) -> str:
    """The JSON written beside an artefact (its metrics, facts or export record);
    a teacher's logits share its model's record."""
    path = str(path)
    stem = path.removesuffix(".logits.npz") if path.endswith(".logits.npz") else os.path.splitext(path)[0]
    return stem + ".json"

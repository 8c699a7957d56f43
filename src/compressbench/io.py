"""Atomic file output: a reader never sees a half-written artefact."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None):
    """Yield a temporary path beside `path`; rename it onto `path` only on success.

    The temporary file keeps the target's suffix (Keras picks the format from it).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or "".join(path.suffixes), dir=path.parent)
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
                            f"snakemake --force {path}")


def record_of(path: str) -> str:
    """The JSON written beside an artefact (its metrics, facts or export record);
    a teacher's logits share its model's record."""
    path = str(path)
    stem = path.removesuffix(".logits.npz") if path.endswith(".logits.npz") else os.path.splitext(path)[0]
    return stem + ".json"

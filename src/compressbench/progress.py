"""The epoch line every fit writes to its job's log, and its parser.

training.ProgressLog writes one line per epoch,

    <label> epoch <i>/<n> <metric>=<value> ... (<seconds> s)

metrics sorted by name with 4 decimals, the epoch's wall seconds (its steps and
its validation) with one. The benchmarks read the lines back from the job logs,
where runner.setup_logging puts "HH:MM:SS LEVEL " before them. No TensorFlow.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Epoch:
    label: str                  # what was fitted, e.g. "mnist/teacher+global"; may hold spaces
    epoch: int                  # 1-based
    epochs: int
    metrics: dict[str, float]   # Keras' logs of the epoch
    seconds: float


def format_epoch(label: str, epoch: int, epochs: int, metrics: dict, seconds: float) -> str:
    """The line of one finished epoch (`epoch` counts from 1)."""
    values = "".join(f" {k}={float(v):.4f}" for k, v in sorted(metrics.items()))
    return f"{label} epoch {epoch}/{epochs}{values} ({seconds:.1f} s)"


_LINE = re.compile(
    r"^(?:\d{2}:\d{2}:\d{2} [A-Z]+ )?"          # runner's log prefix, when read from a log
    r"(?P<label>.+?) epoch (?P<epoch>\d+)/(?P<epochs>\d+)"
    r"(?P<metrics>(?: [^\s=]+=\S+)*)"
    r" +\((?P<seconds>\d+(?:\.\d+)?) s\)[ \t]*$", re.M)


def parse_epochs(text: str) -> list[Epoch]:
    """Every epoch line in `text` (a job log or lines of format_epoch), in order."""
    out = []
    for m in _LINE.finditer(text):
        metrics = dict(kv.split("=", 1) for kv in m["metrics"].split())
        out.append(Epoch(m["label"], int(m["epoch"]), int(m["epochs"]),
                         {k: float(v) for k, v in metrics.items()}, float(m["seconds"])))
    return out


def epoch_seconds(text: str) -> float:
    """Seconds spent inside the epochs of a log (steps and per-epoch validation)."""
    return sum((e.seconds for e in parse_epochs(text)), 0.0)

"""A technique that cannot apply to a model refuses before it trains, naming the
layer and the reason; the job writes the refusal as a small JSON record so the
report lists the cell as refused with that reason.

The record (written with `write` beside the job's log as `<job>.refused.json`,
read with `read`)::

    {"refused": "<reason>", "layer": "<layer name>", "technique": "<scheme>"}

>>> Refused("conv3", "it feeds the residual add add1").message("filters")
'filters refuses layer conv3: it feeds the residual add add1'
"""
from __future__ import annotations

from . import io

SUFFIX = ".refused.json"  # a refused job's record, beside its log (runner.refusal_record)


class Refused(ValueError):
    """A technique cannot apply to this model: `layer` and why (`reason`)."""

    def __init__(self, layer: str, reason: str):
        super().__init__(f"layer {layer}: {reason}")
        self.layer, self.reason = layer, reason

    def message(self, technique: str) -> str:
        return f"{technique} refuses layer {self.layer}: {self.reason}"

    def record(self, technique: str) -> dict:
        return {"refused": self.message(technique), "layer": self.layer, "technique": technique}


def write(path, refused: Refused, technique: str, **facts) -> None:
    """The refusal record of a job at `path` (with the job's own facts, e.g. its cell)."""
    io.write_json(path, refused.record(technique) | facts)


def read(path) -> str | None:
    """The reason recorded in a record, None when it is not a refusal."""
    return io.read_json(path).get("refused")

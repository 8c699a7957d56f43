"""Equal-budget controls: what a compressed variant is compared with, so that a
difference measures the compression and not the training that came with it.

- A pruned variant `base+P+Q` had the pruning fine-tune; its control is
  `base+finetune+Q`, the same fine-tune with nothing pruned.
- A QAT variant had QAT's extra epochs; on an unpruned model its control is
  `base+none+float32-ft`, those epochs trained and exported in float32. Where
  the matrix has no such control (pruned QAT cells by default) the reference
  is the model's float32 export, which had no extra epochs: not equal-budget,
  and marked so.
- A clustered variant `base+P+C+Q` is compared with `base+P+Q`, the same model
  unclustered, which did not have the cluster fine-tune: not equal-budget.
Names only: pure functions of variant names and the variants a run has."""
from __future__ import annotations

from dataclasses import dataclass

from . import matrix

PRUNE_CONTROL = "finetune"      # prune.schemes: the fine-tune with nothing pruned
QAT = "qat"                     # quantize.schemes: quantization-aware training
QAT_CONTROL = "float32-ft"      # quantize.schemes: QAT's epochs in float32
UNCOMPRESSED = ("none", PRUNE_CONTROL)


@dataclass(frozen=True)
class Reference:
    variant: str
    equal_budget: bool   # False: the reference had less training than the variant

    @property
    def note(self) -> str:
        return "" if self.equal_budget else "no equal-budget control: vs a reference without its extra training"


def pruning_control(variant: str, have) -> Reference | None:
    """The control of a pruned variant: the same fine-tune, nothing pruned."""
    base, prune, cluster, quant = matrix.parse_variant(variant)
    if prune in UNCOMPRESSED or quant == QAT_CONTROL or cluster != matrix.NO_CLUSTER:
        return None
    control = matrix.variant(base, PRUNE_CONTROL, quant)
    return Reference(control, True) if control in have else None


def quantization_reference(variant: str, have) -> Reference | None:
    """What a quantized variant is compared with: its float32 export, or for QAT
    the float32-ft control when the run has it."""
    base, prune, cluster, quant = matrix.parse_variant(variant)
    if quant in ("float32", QAT_CONTROL):
        return None
    if quant == QAT + matrix.INT8_IO:  # the same QAT training, integer-only
        quant = QAT
    if quant == QAT and matrix.variant(base, prune, QAT_CONTROL, cluster) in have:
        # On a pruned model float32-ft refills the zeros: more capacity than the QAT it controls.
        return Reference(matrix.variant(base, prune, QAT_CONTROL, cluster), prune in UNCOMPRESSED)
    ref = matrix.variant(base, prune, "float32", cluster)
    return Reference(ref, quant != QAT) if ref in have else None


def clustering_reference(variant: str, have) -> Reference | None:
    """A clustered variant's reference: the same model and export unclustered."""
    base, prune, cluster, quant = matrix.parse_variant(variant)
    if cluster == matrix.NO_CLUSTER:
        return None
    ref = matrix.variant(base, prune, quant)
    return Reference(ref, False) if ref in have else None


def control(variant: str, have) -> Reference | None:
    """The one comparison a report row shows besides the teacher: its clustering
    reference, else its pruning control, else (unpruned) its quantization reference."""
    return (clustering_reference(variant, have) or pruning_control(variant, have)
            or quantization_reference(variant, have))

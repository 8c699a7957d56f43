"""Equal-budget controls: what a compressed variant is compared with, so that a
difference measures the compression and not the training that came with it.

Every choice reads the methods' traits and roles (catalog.methods), never a
scheme's name:
- A pruned variant `base+P+Q` (P's method compresses and names a `control`) had
  the pruning fine-tune; its control is `base+C+Q`, C the scheme of that control
  method (`finetune`: the same fine-tune with nothing pruned).
- A quantized variant whose method names a control (QAT: `float32-ft`, its epochs
  in float32) is compared with it on an unpruned model; where the matrix has no such
  control (pruned QAT cells by default) the reference is the model's export by the
  reference method (float32), which had no extra epochs: not equal-budget, marked so.
  A post-training export is compared with that reference export (equal budget).
- A clustered variant `base+P+C+Q` is compared with `base+P+Q`, the same model
  unclustered, which did not have the cluster fine-tune: not equal-budget.
Pure functions of the config, variant names and the variants a run has."""
from __future__ import annotations

from dataclasses import dataclass

from . import matrix
from . import report_files as RF
from .catalog import methods as M


@dataclass(frozen=True)
class Reference:
    variant: str
    equal_budget: bool   # False: the reference had less training than the variant

    @property
    def note(self) -> str:
        return "" if self.equal_budget else "no equal-budget control: vs a reference without its extra training"


def method(cfg: dict, step: str, scheme: str) -> M.Method | None:
    """The method of a scheme (int8io for a QAT scheme's integer-only export); None where the
    config does not declare it (an older params file, a cluster scheme without `method:`):
    such a variant is left out of trait selections."""
    try:
        if step == M.QUANTIZE and scheme.endswith(matrix.INT8_IO):
            return M.get("int8io", M.QUANTIZE)
        return M.of_scheme(cfg, step, scheme)
    except (KeyError, TypeError):
        return None


def _scheme_of(cfg: dict, step: str, method: str | None) -> str | None:
    """The first scheme of `step` whose method is `method`."""
    found = M.schemes_with(cfg, step, name=method) if method else []
    return found[0] if found else None


def reference_scheme(cfg: dict) -> str | None:
    """The quantization scheme every export is compared with (role reference: float32)."""
    found = M.schemes_with(cfg, M.QUANTIZE, role=M.REFERENCE)
    return found[0] if found else None


def uncompressed(cfg: dict, prune: str) -> bool:
    """No weights removed: no pruning step, or the pruning control."""
    m = method(cfg, M.PRUNE, prune)
    return m is not None and m.role in (M.REFERENCE, M.CONTROL)


def pruning_control(cfg: dict, variant: str, have) -> Reference | None:
    """The control of a pruned variant: the same fine-tune (the control method's scheme with its
    fine-tune epochs), nothing pruned; None where the run has no such scheme or cell."""
    base, prune, cluster, quant = matrix.parse_variant(variant)
    m, q = method(cfg, M.PRUNE, prune), method(cfg, M.QUANTIZE, quant)
    if m is None or m.role != M.COMPRESS or cluster != matrix.NO_CLUSTER or (q is not None and q.role == M.CONTROL):
        return None
    # The control scheme with the same fine-tune budget (a budget sweep's global-e5 has finetune-e5).
    epochs = RF.fine_tune_epochs(cfg, prune)
    same = [s for s in (M.schemes_with(cfg, M.PRUNE, name=m.control) if m.control else [])
            if RF.fine_tune_epochs(cfg, s) == epochs]
    control = matrix.variant(base, same[0], quant) if same else None
    return Reference(control, True) if control in have else None


def quantization_reference(cfg: dict, variant: str, have) -> Reference | None:
    """What a quantized variant is compared with: its reference (float32) export, or the
    control its method names (QAT: float32-ft) when the run has it."""
    base, prune, cluster, quant = matrix.parse_variant(variant)
    m = method(cfg, M.QUANTIZE, quant)
    if m is None or m.role != M.COMPRESS:
        return None
    if quant.endswith(matrix.INT8_IO):  # the same training as its float-I/O export
        quant = quant.removesuffix(matrix.INT8_IO)
        m = method(cfg, M.QUANTIZE, quant) or m
    control = _scheme_of(cfg, M.QUANTIZE, m.control)
    if control and matrix.variant(base, prune, control, cluster) in have:
        # On a pruned model the control's fine-tune refills the zeros: more capacity than what it controls.
        return Reference(matrix.variant(base, prune, control, cluster), uncompressed(cfg, prune))
    ref_scheme = reference_scheme(cfg)
    ref = matrix.variant(base, prune, ref_scheme, cluster) if ref_scheme else None
    return Reference(ref, not m.trains) if ref in have else None


def clustering_reference(cfg: dict, variant: str, have) -> Reference | None:
    """A clustered variant's reference: the same model and export unclustered."""
    base, prune, cluster, quant = matrix.parse_variant(variant)
    if cluster == matrix.NO_CLUSTER:
        return None
    ref = matrix.variant(base, prune, quant)
    return Reference(ref, False) if ref in have else None


def control(cfg: dict, variant: str, have) -> Reference | None:
    """The one comparison a report row shows besides the teacher: its clustering
    reference, else its pruning control, else (unpruned) its quantization reference."""
    return (clustering_reference(cfg, variant, have) or pruning_control(cfg, variant, have)
            or quantization_reference(cfg, variant, have))


def names(cfg: dict) -> dict[str, str]:
    """The schemes the controls are, for the report's text: prune (pruning's control at the
    default fine-tune budget, prune.fine_tune.epochs),
    quant (the first quantization control) and reference (the reference export)."""
    q = M.schemes_with(cfg, M.QUANTIZE, role=M.CONTROL)
    default = ((cfg.get("prune") or {}).get("fine_tune") or {}).get("epochs")
    p = sorted(M.schemes_with(cfg, M.PRUNE, role=M.CONTROL), key=lambda s: RF.fine_tune_epochs(cfg, s) != default)
    return {"prune": p[0] if p else "—", "quant": q[0] if q else "—", "reference": reference_scheme(cfg) or "—"}

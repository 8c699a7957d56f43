"""The compression methods: one registered entry per method, with its traits.

A scheme in params.yaml (`prune.schemes`, `cluster.schemes`, `quantize.schemes`)
names a method; everything that must know what a scheme *does* asks the
method's traits here, never the scheme's name: the matrix (which job kind runs
it), the controls (what it pairs with), the claims and the figures (which
variants they read). Renaming a scheme in params.yaml changes nothing else.

Traits are plain data and import no TensorFlow (the plan reads them while
Snakemake parses). The implementation is named as "module:function" and
imported only by the job that runs it.

Example: a new pruning method, one entry (its function in its own module)::

    register(Method("my-prune", step=PRUNE, role=COMPRESS, trains=True,
                    removes="weights", control="finetune",
                    impl="mypackage.pruning:my_prune"))

and in params.yaml: `prune: {schemes: {mine: {method: my-prune, ...}}}`.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

PRUNE, CLUSTER, QUANTIZE = "prune", "cluster", "quantize"
STEPS = (PRUNE, CLUSTER, QUANTIZE)

# Roles: what a variant of the method is in a comparison.
COMPRESS = "compress"     # compresses: compared with its control or reference
CONTROL = "control"       # the equal-budget control: the same training, nothing compressed
REFERENCE = "reference"   # the uncompressed export every quantized variant is compared with

# How a quantization method's job makes its .tflite.
CONVERTER, QUANTIZER, TRAINED = "converter", "quantizer", "trained"


@dataclass(frozen=True)
class Method:
    """One compression method and what it does.

    name: the `method:` value of a scheme; step: prune, cluster or quantize;
    role: compress, control or reference; trains: fine-tunes (or trains) before
    it exports; control: the method of the equal-budget control it pairs with
    (None: no control; compared with its reference); removes: what pruning takes
    away ("weights", "filters", "none"); random: a random-ranking baseline;
    structured: an N:M or filter pattern; weight_bits / activation_bits: the
    export's storage (32 float, 16 float16, 8, 4, None = mixed or float);
    calibration: needs calibration images; integer_io: int8 input and output;
    job: converter, quantizer or trained (quantization only); from_scratch:
    re-initialises the architecture (the study's QAT); impl: "module:function";
    check: "module:function" refusing a model it cannot apply to, before training."""
    name: str
    step: str
    role: str = COMPRESS
    trains: bool = False
    control: str | None = None
    removes: str = "none"
    random: bool = False
    structured: bool = False
    weight_bits: int | None = 32
    activation_bits: int | None = 32
    calibration: bool = False
    integer_io: bool = False
    job: str | None = None
    from_scratch: bool = False
    impl: str | None = None
    check: str | None = None
    summary: str = ""

    def function(self):
        """The implementation, imported on first use (job code only)."""
        return _imported(self.impl, self.name)

    def check_function(self):
        """`check(model, scheme)`: refusal.Refused, naming the layer, where the method cannot
        apply to a model; run before any training."""
        return _imported(self.check, self.name)


def _imported(impl: str | None, name: str):
    if not impl:
        raise LookupError(f"method {name!r} has no implementation")
    module, _, attr = impl.partition(":")
    return getattr(importlib.import_module(module), attr)

    @property
    def quantizes(self) -> bool:
        return self.step == QUANTIZE and self.weight_bits != 32


class UnknownMethod(KeyError):
    def __str__(self) -> str:  # KeyError quotes its argument
        return self.args[0]


METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add a method; its name must be new. Returns it (usable as a one-liner)."""
    if method.step not in STEPS:
        raise ValueError(f"method {method.name!r}: step {method.step!r}; allowed: {', '.join(STEPS)}")
    if method.name in METHODS:
        raise ValueError(f"method {method.name!r} is registered already")
    METHODS[method.name] = method
    return method


def get(name: str, step: str | None = None) -> Method:
    """The method called `name` (of `step`, when given); UnknownMethod names the allowed ones."""
    m = METHODS.get(name)
    if m is None or (step and m.step != step):
        raise UnknownMethod(f"unknown {step or 'compression'} method {name!r}; allowed: "
                            f"{', '.join(names(step))}")
    return m


def names(step: str | None = None) -> list[str]:
    return [n for n, m in METHODS.items() if step in (None, m.step)]


def of_scheme(cfg: dict, step: str, scheme: str) -> Method:
    """The method a scheme of `step` uses in a (resolved) config; `none` for no step."""
    section = {PRUNE: "prune", CLUSTER: "cluster", QUANTIZE: "quantize"}[step]
    if scheme == "none":
        return NONE[step]
    return get(cfg[section]["schemes"][scheme]["method"], step)


def schemes_with(cfg: dict, step: str, **traits) -> list[str]:
    """The schemes of `step` in `cfg` whose method has all `traits`, in params order (none
    where the config has no such section; a scheme without `method:` matches nothing).

    >>> schemes_with(cfg, PRUNE, role=CONTROL)      # doctest: +SKIP
    ['finetune']"""
    section = {PRUNE: "prune", CLUSTER: "cluster", QUANTIZE: "quantize"}[step]
    out = []
    for name, scheme in (((cfg or {}).get(section) or {}).get("schemes") or {}).items():
        if not isinstance(scheme, dict) or "method" not in scheme:
            continue
        m = get(scheme["method"], step)
        if all(getattr(m, k) == v for k, v in traits.items()):
            out.append(name)
    return out


# ---- the methods -----------------------------------------------------------------

_P = "compressbench.prune"
for _m in [
    Method("finetune", PRUNE, role=CONTROL, trains=True, impl=f"{_P}:fine_tune_only",
           summary="the pruning fine-tune with nothing pruned (the equal-budget control)"),
    Method("magnitude", PRUNE, trains=True, removes="weights", control="finetune", impl=f"{_P}:magnitude",
           summary="layer-wise magnitude pruning on a polynomial schedule (tfmot)"),
    Method("global", PRUNE, trains=True, removes="weights", control="finetune", impl=f"{_P}:magnitude",
           summary="one magnitude ranking over every selected kernel"),
    Method("random", PRUNE, trains=True, removes="weights", control="finetune", random=True,
           impl=f"{_P}:random", summary="random ranking on the magnitude schedule (the baseline)"),
    Method("m_by_n", PRUNE, trains=True, removes="weights", control="finetune", structured=True,
           impl=f"{_P}:magnitude", check=f"{_P}:check_m_by_n",
           summary="structured N:M sparsity along the input channels (tfmot)"),
    Method("filters", PRUNE, trains=True, removes="filters", control="finetune", structured=True,
           impl=f"{_P}:filters", check=f"{_P}:check_filters",
           summary="removes the lowest-L1 filters: a physically smaller model"),
]:
    register(_m)

register(Method("kmeans", CLUSTER, trains=True, impl="compressbench.cluster:cluster",
                summary="weight sharing: k-means clusters per kernel, fine-tuned (tfmot)"))

_Q = "compressbench.quantize"
for _m in [
    Method("float32", QUANTIZE, role=REFERENCE, job=CONVERTER, impl=f"{_Q}:convert",
           summary="the float32 export (no quantization)"),
    Method("dynamic", QUANTIZE, weight_bits=8, job=CONVERTER, impl=f"{_Q}:convert",
           summary="dynamic-range PTQ: int8 weights, float activations (converter)"),
    Method("float16", QUANTIZE, weight_bits=16, activation_bits=32, job=CONVERTER, impl=f"{_Q}:convert",
           summary="float16 weights (converter)"),
    Method("int8", QUANTIZE, weight_bits=8, activation_bits=8, calibration=True, integer_io=True,
           job=CONVERTER, impl=f"{_Q}:convert",
           summary="full-integer PTQ: int8 weights, activations, input and output (converter)"),
    Method("qat", QUANTIZE, trains=True, control="float32-ft", weight_bits=8, activation_bits=8, job=TRAINED,
           impl=f"{_Q}:convert", summary="quantization-aware fine-tune, int8 export (tfmot)"),
    Method("float32-ft", QUANTIZE, role=CONTROL, trains=True, job=TRAINED, impl=f"{_Q}:convert",
           summary="QAT's control: the same fine-tune in float32, exported float32"),
    Method("qat-scratch", QUANTIZE, trains=True, weight_bits=8, activation_bits=8, job=TRAINED,
           from_scratch=True, impl=f"{_Q}:convert",
           summary="the study's QAT: re-initialised, trained quantization-aware from scratch"),
    # Not a scheme's method: the integer-only export a QAT job writes beside its own.
    Method("int8io", QUANTIZE, weight_bits=8, activation_bits=8, calibration=True, integer_io=True,
           job=TRAINED, impl=f"{_Q}:convert", summary="a QAT model exported with int8 input and output"),
]:
    register(_m)

# The LiteRT Quantizer (ai-edge-quantizer) on the float32 export: one job per .tflite
# through the convert rule; every one validates its tensors on calibration images.
_A = "compressbench.litert_quantizer:quantize"
for _m in [
    Method("aeq-int8-weights", QUANTIZE, weight_bits=8, calibration=True, job=QUANTIZER, impl=_A,
           summary="weight-only int8 per channel, float compute (LiteRT Quantizer)"),
    Method("aeq-int4-weights", QUANTIZE, weight_bits=4, calibration=True, job=QUANTIZER, impl=_A,
           summary="weight-only int4: blockwise on dense layers, per channel on convolutions, "
                   "depthwise at int8 (LiteRT Quantizer)"),
    Method("aeq-static-int8", QUANTIZE, weight_bits=8, activation_bits=8, calibration=True, job=QUANTIZER,
           impl=_A, summary="full-integer static int8: calibrated activations, float I/O (LiteRT Quantizer)"),
    Method("aeq-mixed", QUANTIZE, weight_bits=None, calibration=True, job=QUANTIZER, impl=_A,
           summary="mixed precision by layer (regex or kind) as params.yaml declares it (LiteRT Quantizer)"),
    Method("aeq-auto", QUANTIZE, weight_bits=None, calibration=True, job=QUANTIZER, impl=_A,
           summary="int4 except the layers with the worst weight SNR in an all-int4 trial, kept "
                   "at int8 (LiteRT Quantizer)"),
]:
    register(_m)

# The absence of a step ("none" in a variant name): the uncompressed model.
NONE = {step: Method("none", step, role=REFERENCE, summary="no such step") for step in STEPS}

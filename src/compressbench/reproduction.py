"""The study's published numbers (reports/reference/arxiv-2305.08075.yaml) set
against ours, row by row, each from a run with that row's protocol where the
default run has one (params `derived`), with a computed verdict.

Pure functions of the reference, the variant stats (claims.variant_stats) and
the params; no I/O."""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from . import claims as C
from . import evidence as E
from . import matrix
from . import protocol_frames as PF
from . import stats as S

MIB = 2 ** 20      # the study reports .tflite sizes in MiB
SIZE_TOLERANCE = 0.02  # .tflite sizes within 2 % count as the same (graph metadata, converter version)
WITHIN, HIGHER, LOWER, SAME_SIZE, LARGER, SMALLER, FORMATS = (
    "within noise", "ours higher", "ours lower", "same size", "ours larger", "ours smaller",
    "formats differ")
NOT_RUN = "not run"


# The notebooks' layer stacks (tf.keras Sequential definitions), in params.zoo's terms. The
# CIFAR-10 stacks are the same in the four notebooks with CIFAR-10 results (knowledge_distill's
# "old model" test cell, used for no published number, differs). The MNIST teacher has
# Dropout(0.5) in Quant MNIST, model_pruning and sequential_compress, not in knowledge_distill.
def _cifar(c1: int, c2: int, c3: int, dense: int) -> list[dict]:
    lrelu = {"lrelu": 0.2}
    return [{"conv": c1}, lrelu, {"conv": c2}, lrelu, {"pool": 2}, {"conv": c3}, lrelu, {"conv": c3}, lrelu,
            {"pool": 2}, {"dense": dense}, {"dropout": 0.5}, {"dense": dense}]


def _mnist(c1: int, c2: int, *head: dict) -> list[dict]:
    return [{"conv": c1}, {"lrelu": 0.2}, {"pool": 2}, {"conv": c2}, *head]


NOTEBOOK_ZOO = {
    "mnist": {"teacher": _mnist(128, 256, {"dense": 100}, {"dropout": 0.5}),
              "ta": _mnist(32, 64, {"dense": 50}), "student": _mnist(16, 32)},
    "cifar10": {"teacher": _cifar(128, 128, 256, 256), "ta": _cifar(64, 128, 256, 128),
                "student": _cifar(64, 64, 128, 128)},
}
NOTEBOOK_ZOO_NOTES = {"mnist": " (the teacher's Dropout(0.5) is that of Quant MNIST, model_pruning and "
                               "sequential_compress; knowledge_distill's MNIST teacher has none)"}


def stack(spec: list[dict]) -> str:
    """A layer stack in one line: conv128 lrelu0.2 pool2 dense100 dropout0.5."""
    return " ".join(f"{k}{v:g}" for layer in spec for k, v in layer.items())


def architecture_notes(zoo: dict) -> dict[str, str]:
    """Per dataset: whether params.zoo's stacks are the notebooks' (report text)."""
    notes = {}
    for ds, archs in NOTEBOOK_ZOO.items():
        differ = [a for a, spec in archs.items() if (zoo.get(ds) or {}).get(a) != spec]
        if not differ:
            notes[ds] = (f"Our layer stacks (params `zoo`) are the notebooks' layer for layer"
                         f"{NOTEBOOK_ZOO_NOTES.get(ds, '')}.")
        else:
            notes[ds] = ("Our layer stacks (params `zoo`) differ from the notebooks' for "
                         + "; ".join(f"the {a}: ours `{stack((zoo.get(ds) or {}).get(a) or [])}`, "
                                     f"the notebooks' `{stack(archs[a])}`" for a in differ) + ".")
    return notes


# Where our protocol still differs from the row's (why the number may differ).
VAL_SPLIT = "study: the training split less its last 10 %; ours: less 5000 seeded images"
# The CIFAR-10 teacher the pruning and sequential notebooks trained on 90 % of the split: ours is
# the study-protocol teacher on all of it (a twin on the 90 %, `train: {data: train}`, is one
# derived entry away: the compute budget's choice).
WHOLE_SPLIT = "study: 10 epochs on the training split less its last 10 %; ours: 10 on all of it"
CIFAR_PRUNE_TEACHER_ALL = f"study's teacher: 10 + 2 epochs; ours: 10; {WHOLE_SPLIT}"
FT_SPLIT = "fine-tune on the training split less its last 10 % (study) or 5000 seeded images (ours)"


# The notebooks that held out 10 % pruned (and distilled from) their teacher trained on the rest,
# the row above theirs; ours prune and distil from the matrix's `teacher`, trained on all of it.
def _from_teacher(study_epochs: str, ours_epochs: int) -> str:
    return (f"study: from the teacher above ({study_epochs} epochs on 90 % of the split); ours: from "
            f"`teacher` ({ours_epochs} on all of it), not the row above")


PRUNED_TEACHER = {("pruning_notebook", "mnist"): _from_teacher("5", 5),
                  ("pruning_notebook", "cifar10"): _from_teacher("10 + 2", 10),
                  ("sequential_notebook", "mnist"): _from_teacher("5", 5),
                  ("sequential_notebook", "cifar10"): _from_teacher("10", 10)}
RAMP = "study ramps 0.5 → 0.8 over the whole fine-tune; ours over its first 75 %"
SEQ_KD_MNIST = "study: from the pruned teacher; ours: from the unpruned `teacher` (5 epochs on all of the split)"
# The quantization notebooks distil one `student` object from the float32 teacher, then
# again from the QAT teacher, and export it after both: their published KD student had 6
# epochs, as student-kd-quant6 has (all from the float32 teacher).
def _twice(first: str, cells: str) -> str:
    return (f"study: one student object distilled 3 epochs from its float32 teacher ({first} %), then 3 more "
            f"from its QAT teacher with a fresh Adam ({cells}); ours: 6 epochs from the float32 teacher, "
            "one optimizer")


TWICE_DISTILLED = {"mnist": _twice("97.30", "In[8], In[9]"), "cifar10": _twice("68.01", "In[7], In[8]")}
# knowledge_distill's MNIST teacher alone has no Dropout (NOTEBOOK_ZOO_NOTES).
KD_MNIST_TEACHER = "study's teacher: no Dropout; ours: Dropout(0.5), as in its other three MNIST notebooks"
SEQ_KD_CIFAR = ("study: from its teacher object, which pruning may have changed in place; ours: from the unpruned "
                "`teacher` (10 epochs on all of the split)")

# (notebook, configuration) -> {dataset: (our variant, what still differs)}; "*" = every dataset.
# A base named as one of the matrix's is its study-protocol twin where the matrix trains under
# another protocol (study_twins).
ROWS = {
    ("quantization_notebook", "teacher_float32"): {"*": ("teacher-study5+none+float32", VAL_SPLIT)},
    ("quantization_notebook", "teacher_qat_int8"): {"*": ("teacher-study5+none+qat-scratch", VAL_SPLIT)},
    ("quantization_notebook", "teacher_ptq_dynamic"): {"*": ("teacher-study5+none+ptq-dynamic", VAL_SPLIT)},
    ("quantization_notebook", "teacher_ptq_fp16"): {"*": ("teacher-study5+none+ptq-fp16", VAL_SPLIT)},
    ("quantization_notebook", "student_kd_float32"): {
        ds: ("student-kd-quant6+none+float32", note) for ds, note in TWICE_DISTILLED.items()},
    ("quantization_notebook", "student_kd_qat"): {"*": ("student-kd-quant+none+qat-scratch", "")},
    ("quantization_notebook", "student_kd_ptq_dynamic"): {
        ds: ("student-kd-quant6+none+ptq-dynamic", note) for ds, note in TWICE_DISTILLED.items()},
    ("quantization_notebook", "student_kd_ptq_fp16"): {
        ds: ("student-kd-quant6+none+ptq-fp16", note) for ds, note in TWICE_DISTILLED.items()},
    ("quantization_notebook", "student_scratch"): {"mnist": ("student-scratch+none+float32", ""),
                                                   "cifar10": ("student-scratch-quant+none+float32", "")},
    ("distillation_notebook", "teacher"): {"mnist": ("teacher+none+float32", KD_MNIST_TEACHER),
                                           "cifar10": ("teacher+none+float32", "")},
    ("distillation_notebook", "ta"): {"mnist": ("ta-study+none+float32", KD_MNIST_TEACHER),
                                      "cifar10": ("ta-study+none+float32", "")},
    ("distillation_notebook", "student_takd"): {"mnist": ("student-takd-study+none+float32", KD_MNIST_TEACHER),
                                                "cifar10": ("student-takd-study+none+float32", "")},
    ("distillation_notebook", "student_kd"): {"mnist": ("student-kd-study+none+float32", KD_MNIST_TEACHER),
                                              "cifar10": ("student-kd-study+none+float32", "")},
    ("distillation_notebook", "student_scratch"): {"*": ("student-scratch+none+float32", "")},
    # The teachers before pruning: on MNIST the base trained 5 epochs on the split less the
    # validation images (the notebooks' 90 %: teacher-study5), on CIFAR-10 the study-protocol
    # teacher (10 epochs, all of the split); the pruned rows come from that teacher, pruned
    # (PRUNED_TEACHER).
    ("pruning_notebook", "teacher_before"): {"mnist": ("teacher-study5+none+float32", VAL_SPLIT),
                                             "cifar10": ("teacher+none+float32", CIFAR_PRUNE_TEACHER_ALL)},
    ("pruning_notebook", "teacher_pruned"): {
        ds: ("teacher+study-constant+float32", f"{PRUNED_TEACHER['pruning_notebook', ds]}; {FT_SPLIT}")
        for ds in ("mnist", "cifar10")},
    ("sequential_notebook", "teacher"): {"mnist": ("teacher-study5+none+float32", VAL_SPLIT),
                                         "cifar10": ("teacher+none+float32", WHOLE_SPLIT)},
    ("sequential_notebook", "teacher_pruned"): {
        ds: ("teacher+local-all+float32", f"{PRUNED_TEACHER['sequential_notebook', ds]}; {FT_SPLIT}; {RAMP}")
        for ds in ("mnist", "cifar10")},
    # seq-kd: the study's loss at T 10, dense and pruned (params `derived`).
    ("sequential_notebook", "student_kd"): {"mnist": ("seq-kd+none+float32", SEQ_KD_MNIST),
                                            "cifar10": ("seq-kd+none+float32", SEQ_KD_CIFAR)},
    ("sequential_notebook", "student_kd_pruned"): {"mnist": ("seq-kd+local-all+float32", f"{SEQ_KD_MNIST}; {RAMP}"),
                                                   "cifar10": ("seq-kd+local-all+float32", f"{SEQ_KD_CIFAR}; {RAMP}")},
}
# The study's temperature sweep: {T: accuracy}; ours is the derived base trained like its
# KD student (from the teacher, the study's loss) at that T.
SWEEPS = {("distillation_notebook", "temperature_sweep_student_kd"): "student-kd-study"}


@dataclass(frozen=True)
class Row:
    notebook: str
    configuration: str
    variant: str | None
    quantity: str          # "accuracy %", ".tflite MiB" or "gzip bytes"
    study: float
    ours: float | None     # None: not run
    differs: str           # what still differs in the protocol ("" = nothing known)
    verdict: str
    interval: tuple[float, float] = (math.nan, math.nan)  # accuracy: where one new run of ours lands, %
    spread_from: str = ""  # accuracy: whose spread the interval uses


def row_for(rows: dict, dataset: str):
    return rows.get(dataset) or rows.get("*")


def accuracy_verdict(ours: pd.Series, study: float, n_test: int,
                     pool: S.Spread = S.NO_SPREAD) -> tuple[float, tuple[float, float], str, str]:
    """(ours − study in pp, the 95 % prediction interval of one new run of our configuration
    in %, verdict, whose spread): the study's one run is such a run, so it is within when
    inside the interval. t-based from the configuration's own seeds (n >= 2); with one seed
    from `pool`, the pooled spread of its protocol family, with that pool's degrees of
    freedom; with neither, the binomial error of one evaluation on n_test images."""
    n, mean = int(ours.get("n", 1)), 100.0 * float(ours["accuracy"])
    own = 100.0 * float(ours.get("accuracy_std", math.nan))
    if n >= 2 and not math.isnan(own):
        sd, df, whose = own, n - 1, f"own {n} seeds"
    elif pool.known:
        sd, df, whose = pool.sd, pool.df, f"protocol family pool (df {pool.df:g})"
    else:
        p = mean / 100.0
        sd, df, whose = 100.0 * math.sqrt(max(p * (1 - p), 0.0) / max(n_test, 1)), math.inf, "binomial only"
    lo, hi = S.prediction_interval(mean, sd, n, df)
    s = 100.0 * study
    verdict = WITHIN if lo <= s <= hi else LOWER if s > hi else HIGHER
    return mean - s, (lo, hi), verdict, whose


def size_verdict(ours: float, study: float) -> str:
    ratio = ours / study
    return SAME_SIZE if abs(ratio - 1) <= SIZE_TOLERANCE else LARGER if ratio > 1 else SMALLER


def study_twins(params: dict) -> dict[str, str]:
    """The matrix's bases -> their twins trained under the study's protocol (`train.name`):
    the `claims.protocols` entry whose bases all train under it (resolved params' `protocols`
    name each base's family), when the matrix's protocol is another; {} when the matrix itself
    trains under the study's protocol."""
    study = (params.get("train") or {}).get("name")
    if not params.get("matrix") or PF.matrix_family(params) == study:
        return {}
    family = {b: p.get("family") for per in (params.get("protocols") or {}).values() for b, p in per.items()}
    for mapping in ((params.get("claims") or {}).get("protocols") or {}).values():
        if mapping and all(family.get(b) == study for b in mapping.values()):
            return dict(mapping)
    return {}


def as_study(variant: str | None, twins: dict[str, str]) -> str | None:
    """`variant` with its base replaced by its study-protocol twin, if it has one."""
    if variant is None or not twins:
        return variant
    base, prune, cluster, quant = matrix.parse_variant(variant)
    return matrix.variant(twins.get(base, base), prune, quant, cluster)


def _sweep_variant(params: dict, dataset: str, like: str, temperature) -> str | None:
    """The base trained like `like` at `temperature` (itself, or one derived from it)."""
    protocols = (params.get("protocols") or {}).get(dataset, {})
    derived = params.get("derived") or {}
    for base, p in protocols.items():
        if (base == like or derived.get(base, {}).get("like") == like) and float(p.get("temperature", -1)) == float(
                temperature) and (base == like or set(derived[base]) <= {"like", "distill", "datasets"}):
            return f"{base}+none+float32"
    return None


def rows(reference: dict, stats: pd.DataFrame, params: dict, n_test: dict,
         frame: pd.DataFrame | None = None) -> dict[str, list[Row]]:
    """Per dataset, one Row per number the study published; `frame` (the results) gives
    the protocol families' pooled spreads a one-seed configuration borrows."""
    runs = E.Runs(frame if frame is not None else pd.DataFrame())
    pools = E.training_spreads(runs, params)
    bases = matrix.bases(params) if params.get("matrix") else {}
    twins = study_twins(params)
    out = {}
    for ds, notebooks in reference.items():
        if not isinstance(notebooks, dict):
            continue
        ours = stats[stats["dataset"] == ds].set_index("variant")
        found = []

        def add(notebook, config, variant, differs, value):
            have = variant is not None and variant in ours.index
            r = ours.loc[variant] if have else None
            v = value if isinstance(value, dict) else {"accuracy": value}
            n = int(n_test.get(ds, C.DEFAULT_N_TEST))
            if "accuracy" in v:
                study = float(v["accuracy"])
                if have:
                    base = matrix.parse_variant(variant)[0]
                    pool = E.training_spread(runs, params, ds, base, pools) if base in bases else S.NO_SPREAD
                    _, interval, verdict, whose = accuracy_verdict(r, study, n, pool)
                else:
                    interval, verdict, whose = (math.nan, math.nan), NOT_RUN, ""
                found.append(Row(notebook, config, variant, "accuracy %", study,
                                 float(r["accuracy"]) if have else None, differs, verdict, interval, whose))
            if "tflite_mib" in v:
                study, mine = float(v["tflite_mib"]), float(r["tflite_bytes"]) / MIB if have else None
                found.append(Row(notebook, config, variant, ".tflite MiB", study, mine, differs,
                                 size_verdict(mine, study) if have else NOT_RUN))
            if "gzip_h5_bytes" in v:
                found.append(Row(notebook, config, variant, "gzip bytes", float(v["gzip_h5_bytes"]),
                                 float(r["gzip_bytes"]) if have else None, differs, FORMATS if have else NOT_RUN))

        for notebook, configs in notebooks.items():
            for config, value in (configs or {}).items() if isinstance(configs, dict) else ():
                if (notebook, config) in SWEEPS:
                    for t, acc in value.items():
                        add(notebook, f"{config} T={t}", _sweep_variant(params, ds, SWEEPS[(notebook, config)], t),
                            "", acc)
                    continue
                variant, differs = row_for(ROWS.get((notebook, config), {}), ds) or (None, "")
                add(notebook, config, as_study(variant, twins), differs, value)
        out[ds] = found
    return out


def counts(found: dict[str, list[Row]], params: dict | None = None) -> dict[str, dict[str, int]]:
    """Per dataset, how many rows have each verdict; with `params`, the accuracy rows of one
    trained model (its float32, dynamic-range and float16 exports) count once, with the
    verdict of its first row (the reproduction lists the float32 export first)."""
    out = {}
    for ds, rs in found.items():
        c, seen = {}, set()
        for r in rs:
            if params is not None and r.quantity == "accuracy %" and r.variant:
                key = E.trained_model(params, ds, r.variant)
                if key in seen:
                    continue
                seen.add(key)
            c[r.verdict] = c.get(r.verdict, 0) + 1
        out[ds] = dict(sorted(c.items()))
    return out


def loss_pairs(stats: pd.DataFrame, params: dict) -> list[dict]:
    """The study's loss (no T²) next to ours (T²) at the same T, from the same teacher into
    the same architecture: every pair of distilled bases whose protocols differ only in
    t_squared (a TA and a student share a protocol, not an architecture)."""
    out, bases = [], matrix.bases(params)  # each base's teacher and arch, inherited along `like`
    for ds, protocols in (params.get("protocols") or {}).items():
        have = set(stats[stats["dataset"] == ds]["variant"])
        kd = {b: p for b, p in protocols.items() if "t_squared" in p and f"{b}+none+float32" in have}
        for a, pa in kd.items():
            for b, pb in kd.items():
                same = {k: v for k, v in pa.items() if k != "t_squared"} == {k: v for k, v in pb.items()
                                                                           if k != "t_squared"}
                if (pa["t_squared"] and not pb["t_squared"] and same
                        and (bases[a].teacher, bases[a].arch) == (bases[b].teacher, bases[b].arch)):
                    out.append({"dataset": ds, "ours": a, "study": b, "temperature": pa["temperature"]})
    return out


def is_number(v) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))

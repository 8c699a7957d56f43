"""Load and validate params.yaml: the JSON Schema first (schema.py), then the
cross-references a schema cannot express. Every problem is reported with its key and
what is allowed."""
from __future__ import annotations

import copy
from pathlib import Path

from . import matrix as M
from . import schema as S
from .catalog import datasets as D
from .matrix import BASES as BASE_NAMES
from .catalog import architectures as A
from .overrides import coerce
from .sweeps import expand_sweeps, sweep_name, sweeps, _expand_all  # noqa: F401 (params.sweep_name et al.)
from .paramfile import ParamsError, check_size, load_yaml  # noqa: F401 (the Snakefile reads them here)

ROOT = Path(__file__).resolve().parents[2]
# Global pruning caps each layer at 99 % (prune.MAX_LAYER_SPARSITY) and rounds each layer's share
# down, so 0.99 overall is out of reach by a few weights; 0.98 leaves a layer of 100 weights per layer.
GLOBAL_MAX_SPARSITY = 0.98


def _cross_errors(cfg: dict) -> list[str]:
    errors = []
    prune, quant = cfg["prune"]["schemes"], cfg["quantize"]["schemes"]
    for i, name in enumerate(cfg["matrix"]["prune"]):
        if name != "none" and name not in prune:
            errors.append(f"matrix.prune[{i}]: {name!r} is not a pruning scheme; allowed: none, {', '.join(prune)}")
    clusters = cfg["cluster"]["schemes"]
    for i, name in enumerate(cfg["matrix"].get("cluster", ["none"])):
        if name != "none" and name not in clusters:
            errors.append(f"matrix.cluster[{i}]: {name!r} is not a cluster scheme; allowed: none, {', '.join(clusters)}")
    for i, name in enumerate(cfg["matrix"]["quant"]):
        if name not in quant:
            errors.append(f"matrix.quant[{i}]: {name!r} is not a quantization scheme; allowed: {', '.join(quant)}")
    for name, s in prune.items():
        if "initial_sparsity" in s and s["initial_sparsity"] > s["sparsity"]:
            errors.append(f"prune.schemes.{name}.initial_sparsity: {s['initial_sparsity']} exceeds "
                          f"sparsity {s['sparsity']}; allowed: 0 <= initial_sparsity <= sparsity")
        if s["method"] == "global" and GLOBAL_MAX_SPARSITY < s["sparsity"] <= S.schema()["$defs"]["sparsity"]["maximum"]:
            errors.append(f"prune.schemes.{name}.sparsity: {s['sparsity']} is beyond what global pruning reaches "
                          f"(no layer beyond 99 %, each layer's share rounded down); allowed: at most "
                          f"{GLOBAL_MAX_SPARSITY}")
        if s["method"] == "m_by_n" and s["m"] >= s["n"]:
            errors.append(f"prune.schemes.{name}: m={s['m']} must be smaller than n={s['n']}")
    errors += A.errors(cfg)  # names, factories, and saved models against their sha256 (in the work tree)
    for ds, archs in cfg["zoo"].items():
        for arch, layers in archs.items():
            kinds = S.schema()["$defs"]["layer"]["properties"]
            if any(not isinstance(layer, dict) or len(layer) != 1 or next(iter(layer)) not in kinds
                   for layer in layers):
                continue  # a malformed layer: the schema's message is the one root cause
            if not any("dense" in layer or "conv" in layer for layer in layers):
                errors.append(f"zoo.{ds}.{arch}: needs at least one conv or dense layer")
            errors += _layer_order_errors(f"zoo.{ds}.{arch}", layers)
    bases = [*BASE_NAMES, *(cfg.get("derived") or {})]
    errors += [f"sensitivity.bases[{i}]: {b!r} is not a base; allowed: {', '.join(bases)}"
               for i, b in enumerate(cfg["sensitivity"]["bases"]) if b not in bases]
    return (errors + _dataset_errors(cfg) + _only_errors(cfg) + _derived_errors(cfg) + _protocol_errors(cfg)
            + _control_errors(quant, cfg["matrix"]["quant"]))


def _dataset_errors(cfg: dict) -> list[str]:
    """Dataset names against the catalog (its built-ins and data.local): the matrix's,
    those keyed in data.sources, zoo and train.epochs; every dataset run has its
    architectures and epochs; a user dataset's entry is well-formed and its files exist."""
    known, run = D.names(cfg), cfg["matrix"]["datasets"]
    errors = [f"matrix.datasets[{i}]: {ds!r} is not a dataset; allowed: {', '.join(known)} "
              "(or declare it in data.local)" for i, ds in enumerate(run) if ds not in known]
    for name, entry in D.local(cfg).items():
        errors += D.entry_errors(name, entry)
    fetched = [n for n in D.BUILTIN if D.get(n).fetched]
    errors += [f"data.sources.{ds}: not a downloaded dataset; allowed: {', '.join(fetched)}"
               for ds in cfg["data"]["sources"] if ds not in fetched]
    for where, keyed in (("zoo", cfg["zoo"]), ("train.epochs", cfg["train"]["epochs"])):
        errors += [f"{where}.{ds}: {ds!r} is not a dataset; allowed: {', '.join(known)}"
                   for ds in keyed if ds not in known]
        errors += [f"{where}: no entry for dataset {ds!r} (matrix.datasets); allowed: add {where}.{ds}"
                   for ds in run if ds in known and ds not in keyed]
    return errors


def _protocol_errors(cfg: dict) -> list[str]:
    """Every protocol family named exists: train's own or a key of families."""
    families = [cfg["train"]["name"], *(cfg.get("families") or {})]
    named = [("matrix.protocol", cfg["matrix"].get("protocol"))]
    named += [(f"derived.{n}.protocol", d.get("protocol")) for n, d in (cfg.get("derived") or {}).items()]
    errors = [f"{key}: {value!r} is not a protocol family; allowed: {', '.join(families)}"
              for key, value in named if value is not None and value not in families]
    if cfg["train"]["name"] in (cfg.get("families") or {}):
        errors.append(f"families.{cfg['train']['name']}: train's own family; allowed: another name")
    known = D.names(cfg)
    errors += [f"families.{n}.by_dataset.{ds}: not a dataset; allowed: {', '.join(known)}"
               for n, f in (cfg.get("families") or {}).items() for ds in (f.get("by_dataset") or {})
               if ds not in known]
    # Decoupled weight decay is AdamW's (training.optimizer): refused here, not at the end of a fit.
    for key, family in [("train", cfg["train"]), *((f"families.{n}", cfg["train"] | f)
                                                      for n, f in (cfg.get("families") or {}).items())]:
        if family["weight_decay"] and family["optimizer"] != "adam":
            errors.append(f"{key}.weight_decay: {family['weight_decay']} with optimizer {family['optimizer']!r}; "
                          "allowed: 0, or optimizer adam (AdamW)")
    return errors


def _layer_order_errors(where: str, layers: list) -> list[str]:
    """models.build flattens before the first dense layer: no conv or pool may follow it."""
    kinds = [next(iter(layer)) for layer in layers]
    first = next((i for i, k in enumerate(kinds) if k == "dense"), len(kinds))
    late = [f"{k} [{i}]" for i, k in enumerate(kinds) if i > first and k in ("conv", "pool")]
    return [f"{where}: {', '.join(late)} after the dense layer [{first}]; allowed: conv and pool layers "
            "before the first dense layer (it flattens)"] if late else []


def _val_errors(cfg: dict) -> list[str]:
    """Teachers write their logits on the validation split, which val_size 0 leaves empty."""
    if cfg["data"]["val_size"] > 0:
        return []
    info = M.bases(cfg)
    teachers = sorted({info[b].teacher for _, _, b in M.base_models(cfg) if info[b].teacher})
    if not teachers:
        return []
    return [f"data.val_size: 0 leaves no validation images, but the run's teachers ({', '.join(teachers)}) "
            "write their logits on them for their students; allowed: 1 <= val_size <= 20000, or 0 with no "
            "distilled base in the matrix"]


def _only_errors(cfg: dict) -> list[str]:
    """matrix.only limits declared bases and schemes to declared values (a scheme the
    matrix does not run limits nothing, so narrowing the matrix needs no edit here; nor does
    removing a derived base its lists name: it has no cells)."""
    known = {"datasets": D.names(cfg), "bases": [*BASE_NAMES, *(cfg.get("derived") or {})],
             "prune": ["none", *cfg["prune"]["schemes"]], "cluster": ["none", *cfg["cluster"]["schemes"]],
             "quant": list(cfg["quantize"]["schemes"])}
    named = sorted({*known["bases"], *known["prune"], *known["cluster"], *known["quant"]})
    errors = []
    for name, limits in (cfg["matrix"].get("only") or {}).items():
        if name not in named:
            errors.append(f"matrix.only.{name}: not a base or scheme; allowed: {', '.join(named)}")
        for axis, values in limits.items():
            # a derived base the params do not declare (any more) has no cells: naming it limits nothing
            errors += [f"matrix.only.{name}.{axis}: {v!r} is not one; allowed: {', '.join(known[axis])}"
                       for v in values if v not in known[axis] and axis != "bases"]
    for i, r in enumerate(cfg["matrix"].get("replicates") or []):
        for axis, values in r.items():
            if axis in known:
                errors += [f"matrix.replicates[{i}].{axis}: {v!r} is not one; allowed: {', '.join(known[axis])}"
                           for v in values if v not in known[axis]]
    return errors


def _derived_errors(cfg: dict) -> list[str]:
    """A derived base is trained like a known base (one of the five or a derived one
    declared before it); only distilled ones take a teacher (one that writes logits,
    never itself through a chain) or distill settings; the cells it names exist, and
    QAT from scratch (which re-initialises the model) runs on unpruned, unclustered ones."""
    derived = cfg.get("derived") or {}
    known = {"datasets": D.names(cfg), "prune": ["none", *cfg["prune"]["schemes"]],
             "quant": list(cfg["quantize"]["schemes"])}
    errors, earlier = [], list(BASE_NAMES)
    roots = {}
    for name, d in derived.items():
        where = f"derived.{name}"
        if name in BASE_NAMES:
            errors.append(f"{where}: {name!r} is one of the five bases; allowed: a new name")
            continue
        if d["like"] not in earlier:
            errors.append(f"{where}.like: {d['like']!r} is not a base declared before it; allowed: "
                          f"{', '.join(earlier)}")
            continue
        earlier.append(name)
        roots[name] = b = roots.get(d["like"], d["like"])
        distilled = BASE_NAMES[b].teacher is not None
        if not distilled and ("teacher" in d or "distill" in d):
            errors.append(f"{where}: {b} is trained on the labels; allowed: no teacher or distill keys")
        if "teacher" in d:
            t = d["teacher"]
            if t not in earlier[:-1] or roots.get(t, t) not in M.TEACHERS:
                errors.append(f"{where}.teacher: {t!r} is no teacher declared before it; allowed: "
                              f"{', '.join(n for n in earlier[:-1] if roots.get(n, n) in M.TEACHERS)}")
        for axis, values in known.items():
            errors += [f"{where}.{axis}: {v!r} is not one; allowed: {', '.join(values)}"
                       for v in d.get(axis, []) if v not in values]
        scratch = [q for q in d.get("quant", []) if cfg["quantize"]["schemes"].get(q, {}).get("method") == "qat-scratch"]
        if scratch and set(d.get("prune", ["none"])) != {"none"}:
            errors.append(f"{where}: {scratch[0]} retrains the model from scratch, so it cannot follow pruning; "
                          "allowed: prune [none] (declare the pruned cells as another derived base)")
    for name, limits in (cfg["matrix"].get("only") or {}).items():
        if name in derived:
            errors.append(f"matrix.only.{name}: a derived base names its cells in derived.{name}; allowed: "
                          "datasets, prune and quant there")
        if cfg["quantize"]["schemes"].get(name, {}).get("method") == "qat-scratch":
            errors.append(f"matrix.only.{name}: QAT from scratch runs in the derived bases' cells only")
    if any(cfg["quantize"]["schemes"].get(q, {}).get("method") == "qat-scratch" for q in cfg["matrix"]["quant"]):
        errors.append("matrix.quant: QAT from scratch (qat-scratch) re-initialises the model, so it cannot "
                      "follow pruning; allowed: in derived bases' cells (prune [none])")
    return errors


# ---- protocols ---------------------------------------------------------------

PROTOCOL_KEYS = ("precision", "optimizer", "learning_rate", "schedule", "batch_size", "data", "augment", "shift",
                 "weight_decay")
DISTILL_KEYS = ("alpha", "temperature", "t_squared")


def family(cfg: dict, base: str) -> str:
    """The protocol family a base trains under: the nearest `protocol` on its chain of
    `like`, else the matrix's, else train's own name."""
    derived = cfg.get("derived") or {}
    while base in derived:
        if "protocol" in derived[base]:
            return derived[base]["protocol"]
        base = derived[base]["like"]
    return cfg["matrix"].get("protocol", cfg["train"]["name"])


def protocol(cfg: dict, dataset: str, base: str) -> dict:
    """How a base model is trained on `dataset`: its family (`train`, overlaid by
    `families.<family>` for another family), `distill` for a distilled one, then the
    overrides of every derived base on its chain of `like`; `family` names the family."""
    derived = cfg.get("derived") or {}
    chain = [base]
    while chain[-1] in derived:
        chain.append(derived[chain[-1]]["like"])
    root = chain[-1]
    name = family(cfg, base)
    fam = (cfg.get("families") or {}).get(name, {}) if name != cfg["train"]["name"] else {}
    here = (fam.get("by_dataset") or {}).get(dataset, {})  # the family's augmentation on this dataset
    t = cfg["train"] | fam | here
    # a family's epochs replace train's per dataset: a dataset it does not list (a user's) keeps train's
    epochs = {**cfg["train"]["epochs"], **(fam.get("epochs") or {})}
    out = {"family": name} | {k: t[k] for k in PROTOCOL_KEYS} | {"epochs": epochs[dataset][root]}
    # the family's fine-tune style (none: the study's), augmenting as its models do on this dataset
    out["fine_tune"] = dict(t.get("fine_tune", {}))
    if out["fine_tune"]:
        out["fine_tune"] |= here
    out["flip"] = D.get(dataset, cfg).flip  # augmentation flips images only where the catalog allows
    if BASE_NAMES[root].teacher:
        out |= {k: cfg["distill"][k] for k in DISTILL_KEYS}
    for name in reversed(chain[:-1]):
        out |= derived[name].get("train", {}) | derived[name].get("distill", {})
    return out


def resolve(cfg: dict, files=("params.yaml",)) -> dict:
    """What every consumer reads: `cfg` coerced (see coerce), validated, sweeps
    expanded (and listed as `sweeps`: name -> entries), and `protocols` (dataset ->
    base -> protocol) added."""
    cfg, names = _expand_all(validate(coerce(cfg, files)))
    cfg["sweeps"] = names
    cfg["protocols"] = {ds: {b: protocol(cfg, ds, b) for b in M.bases(cfg)} for ds in cfg["matrix"]["datasets"]}
    cfg["archs"] = {ds: {b: A.value(cfg, ds, info.arch) for b, info in M.bases(cfg).items()}
                    for ds in cfg["matrix"]["datasets"]}
    cfg["datasets"] = {ds: D.get(ds, cfg).facts() for ds in cfg["matrix"]["datasets"]}
    return cfg


def _control_errors(quant: dict, in_matrix: list) -> list[str]:
    """A float32-ft control trains exactly as the QAT schemes of the matrix it controls."""
    errors = []
    qat = {n: s for n, s in quant.items() if s["method"] == "qat" and n in in_matrix}
    for name, s in quant.items():
        if s["method"] != "float32-ft" or name not in in_matrix:
            continue
        for other, q in qat.items():
            for key in ("epochs", "batch_size", "learning_rate"):
                if s[key] != q[key]:
                    errors.append(f"quantize.schemes.{name}.{key}: {s[key]} differs from {other}'s {q[key]}; "
                                  f"allowed: {q[key]} (a control trains exactly as the scheme it controls)")
    return errors


def _split_errors(cfg: dict) -> list[str]:
    """Validation images fewer than the training images, and batch sizes no larger than
    the training split they batch, in every dataset run."""
    val = cfg["data"]["val_size"]
    known = D.names(cfg)
    sizes = {ds: D.get(ds, cfg).train_size() for ds in cfg["matrix"]["datasets"] if ds in known}
    cut = (cfg["data"].get("slice") or {}).get("train")  # data.slice keeps fewer
    sizes = {ds: min(n, cut or n) for ds, n in sizes.items() if n is not None}
    too_few = [f"data.val_size: {val} exceeds the {ds} training split ({n} images); allowed: 0 <= val_size < {n}"
               for ds, n in sizes.items() if val >= n]
    if too_few:
        return too_few  # one root cause: the batch sizes are not compared with a negative split
    splits = {ds: n - val for ds, n in sizes.items()}
    if not splits:
        return []
    ds = min(splits, key=splits.get)
    batches = {"train.batch_size": cfg["train"]["batch_size"],
               "prune.fine_tune.batch_size": cfg["prune"]["fine_tune"]["batch_size"],
               "cluster.fine_tune.batch_size": cfg["cluster"]["fine_tune"]["batch_size"]}
    batches |= {f"quantize.schemes.{name}.batch_size": s["batch_size"]
                for name, s in cfg["quantize"]["schemes"].items() if "batch_size" in s}
    batches |= {f"derived.{name}.train.batch_size": d["train"]["batch_size"]
                for name, d in (cfg.get("derived") or {}).items() if "batch_size" in d.get("train", {})}
    return [f"{key}: {batch} exceeds the {ds} training split ({sizes[ds]} images - data.val_size "
            f"{val} = {splits[ds]}); allowed: 1 <= batch_size <= {splits[ds]}"
            for key, batch in batches.items() if batch > splits[ds]]


def validate(cfg: dict) -> dict:
    """Return `cfg` if valid (with its sweeps expanded, see expand_sweeps), else raise
    ParamsError listing every problem."""
    if not isinstance(cfg, dict):
        raise ParamsError("params: expected a mapping at the top level")
    try:
        expanded = expand_sweeps(cfg)
    except (KeyError, TypeError, AttributeError):
        expanded = cfg  # malformed: the schema names what is wrong
    errors = S.errors(expanded)
    refused = {e.split(":", 1)[0] for e in errors}  # a key the schema refuses gets that one message
    for check in (_cross_errors, _split_errors, _val_errors):
        try:  # cross-references too, where the parts they need are well-formed
            errors += [e for e in check(expanded) if e not in errors and e.split(":", 1)[0] not in refused]
        except (KeyError, TypeError, AttributeError):
            pass
    if errors:
        raise ParamsError("invalid parameters:\n  - " + "\n  - ".join(errors))
    return cfg


def upgrade(cfg: dict) -> dict:
    """A copy of an older run's params with the keys added since filled in as those runs
    behaved, so the tools that read other runs (projection, compare) can resolve them."""
    cfg = copy.deepcopy(cfg)
    train = cfg.get("train")
    if isinstance(train, dict):  # protocol families and their keys (the study's values)
        for key, value in (("name", "study"), ("shift", 2), ("weight_decay", 0.0)):
            train.setdefault(key, value)
    for scheme in ((cfg.get("cluster") or {}).get("schemes") or {}).values():
        if isinstance(scheme, dict):
            scheme.setdefault("method", "kmeans")  # the one clustering method before the catalog
    if isinstance(cfg.get("data"), dict):
        cfg["data"].setdefault("local", {})  # no user datasets before the catalog
    if "claims" not in cfg:  # the claims' own settings for params before the section (one place)
        from .claims import SETTINGS
        cfg["claims"] = dict(SETTINGS)
    evaluate = cfg.get("evaluate")
    if isinstance(evaluate, dict) and "latency" not in cfg:  # latency timed inside the evaluation
        runs, warmup = evaluate.pop("latency_runs", 200), evaluate.pop("warmup_runs", 20)
        cfg["latency"] = {"warmup_runs": warmup, "min_runs": runs, "check_every": runs, "tolerance": 0.5,
                          "max_runs": runs, "max_seconds": 60}
    return cfg


def load(path="params.yaml") -> dict:
    """params.yaml resolved (sweeps expanded, protocols added), as jobs see it."""
    return resolve(load_yaml(path), files=(path,))


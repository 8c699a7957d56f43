"""The run in a few lines: its cells and variants, each protocol family it used (settings,
bases and their epochs, KD), and the claims' verdicts per dataset and protocol with the
cells each claim reads under each (the first screen's top, markdown.document)."""
from __future__ import annotations

from collections import Counter

import pandas as pd

from . import matrix, selection
from .overview import ROLES, _drop_empty_columns
from .results import DASH
from .tables import table


def _train_protocol(params: dict, dataset: str, base: str) -> dict:
    """A base's protocol from `train` and `distill` where the params resolve none (hand-made
    or older params): one family, train's."""
    tr = params.get("train") or {}
    out = {"family": selection.matrix_family(params), **tr,
           "epochs": (tr.get("epochs") or {}).get(dataset, {}).get(base, DASH)}
    info = matrix.BASES.get(base)
    return out | (dict(params.get("distill") or {}) if info is not None and info.teacher else {})


def families(frame: pd.DataFrame, params: dict) -> dict[str, dict[tuple[str, str], dict]]:
    """family -> {(dataset, base): its protocol} for the base models with results in `frame`,
    the matrix's family first, then in the order the params declare the bases."""
    resolved = params.get("protocols") or {}
    declared = list(dict.fromkeys([*(params.get("matrix") or {}).get("bases", []), *ROLES, *matrix.bases(params)]))
    datasets = list((params.get("matrix") or {}).get("datasets") or [])
    ran = list(dict.fromkeys(zip(frame["dataset"], frame["base"]))) if len(frame) else []
    ran.sort(key=lambda k: (datasets.index(k[0]) if k[0] in datasets else len(datasets),
                            declared.index(k[1]) if k[1] in declared else len(declared)))
    out: dict[str, dict] = {selection.matrix_family(params): {}}
    for ds, b in ran:
        p = (resolved.get(ds) or {}).get(b) or _train_protocol(params, ds, b)
        out.setdefault(p.get("family"), {})[(ds, b)] = p
    return {f: members for f, members in out.items() if members}


def _names(bases: list[str], sweeps: dict) -> str:
    """Base names in backticks, a sweep's members written once when all are there:
    `kd-study-t{2,5,10}`."""
    out, done = [], set()
    for b in bases:
        sweep = next((n for n, ms in sweeps.items() if b in ms and len(ms) > 1 and set(ms) <= set(bases)), None)
        if sweep is None:
            out.append(f"`{b}`")
        elif sweep not in done:
            done.add(sweep)
            out.append(f"`{sweep}{{{','.join(m.removeprefix(sweep) for m in sweeps[sweep])}}}`")
    return ", ".join(out)


def _common(values: dict[str, str], sweeps: dict) -> tuple[str | None, list[str]]:
    """(the text most of a family's bases share for one setting, "text: bases" for the others).
    A sweep whose members differ in it is one item (its members differ by design)."""
    swept = {n: [m for m in ms if m in values] for n, ms in sweeps.items()}
    swept = {n: ms for n, ms in swept.items() if len(ms) >= 2 and len({values[m] for m in ms}) > 1}
    in_sweep = {m for ms in swept.values() for m in ms}
    rest = {b: v for b, v in values.items() if b not in in_sweep}
    common = Counter(rest.values()).most_common(1)[0][0] if rest else None
    groups: dict[str, list[str]] = {}
    for b, v in rest.items():
        if v != common:
            groups.setdefault(v, []).append(b)
    others = [f"{v}: {_names(bs, sweeps)}" for v, bs in groups.items()]
    others += [f"{', '.join(dict.fromkeys(values[m] for m in ms))}: {_names(ms, sweeps)}" for ms in swept.values()]
    return common, others


def _augment(p: dict) -> str:
    if not p.get("augment"):
        return "no augmentation"
    return f"shifts ≤ {p.get('shift')} px" + (", flips" if p.get("flip") else "")


SETTINGS = (  # what the run summary says of a family's training, each a text per protocol ("": unsaid)
    lambda p: str(p.get("optimizer") or ""),
    lambda p: f"rate {p.get('learning_rate')} ({p.get('schedule', 'constant')})",
    lambda p: f"batch {p.get('batch_size')}",
    lambda p: f"data {p.get('data', 'train')}",
    _augment,
    lambda p: f"weight decay {p['weight_decay']}" if p.get("weight_decay") else "",
    lambda p: str(p.get("precision") or ""),
)
KD_SETTINGS = (
    lambda p: f"alpha {p.get('alpha')}",
    lambda p: f"T {float(p.get('temperature')):g}",
    lambda p: "T²" if p.get("t_squared", True) else "no T²",
)


def _describe(members: dict[tuple[str, str], dict], settings, sweeps: dict) -> str:
    """The settings most of a family's bases share, then those some differ in."""
    shared, differ = [], []
    for setting in settings:
        values = {}
        for (_, b), p in members.items():
            values.setdefault(b, setting(p))
        common, others = _common(values, sweeps)
        shared += [common] if common else []
        differ += [o for o in others if not o.startswith(":")]  # a base that says nothing differs in nothing
    return ", ".join(shared) + ("; " + "; ".join(differ) if differ else "")


def _epochs(members: dict[tuple[str, str], dict], sweeps: dict) -> str:
    """A family's bases on one dataset grouped by their epochs: `teacher` (30), `ta` (10)."""
    groups: dict[str, list[str]] = {}
    for (_, b), p in members.items():
        groups.setdefault(str(p.get("epochs", DASH)), []).append(b)
    return ", ".join(f"{_names(bs, sweeps)} ({e})" for e, bs in groups.items())


def protocol_families(frame: pd.DataFrame, params: dict) -> list[str]:
    """One row per protocol family the run used and dataset (a family may train otherwise on
    one dataset, `by_dataset`): its training settings, its bases with their epochs, and its KD
    settings (over its distilled bases)."""
    sweeps, mine = params.get("sweeps") or {}, selection.matrix_family(params)
    rows = []
    for family, members in families(frame, params).items():
        for ds in dict.fromkeys(d for d, _ in members):
            here = {k: p for k, p in members.items() if k[0] == ds}
            distilled = {k: p for k, p in here.items() if "temperature" in p}
            rows.append([f"{family} (the matrix's)" if family == mine else family, ds,
                         _describe(here, SETTINGS, sweeps), _epochs(here, sweeps),
                         _describe(distilled, KD_SETTINGS, sweeps) if distilled else DASH])
    if not rows:
        return []
    rows, headers = _drop_empty_columns(rows, ["protocol family", "dataset", "protocol settings", "bases (epochs)",
                                               "KD"])
    return [table(rows, headers), ""]


def run_summary(frame: pd.DataFrame, params: dict, code: str) -> list[str]:
    """The run in one paragraph (datasets, cells, variants and their seeds, the code version),
    then each protocol family it used (protocol_families)."""
    runs = frame.groupby(["dataset", "variant"]).size() if len(frame) else pd.Series(dtype=int)
    counts = ", ".join(f"{n} run{'s' if n > 1 else ''} (seeds): {k} variants" for n, k in
                       sorted(runs.value_counts().items()))
    datasets = ", ".join(dict.fromkeys(frame["dataset"])) if len(frame) else ""
    variants = frame.groupby("dataset")["variant"].nunique().sum() if len(frame) else 0
    table_lines = protocol_families(frame, params)
    lead = (" Protocol families of its base models (the settings most of a family's bases share; after a "
            "semicolon, those some differ in):") if table_lines else ""
    return [f"**{datasets or 'No dataset'}**: {len(frame)} cells (.tflite files), {variants} variants "
            f"({counts or 'none'}). Code version `{code}`. Terms: *Glossary* below the first screen.{lead}", "",
            *table_lines]


def verdict_keys(claims: list) -> list[str]:
    """The claims' verdict keys ("<dataset> · <protocol>", or datasets) dataset first, each
    dataset's protocols in the order the claims ran them: the protocols side by side."""
    keys = list(dict.fromkeys(k for c in claims for k in c.verdicts))
    datasets = list(dict.fromkeys(k.split(" · ", 1)[0] for k in keys))
    return sorted(keys, key=lambda k: datasets.index(k.split(" · ", 1)[0]))  # stable: protocols keep their order


def claim_protocols(params: dict | None) -> dict[str, dict]:
    """params claims.protocols (protocol -> {role: base}); {} when the claims ran once."""
    return dict(((params or {}).get("claims") or {}).get("protocols") or {})


def _protocols_legend(params: dict | None) -> str:
    """What each protocol column of the verdicts reads: the matrix's bases, or their twins."""
    protocols = claim_protocols(params)
    if not protocols:
        return ""
    said = [f"*{name}*: " + ("the matrix's bases" if not mapping else "their twins " + ", ".join(
        f"`{b}`" for b in mapping.values())) for name, mapping in protocols.items()]
    return (f"Columns: dataset · protocol family the claims' models trained under ({'; '.join(said)}; params "
            "`claims.protocols`). ")


def verdicts(claims: list, reproduced: dict | None = None, params: dict | None = None) -> list[str]:
    """The claims' verdicts per dataset (and protocol, side by side), then how many reproduction
    rows got each verdict."""
    keys = verdict_keys(claims)
    rows = [[f"{c.id}: {c.statement}", *(c.verdicts.get(k, DASH) for k in keys)] for c in claims]
    lines = ["## Verdicts", "", table(rows, ["claim", *keys]), "",
             _protocols_legend(params) + "Rules, noise, evidence and the cells each claim reads: *Claims of the "
             "study* below.", ""]
    if reproduced:
        kinds = list(dict.fromkeys(k for c in reproduced.values() for k in c))
        counts = [[ds, sum(c.values()), *(c.get(k, 0) for k in kinds)] for ds, c in reproduced.items()]
        lines += ["Reproduction of the study's published numbers (rows per verdict; table and protocols in "
                  "*Reproduction* below):", "", table(counts, ["dataset", "reproduction rows", *kinds]), ""]
    return lines


def cells_read(claim, key: str, params: dict | None) -> list[str]:
    """The variants a claim reads under one verdict key ("<dataset> · <protocol>"), by their
    own names: the claims run every protocol under the roles' names (protocol_frames.as_protocol), so
    a role becomes the base that plays it under that protocol (`student-kd` → `student-kd-st`)."""
    mapping = claim_protocols(params).get(key.split(" · ", 1)[1], {}) if " · " in key else {}
    out = []
    for v in claim.cells(key):
        base, prune, cluster, quant = matrix.parse_variant(v)
        out.append(matrix.variant(mapping.get(base, base), prune, quant, cluster))
    return out

"""compare: what a change did to the results, as markdown for a pull-request comment.

    python -m compressbench.compare BASE [HEAD]     (or: make compare BASE=main)

BASE and HEAD are git revisions; HEAD defaults to the working tree. Both
`reports/results.csv` are read with `git show` (no checkout), aggregated per
variant as the report does (claims.variant_stats: mean over seeds), and compared
with the claims' noise rule. Prints the cells added and removed, the cells whose
accuracy moved beyond noise or whose gzip size moved by more than 1 %, largest
first, the claim and reproduction verdicts that flipped and the params that differ. Exits 0; 2 with
one line naming the revision, the file and the problem for an unknown revision, one without
results, or a file that cannot be read (malformed YAML or CSV, an alias bomb, a list where a
mapping belongs): every YAML document goes through the bounded reader, paramfile.loads."""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pandas as pd

from . import claims as C
from . import params as P
from . import paramfile
from . import reproduction as R
from .report_files import REFERENCE
from .tables import table

RESULTS, PARAMS = "reports/results.csv", "params.yaml"
GZIP_CHANGE_PCT = 1.0  # a size change beyond this share is listed


class CompareError(RuntimeError):
    """A revision that is unknown, has no results, or holds a file that cannot be read."""


def _where(rev: str | None, path: str) -> str:
    return f"{rev or 'the working tree'}: {path}"


def mapping_at(text: str, rev: str | None, path: str) -> dict:
    """The YAML mapping in `text` (the file `path` at `rev`), read with the bounded reader;
    an empty file is an empty mapping."""
    try:
        doc = paramfile.loads(text, _where(rev, path))
    except paramfile.ParamsError as exc:
        raise CompareError(str(exc)) from None
    if doc is not None and not isinstance(doc, dict):
        raise CompareError(f"{_where(rev, path)}: expected a mapping at the top level, found a "
                           f"{type(doc).__name__}")
    return doc or {}


def _problem(exc: Exception) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"


def frame_at(text: str, rev: str | None, path: str = RESULTS) -> pd.DataFrame:
    """The results table in `text`, with the columns the comparison reads."""
    try:
        frame = pd.read_csv(io.StringIO(text))
        # Aggregates as variant_stats does, then reads every column it needs (whatever the params).
        C.evaluate_claims(frame, {})
    except pd.errors.EmptyDataError:
        raise CompareError(f"{_where(rev, path)}: empty") from None
    except (pd.errors.ParserError, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise CompareError(f"{_where(rev, path)}: not a results table ({_problem(exc)})") from None
    return frame


def read_at(rev: str | None, path: str, root=".") -> str:
    """The text of `path` at git revision `rev` (None: the working tree)."""
    if rev is None:
        try:
            return (Path(root) / path).read_text()
        except OSError as exc:
            raise CompareError(f"the working tree has no {path} ({exc.strerror})") from None
    known = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd=root,
                           capture_output=True, text=True)
    if known.returncode != 0:
        raise CompareError(f"unknown revision {rev!r}")
    shown = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=root, capture_output=True, text=True)
    if shown.returncode != 0:
        raise CompareError(f"revision {rev!r} has no {path}")
    return shown.stdout


def variants(results_csv: str, rev: str | None = None) -> pd.DataFrame:
    """One row per (dataset, variant): the report's aggregation of the per-seed rows."""
    return C.variant_stats(frame_at(results_csv, rev))


def _flat(d, prefix="") -> dict:
    out = {}
    for k, v in (d or {}).items():
        key = f"{prefix}{k}"
        out.update(_flat(v, key + ".") if isinstance(v, dict) else {key: v})
    return out


def cell_changes(base: pd.DataFrame, head: pd.DataFrame, n_test: int = C.DEFAULT_N_TEST) -> list[dict]:
    """Cells in both whose accuracy differs beyond noise or whose gzip size moved by more
    than GZIP_CHANGE_PCT, largest accuracy change first."""
    b, h = (f.set_index(["dataset", "variant"]) for f in (base, head))
    out = []
    for key in h.index.intersection(b.index):
        diff, noise, sign = C.compare(h.loc[key], b.loc[key], n_test)
        gzip_pct = 100.0 * (float(h.loc[key, "gzip_bytes"]) / float(b.loc[key, "gzip_bytes"]) - 1.0)
        if sign != 0 or abs(gzip_pct) > GZIP_CHANGE_PCT:
            out.append({"dataset": key[0], "variant": key[1], "base %": C.fmt_acc(b.loc[key]),
                        "head %": C.fmt_acc(h.loc[key]), "Δ pp": diff, "noise pp": noise,
                        "beyond noise": sign != 0, "gzip Δ %": gzip_pct})
    return sorted(out, key=lambda r: (-abs(r["Δ pp"]), -abs(r["gzip Δ %"]), r["dataset"], r["variant"]))


def claim_verdicts(results_csv: str, params: dict, rev: str | None = None) -> dict:
    """(claim, dataset) -> verdict with the revision's resolved params (without its baseline
    schemes), as its report had them; params the claims cannot read are named."""
    frame = frame_at(results_csv, rev)
    try:
        return {(c.id, ds): v for c in C.evaluate_claims(frame, params) for ds, v in c.verdicts.items()}
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise CompareError(f"{_where(rev, PARAMS)}: the claims cannot read it ({_problem(exc)})") from None


def verdict_flips(before: dict, after: dict) -> list[list[str]]:
    """(claim, dataset, base verdict, head verdict) wherever the verdict differs."""
    return [[cid, ds, before.get((cid, ds), "—"), after.get((cid, ds), "—")]
            for cid, ds in sorted(set(before) | set(after)) if before.get((cid, ds)) != after.get((cid, ds))]


def _resolved(params_yaml: str, rev: str | None = None) -> dict:
    """A revision's params as the report saw them (older layouts upgraded first); its raw
    params where this code cannot resolve them: only derived-base sweeps then go unmatched."""
    raw = mapping_at(params_yaml, rev, PARAMS)
    try:
        return P.resolve(P.upgrade(raw), files=())
    except (P.ParamsError, KeyError, TypeError, AttributeError):
        return raw


def reproduction_verdicts(results_csv: str, params: dict, reference_yaml: str, rev: str | None = None) -> dict:
    """(dataset, notebook, configuration, quantity) -> verdict, as the report computes them
    (`params` resolved: _resolved)."""
    stats, reference = variants(results_csv, rev), mapping_at(reference_yaml, rev, REFERENCE)
    try:
        found = R.rows(reference, stats, params, {}, frame_at(results_csv, rev))
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise CompareError(f"{_where(rev, PARAMS)} or {REFERENCE}: the reproduction cannot read them "
                           f"({_problem(exc)})") from None
    return {(ds, r.notebook, r.configuration, r.quantity): r.verdict for ds, rows in found.items() for r in rows}


def reproduction_flips(before: dict, after: dict) -> list[list[str]]:
    return [[ds, f"{nb} {cfg}", q, before.get(k, "—"), after.get(k, "—")]
            for k in sorted(set(before) | set(after)) for ds, nb, cfg, q in [k] if before.get(k) != after.get(k)]


def param_changes(base_yaml: str, head_yaml: str) -> list[list[str]]:
    before, after = (_flat(mapping_at(t, None, PARAMS)) for t in (base_yaml, head_yaml))
    shown = lambda d, k: repr(d[k]) if k in d else "—"  # noqa: E731
    return [[k, shown(before, k), shown(after, k)]
            for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]


def report(base_rev: str, head_rev: str | None = None, root=".") -> str:
    """The markdown comparison of two revisions' results."""
    base_csv, head_csv = read_at(base_rev, RESULTS, root), read_at(head_rev, RESULTS, root)
    base_params, head_params = _params_at(base_rev, root), _params_at(head_rev, root)
    base, head = variants(base_csv, base_rev), variants(head_csv, head_rev)
    # Each side's params resolved as its report had them (older layouts upgraded), errors named by side.
    sides = [(rev, _resolved(text, rev), csv) for rev, text, csv in
             ((base_rev, base_params, base_csv), (head_rev, head_params, head_csv))]
    claimed = [claim_verdicts(csv, params, rev) for rev, params, csv in sides]
    reproduced = [reproduction_verdicts(csv, params, _text_at(rev, REFERENCE, root), rev) for rev, params, csv in sides]
    keys = {n: set(zip(f["dataset"], f["variant"])) for n, f in (("base", base), ("head", head))}
    added, removed = sorted(keys["head"] - keys["base"]), sorted(keys["base"] - keys["head"])
    changes, flips = cell_changes(base, head), verdict_flips(*claimed)
    params, reproduced = param_changes(base_params, head_params), reproduction_flips(*reproduced)
    head_name = head_rev or "the working tree"
    lines = [f"## Results: {base_rev} → {head_name}", "",
             f"{len(keys['head'])} cells ({len(added)} added, {len(removed)} removed); accuracy compared with "
             f"the claims' noise rule ({C.NOISE_SIGMAS:g} standard errors), gzip sizes beyond "
             f"{GZIP_CHANGE_PCT:g} %.", ""]
    moved = [c for c in changes if c["beyond noise"]]
    if not moved and not flips and not reproduced and not [c for c in changes
                                                           if abs(c["gzip Δ %"]) > GZIP_CHANGE_PCT]:
        lines += ["**Nothing changed beyond noise.**", ""]
    if changes:
        lines += ["### Cells that changed", "", table(
            [[r["dataset"], f"`{r['variant']}`", r["base %"], r["head %"], f"{r['Δ pp']:+.2f}",
              f"{r['noise pp']:.2f}", "yes" if r["beyond noise"] else "no", f"{r['gzip Δ %']:+.1f}"]
             for r in changes],
            ["dataset", "variant", "base %", "head %", "Δ pp", "noise pp", "beyond noise", "gzip Δ %"]), ""]
    for title, cells in (("Cells added", added), ("Cells removed", removed)):
        if cells:
            lines += [f"### {title}", "", ", ".join(f"{ds} `{v}`" for ds, v in cells), ""]
    if flips:
        lines += ["### Claim verdicts that flipped", "", table(flips, ["claim", "dataset", "base", "head"]), ""]
    if reproduced:
        lines += ["### Reproduction verdicts that flipped", "",
                  table(reproduced, ["dataset", "study configuration", "quantity", "base", "head"]), ""]
    if params:
        lines += ["### Params that differ", "", table(params, ["key", "base", "head"]), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _text_at(rev: str | None, path: str, root) -> str:
    try:
        return read_at(rev, path, root)
    except CompareError:
        return ""  # results without params or reference: nothing to compare


def _params_at(rev: str | None, root) -> str:
    return _text_at(rev, PARAMS, root)


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not 1 <= len(args) <= 2 or args[0].startswith("-"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        sys.stdout.write(report(args[0], args[1] if len(args) == 2 else None))
    except CompareError as exc:
        print(f"compare: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("compare: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

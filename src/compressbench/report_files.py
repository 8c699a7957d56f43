"""What the report phase writes, and the study's figures it reads: the report's own
layout, which the rule table (its outputs) and the report (its writer) both read.

Some figures exist only where the run measures what they show: the rule declares
its outputs before anything runs, so both decide from the (resolved) params alone,
with the functions below: the trade-off curves where a sweep of pruning schemes
runs, the fine-tune budget figure where a pruning scheme runs at several budgets,
the per-layer sensitivity where `sensitivity.bases` names a base the run trains.
Pure functions of the params; light imports (the Snakefile reads them while it parses)."""
from __future__ import annotations

import json
from dataclasses import dataclass

from . import matrix
from .catalog import methods as M

REFERENCE = "reports/reference/arxiv-2305.08075.yaml"  # the study's published figures
REPORT_FILES = {"results": "reports/results.csv", "variants": "reports/variants.csv",
                "summary": "reports/summary.json",
                "report": "reports/report.md", "figure": "reports/figures/{dataset}-pareto.png",
                "tradeoff": "reports/figures/{dataset}-tradeoff.png",
                "budget": "reports/figures/{dataset}-budget.png",
                "sensitivity": "reports/figures/{dataset}-sensitivity.png",
                "sensitivity_table": "reports/plots/{dataset}-sensitivity.csv",
                "plot": "reports/plots/{dataset}.csv", "tradeoff_plot": "reports/plots/{dataset}-tradeoff.csv",
                "budget_plot": "reports/plots/{dataset}-budget.csv",
                "temperature": "reports/figures/temperature.png", "temperature_plot": "reports/plots/temperature.csv"}

BUDGET_KEY = "epochs"  # a pruning scheme's own fine-tune epochs: they replace prune.fine_tune's (prune.py)


def fine_tune_epochs(cfg: dict, scheme: str):
    """The fine-tune epochs of a pruning scheme: its own, else prune.fine_tune's (None: neither)."""
    prune = cfg.get("prune") or {}
    own = (prune.get("schemes") or {}).get(scheme) or {}
    return own.get(BUDGET_KEY, (prune.get("fine_tune") or {}).get(BUDGET_KEY))


@dataclass(frozen=True)
class BudgetSweep:
    """Pruning schemes equal but for their fine-tune epochs, and their equal-budget controls.
    method: the pruning method; settings: what the schemes share (their epochs left out);
    pruned, control: epochs -> scheme, in epochs order (control: the schemes of the method's
    control, e.g. finetune; empty where the params have none)."""
    method: str
    settings: tuple
    pruned: dict
    control: dict

    @property
    def label(self) -> str:
        """The pruned line's name: its method and, where it has one, its sparsity."""
        sparsity = dict(self.settings).get("sparsity")
        return self.method if sparsity is None else f"{self.method} (sparsity {sparsity})"


def _by_epochs(cfg: dict, names) -> dict:
    """Epochs -> the first of `names` (params order) with that fine-tune budget, in epochs order."""
    out = {}
    for n in names:
        out.setdefault(fine_tune_epochs(cfg, n), n)
    return dict(sorted((e, n) for e, n in out.items() if e is not None))


def budget_sweeps(cfg: dict) -> list[BudgetSweep]:
    """The fine-tune budget sweeps of the params: pruning schemes whose method compresses and
    whose settings are all equal but their epochs, at two budgets or more, each with the schemes
    of its method's control by epochs. Chosen by the methods' traits and the schemes' settings,
    never by a scheme's name: `global`, `global-e1`, `global-e5` against `finetune`,
    `finetune-e1`, `finetune-e5` in the default."""
    schemes = (cfg.get("prune") or {}).get("schemes") or {}
    groups: dict[str, list[str]] = {}
    for name in M.schemes_with(cfg, M.PRUNE, role=M.COMPRESS):
        shared = {k: v for k, v in schemes[name].items() if k != BUDGET_KEY}
        groups.setdefault(json.dumps(shared, sort_keys=True, default=str), []).append(name)
    out = []
    for names in groups.values():
        pruned = _by_epochs(cfg, names)
        if len(pruned) < 2:
            continue  # one budget: no sweep (local-all and local-conv differ in more than epochs)
        method = M.get(schemes[names[0]]["method"], M.PRUNE)
        controls = M.schemes_with(cfg, M.PRUNE, name=method.control, role=M.CONTROL) if method.control else []
        shared = {k: v for k, v in schemes[names[0]].items() if k not in (BUDGET_KEY, "method")}
        out.append(BudgetSweep(method.name, tuple(shared.items()), pruned, _by_epochs(cfg, controls)))
    return out


def tradeoff_sweeps(cfg: dict) -> dict[str, list[str]]:
    """The sweeps (params `sweeps`: name -> entries) of how much a pruning method removes:
    every entry a pruning scheme whose method compresses, all at one fine-tune budget, not all
    of them points of budget sweeps. A sweep of epochs is a budget sweep (budget_sweeps) and
    one of the control prunes nothing: neither is a curve of accuracy against compression."""
    compress = set(M.schemes_with(cfg, M.PRUNE, role=M.COMPRESS))
    budgets = {n for sweep in budget_sweeps(cfg) for n in sweep.pruned.values()} if compress else set()
    return {name: list(entries) for name, entries in (cfg.get("sweeps") or {}).items()
            if entries and set(entries) <= compress and not set(entries) <= budgets
            and len({fine_tune_epochs(cfg, e) for e in entries}) == 1}


def _unclustered(cfg: dict, prunes: set) -> list:
    """The run's cells (matrix.cells) of these pruning schemes without a cluster step;
    none without asking the matrix when there are no such schemes."""
    if not prunes:
        return []
    return [c for c in matrix.cells(cfg) if c.prune in prunes and c.cluster == matrix.NO_CLUSTER]


def _in_order(cfg: dict, found: set) -> list[str]:
    return [ds for ds in (cfg.get("matrix") or {}).get("datasets", []) if ds in found]


def tradeoff_datasets(cfg: dict) -> list[str]:
    """The datasets where a trade-off sweep (tradeoff_sweeps) runs: those with its trade-off figure."""
    entries = {e for names in tradeoff_sweeps(cfg).values() for e in names}
    return _in_order(cfg, {c.dataset for c in _unclustered(cfg, entries)})


def budget_datasets(cfg: dict) -> list[str]:
    """The datasets where a budget sweep (budget_sweeps) runs at two budgets or more on one base
    model and export: those with the fine-tune budget figure."""
    found = set()
    for sweep in budget_sweeps(cfg):
        epochs = {scheme: e for e, scheme in sweep.pruned.items()}
        budgets: dict[tuple, set] = {}
        for c in _unclustered(cfg, set(epochs)):
            budgets.setdefault((c.dataset, c.base, c.quant), set()).add(epochs[c.prune])
        found |= {ds for (ds, _, _), es in budgets.items() if len(es) >= 2}
    return _in_order(cfg, found)


def sensitivity_datasets(cfg: dict) -> list[str]:
    """The datasets where a base of `sensitivity.bases` is trained, so analysed (the Snakefile's
    sensitivity_tables): those with a sensitivity figure and table. None when the list is empty."""
    bases = set((cfg.get("sensitivity") or {}).get("bases") or [])
    if not bases:
        return []
    return _in_order(cfg, {ds for ds, _, b in matrix.base_models(cfg) if b in bases})


def written(cfg: dict) -> dict[str, list[str]]:
    """Per dataset-pattern key of REPORT_FILES, the datasets the report writes it for."""
    every = list((cfg.get("matrix") or {}).get("datasets", []))
    tradeoff, budget, sensitivity = tradeoff_datasets(cfg), budget_datasets(cfg), sensitivity_datasets(cfg)
    # The trade-off plot data stay on every dataset (header only without a sweep): dvc.yaml's
    # `plots` names them for every built-in dataset.
    return {"figure": every, "plot": every, "tradeoff_plot": every, "tradeoff": tradeoff,
            "budget": budget, "budget_plot": budget, "sensitivity": sensitivity, "sensitivity_table": sensitivity}

"""Sweeps: a list of numbers in one setting of a scheme or derived base is one entry
per value, named by it (`global-s: {sparsity: [0.5, 0.9]}` -> global-s0.5, global-s0.9),
and every list naming the sweep names its entries instead. Pure functions of the params."""
from __future__ import annotations

import copy
import functools

from .paramfile import ParamsError

# Keys holding lists of names, not numbers: never a sweep.
NAME_LISTS = ("datasets", "bases", "prune", "cluster", "quant", "seeds", "ft_seeds")


def _numbers(value) -> bool:
    return (isinstance(value, list) and len(value) > 0
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value))


def _sweep_key(entry: dict, where: str, prefix=()) -> tuple | None:
    """The path of the one list of numbers in `entry` (a sweep), None when it has none."""
    found = []
    for key, value in entry.items():
        if key in NAME_LISTS:
            continue
        if _numbers(value):
            found.append(prefix + (key,))
        elif isinstance(value, dict):
            inner = _sweep_key(value, where, prefix + (key,))
            found += [inner] if inner else []
    if len(found) > 1:
        raise ParamsError(f"{where}: sweeps {', '.join('.'.join(f) for f in found)} at once; allowed: one "
                          "list of numbers per scheme (declare another scheme for the other)")
    return found[0] if found else None


def sweep_name(name: str, value) -> str:
    """A swept entry's name: the sweep's name followed by the value, exactly (global-s + 0.9 -> global-s0.9)."""
    return f"{name}{int(value) if float(value).is_integer() else value!r}"


def _expand(entries: dict, where: str) -> tuple[dict, dict]:
    """(entries with every sweep replaced by one entry per value, sweep name -> its names)."""
    out, names = {}, {}
    for name, entry in entries.items():
        key = _sweep_key(entry, f"{where}.{name}") if isinstance(entry, dict) else None
        if key is None:
            out[name] = entry
            continue
        values = functools.reduce(lambda d, k: d[k], key, entry)
        names[name] = []
        for v in dict.fromkeys(values):
            one = copy.deepcopy(entry)
            functools.reduce(lambda d, k: d[k], key[:-1], one)[key[-1]] = v
            names[name].append(sweep_name(name, v))
            out[sweep_name(name, v)] = one
    clashes = [n for sweep in names.values() for n in sweep if n in entries]
    if clashes:
        raise ParamsError(f"{where}.{clashes[0]}: a swept entry has the name of another; allowed: distinct names")
    return out, names


def _renamed(values: list, names: dict) -> list:
    return list(dict.fromkeys(n for v in values for n in names.get(v, [v])))


def expand_sweeps(cfg: dict) -> dict:
    """A copy of `cfg` where a scheme or derived base holding a list of numbers (e.g.
    `sparsity: [0.5, 0.9]`) is one entry per value, named by it (`global-s0.5`), and
    every list naming the sweep names its entries instead."""
    return _expand_all(cfg)[0]


def sweeps(cfg: dict) -> dict[str, list[str]]:
    """Sweep name -> the names of its entries, in value order (the report's curves)."""
    return _expand_all(cfg)[1]


def _expand_all(cfg: dict) -> tuple[dict, dict]:
    cfg = copy.deepcopy(cfg)
    names = {}
    for section, where in ((cfg.get("prune"), "prune.schemes"), (cfg.get("cluster"), "cluster.schemes"),
                           (cfg.get("quantize"), "quantize.schemes")):
        if isinstance(section, dict) and isinstance(section.get("schemes"), dict):
            section["schemes"], found = _expand(section["schemes"], where)
            names |= found
    if isinstance(cfg.get("derived"), dict):
        cfg["derived"], found = _expand(cfg["derived"], "derived")
        names |= found
    if not names:
        return cfg, names

    def rename(d: dict):
        for axis in ("bases", "prune", "cluster", "quant"):
            if isinstance(d.get(axis), list):
                d[axis] = _renamed(d[axis], names)
    m = cfg.get("matrix") or {}
    rename(m)
    if isinstance(m.get("only"), dict):
        only = {}
        for name, limits in m["only"].items():
            if isinstance(limits, dict):
                rename(limits)
            only |= {n: copy.deepcopy(limits) for n in names.get(name, [name])}
        m["only"] = only
    for r in m.get("replicates") or []:
        if isinstance(r, dict):
            rename(r)
    for d in (cfg.get("derived") or {}).values():
        if isinstance(d, dict):
            rename(d)
    return cfg, names

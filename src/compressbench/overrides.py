"""Command-line overrides (`snakemake --config`) as the schema wants them: Snakemake
passes list items and values inside mappings as strings."""
from __future__ import annotations

import functools
from pathlib import Path

from .paramfile import ParamsError, load_yaml, loads
from .schema import Validator, schema, types_of as _types


_UNKNOWN = object()  # a value not known yet: if/then/else cannot be decided
_PYTHON = {"integer": int, "number": (int, float), "boolean": bool}
_SCALARS = set(_PYTHON)


def _fits(value, types) -> bool:
    # bool is an int in Python but neither an integer nor a number in JSON Schema
    return any(isinstance(value, _PYTHON[t]) and (t == "boolean") == isinstance(value, bool)
               for t in types & _SCALARS)


def _applying(subs, value, root, validator) -> list[dict]:
    """`subs` and every schema they apply to `value` through $ref, allOf/anyOf/oneOf and
    if/then/else (an if is evaluated only when `value` is known, not for item types)."""
    out = []
    for s in subs:
        if not isinstance(s, dict):
            continue
        out.append(s)
        if "$ref" in s:  # local references only: "#/$defs/..."
            target = functools.reduce(lambda d, k: d[k], s["$ref"].lstrip("#/").split("/"), root)
            out += _applying([target], value, root, validator)
        out += _applying(s.get("allOf", []) + s.get("anyOf", []) + s.get("oneOf", []), value, root, validator)
        if "if" in s and value is not _UNKNOWN:
            branch = "then" if validator.evolve(schema=s["if"]).is_valid(value) else "else"
            out += _applying([s.get(branch)], value, root, validator)
    return out


def _scalar(text: str):
    """An int or float written as `text` (YAML reads 1e-3 as a string: it wants a dot)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return None


def _coerce(value, subs, root, validator, written=_UNKNOWN):
    """`value` as the schemas `subs` want it; `written` is the same place in the params files."""
    subs = _applying(subs, value, root, validator)
    types = set().union(*map(_types, subs))
    items = [s["items"] for s in subs if isinstance(s.get("items"), dict)]
    item_types = set().union(*map(_types, _applying(items, _UNKNOWN, root, validator)))
    if isinstance(value, str) and value != written and types and (
            types <= _SCALARS or (types == {"array"} and item_types and item_types <= _SCALARS)):
        parsed = _scalar(value) if types & {"number", "integer"} else None
        if parsed is None:
            try:
                parsed = loads(value)
            except ParamsError:
                parsed = None
        if _fits(parsed, types) or "array" in types and isinstance(parsed, list):
            value = parsed  # never a mapping, so the schemas that apply stay the same
    if isinstance(value, dict):
        for key in value:
            child = [s["properties"][key] if key in s.get("properties", {}) else s.get("additionalProperties")
                     for s in subs]
            if any(isinstance(c, dict) for c in child):
                below = written.get(key, _UNKNOWN) if isinstance(written, dict) else _UNKNOWN
                value[key] = _coerce(value[key], child, root, validator, below)
    elif isinstance(value, list) and items:
        below = written if isinstance(written, list) else []
        value[:] = [_coerce(item, items, root, validator, below[i] if i < len(below) else _UNKNOWN)
                    for i, item in enumerate(value)]
    return value


def _merged(files) -> dict:
    """The params files merged as Snakemake merges them: later mappings update earlier ones."""
    def merge(into, new):
        for key, value in new.items():
            old = into.get(key)
            into[key] = merge(old if isinstance(old, dict) else {}, value) if isinstance(value, dict) else value
        return into
    out = {}
    for f in files:
        doc = load_yaml(f) if Path(f).is_file() else None
        if isinstance(doc, dict):
            out = merge(out, doc)
    return out


def coerce(cfg: dict, files=("params.yaml",)) -> dict:
    """Convert the strings `snakemake --config` passes (list items, values in mappings)
    to what the schema expects at their place: only where it says integer, number,
    boolean or an array of those, and only if YAML then reads a value of that type.
    Scheme names and other strings stay strings, and so does a string exactly as the
    params `files` (relative to the working directory; missing ones are skipped) have it
    at that place: a quoted number in params.yaml is refused by every front end.
    Mutates and returns `cfg`."""
    if isinstance(cfg, dict):
        root = schema()
        _coerce(cfg, [root], root, Validator(root), _merged(files))
    return cfg

"""Load and validate params.yaml: the JSON Schema first, then the cross-references
a schema cannot express. Every problem is reported with its key and what is allowed."""
from __future__ import annotations

import os
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "workflow" / "schemas" / "params.schema.yaml"
MIRROR_ENV = "COMPRESSBENCH_MIRROR"


class ParamsError(ValueError):
    """Invalid parameters: the message names each offending key and what is allowed."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML silently keeps the last of two equal keys; for scheme names that hides a mistake."""


def _construct_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ParamsError(f"duplicate key {key!r} at line {key_node.start_mark.line + 1}: names must be unique")
        seen.add(key)
    return loader.construct_mapping(node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path) -> dict:
    path = Path(path)
    try:
        with path.open() as f:
            return yaml.load(f, Loader=_UniqueKeyLoader)
    except ParamsError as exc:
        raise ParamsError(f"{path}: {exc}") from None
    except (OSError, yaml.YAMLError) as exc:
        raise ParamsError(f"{path}: cannot read parameters ({exc})") from None


def schema() -> dict:
    return load_yaml(SCHEMA)


def _where(error) -> str:
    where = ""
    for p in error.absolute_path:
        where += f"[{p}]" if isinstance(p, int) else f".{p}"
    return where.lstrip(".") or "(top level)"


def _describe(error) -> str:
    if error.validator == "oneOf" and error.context:
        # Report the alternative that came closest instead of "not valid under any".
        return _describe(jsonschema.exceptions.best_match(error.context))
    msg = error.message
    if error.validator == "pattern":
        msg = f"{error.instance!r} is not a valid name (lowercase letters, digits and '-')"
    if error.validator == "additionalProperties" and "properties" in error.schema:
        msg += f"; allowed keys: {', '.join(error.schema['properties'])}"
    return f"{_where(error)}: {msg}"


def _schema_errors(cfg: dict) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema())
    return sorted({_describe(e) for e in validator.iter_errors(cfg)})


def _cross_errors(cfg: dict) -> list[str]:
    errors = []
    prune, quant = cfg["prune"]["schemes"], cfg["quantize"]["schemes"]
    for i, name in enumerate(cfg["matrix"]["prune"]):
        if name != "none" and name not in prune:
            errors.append(f"matrix.prune[{i}]: {name!r} is not a pruning scheme; allowed: none, {', '.join(prune)}")
    for i, name in enumerate(cfg["matrix"]["quant"]):
        if name not in quant:
            errors.append(f"matrix.quant[{i}]: {name!r} is not a quantization scheme; allowed: {', '.join(quant)}")
    for name, s in prune.items():
        if "initial_sparsity" in s and s["initial_sparsity"] > s["sparsity"]:
            errors.append(f"prune.schemes.{name}.initial_sparsity: {s['initial_sparsity']} exceeds "
                          f"sparsity {s['sparsity']}; allowed: 0 <= initial_sparsity <= sparsity")
        if s["method"] == "m_by_n" and s["m"] >= s["n"]:
            errors.append(f"prune.schemes.{name}: m={s['m']} must be smaller than n={s['n']}")
    for ds, archs in cfg["zoo"].items():
        for arch, layers in archs.items():
            if not any("dense" in layer or "conv" in layer for layer in layers):
                errors.append(f"zoo.{ds}.{arch}: needs at least one conv or dense layer")
    return errors


def validate(cfg: dict) -> dict:
    """Return `cfg` if valid, else raise ParamsError listing every problem."""
    if not isinstance(cfg, dict):
        raise ParamsError("params: expected a mapping at the top level")
    errors = _schema_errors(cfg)
    try:  # cross-references too, where the parts they need are well-formed
        errors += [e for e in _cross_errors(cfg) if e not in errors]
    except (KeyError, TypeError, AttributeError):
        pass
    if errors:
        raise ParamsError("invalid parameters:\n  - " + "\n  - ".join(errors))
    return cfg


def load(path="params.yaml") -> dict:
    return validate(load_yaml(path))


def mirror(cfg: dict) -> str | None:
    """The local mirror folder: the environment variable wins over the param."""
    return os.environ.get(MIRROR_ENV) or cfg["data"]["mirror"] or None

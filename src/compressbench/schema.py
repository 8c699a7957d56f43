"""The params schema (workflow/schemas/params.schema.yaml) and its validator: JSON
Schema with non-finite numbers refused, and messages that name the key and what is allowed."""
from __future__ import annotations

import functools
import math
from pathlib import Path

import jsonschema

from .paramfile import key_path, load_yaml

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "params.schema.yaml"


@functools.cache  # read once per process: validation and the --config coercion both walk it
def schema() -> dict:
    """The params schema; shared, so read-only."""
    return load_yaml(SCHEMA)


def _where(error) -> str:
    return key_path(error.absolute_path)


def _nonfinite(x) -> bool:
    return isinstance(x, float) and not math.isfinite(x)


def types_of(schema) -> set:
    t = schema.get("type", []) if isinstance(schema, dict) else []
    return {t} if isinstance(t, str) else set(t)


def _finite_type(validator, types, instance, schema):
    """JSON Schema takes NaN and infinity for numbers, and NaN passes every bound."""
    if _nonfinite(instance) and types_of(schema) & {"number", "integer"}:
        yield jsonschema.ValidationError(f"{instance!r} is not a finite number")
    else:
        yield from jsonschema.Draft202012Validator.VALIDATORS["type"](validator, types, instance, schema)


_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"type": _finite_type})


def _allowed_range(schema, name) -> str:
    lo = (f"{schema['minimum']} <= " if "minimum" in schema
          else f"{schema['exclusiveMinimum']} < " if "exclusiveMinimum" in schema else "")
    hi = (f" <= {schema['maximum']}" if "maximum" in schema
          else f" < {schema['exclusiveMaximum']}" if "exclusiveMaximum" in schema else "")
    kind = "an integer" if "integer" in types_of(schema) else "a finite number"
    return f"{kind}, {lo}{name}{hi}" if lo or hi else kind


def _describe(error) -> str:
    if error.validator == "oneOf" and error.context:
        # Report the alternative that came closest instead of "not valid under any".
        return _describe(jsonschema.exceptions.best_match(error.context))
    msg = error.message
    if error.validator == "type" and _nonfinite(error.instance):
        name = next((p for p in reversed(error.absolute_path) if isinstance(p, str)), "value")
        msg += f"; allowed: {_allowed_range(error.schema, name)}"
    if error.validator == "maxItems":
        msg = f"{len(error.instance)} items are too many; allowed: at most {error.validator_value}"
    if error.validator in ("maximum", "exclusiveMaximum", "maxItems") and "description" in error.schema:
        msg += f" ({error.schema['description']})"  # the reason for the bound
    if error.validator == "pattern":
        msg = f"{error.instance!r} is not a valid name (lowercase letters, digits and '-')"
    if error.validator == "additionalProperties" and "properties" in error.schema:
        msg += f"; allowed keys: {', '.join(error.schema['properties'])}"
    return f"{_where(error)}: {msg}"


def errors(cfg: dict) -> list[str]:
    found = Validator(schema()).iter_errors(cfg)
    # A non-finite number gets one message (from "type"), not one per bound as well.
    return sorted({_describe(e) for e in found if not (_nonfinite(e.instance) and e.validator in _BOUNDS)})

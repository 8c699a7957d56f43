"""Read a params file safely: equal keys refused, and the size of what its aliases
expand to bounded before anything is built (a few nested aliases can make billions)."""
from __future__ import annotations

from pathlib import Path

import yaml

# params.yaml expands to ~500 YAML nodes; nested aliases can make billions out of a few lines.
MAX_NODES = 100_000


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


def key_path(parts) -> str:
    where = ""
    for p in parts:
        where += f"[{p}]" if isinstance(p, int) else f".{p}"
    return where.lstrip(".") or "(top level)"


def _check_expansion(root, limit=MAX_NODES) -> None:
    """Count the nodes the composed document expands to, each alias as often as it is
    used (an alias's size is remembered, so this is fast), before anything is built."""
    sizes, active, total = {}, set(), 0

    def visit(node, parts):
        nonlocal total
        if id(node) in sizes:  # an alias of a node counted before
            total += sizes[id(node)]
        elif id(node) in active:
            raise ParamsError(f"{key_path(parts)}: an alias refers to a node that contains it; "
                              "allowed: aliases of complete nodes only")
        else:
            active.add(id(node))
            start, total = total, total + 1
            if isinstance(node, yaml.SequenceNode):
                for i, child in enumerate(node.value):
                    visit(child, parts + [i])
            elif isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    visit(key, parts)
                    visit(value, parts + [key.value if isinstance(key, yaml.ScalarNode) else "?"])
            active.discard(id(node))
            sizes[id(node)] = total - start
        if total > limit:
            raise ParamsError(f"{key_path(parts)}: the document expands to more than {limit} YAML nodes "
                              f"(aliases repeat what they point at); allowed: at most {limit}")

    visit(root, [])


def load_yaml(path) -> dict:
    path = Path(path)
    try:
        with path.open() as f:
            loader = _UniqueKeyLoader(f)
            try:
                node = loader.get_single_node()
                if node is None:
                    return None
                _check_expansion(node)
                return loader.construct_document(node)
            finally:
                loader.dispose()
    except ParamsError as exc:
        raise ParamsError(f"{path}: {exc}") from None
    except (OSError, yaml.YAMLError, RecursionError) as exc:
        raise ParamsError(f"{path}: cannot read parameters ({exc})") from None

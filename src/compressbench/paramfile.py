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


def _bounded(root, children, cycle: str, over: str, limit: int) -> None:
    """Count the nodes `root` expands to, each shared node as often as it is used (its size
    is remembered, so this is fast), and raise ParamsError at a cycle or past `limit`.
    `children(node)` yields (path part or None for the same path, child); `cycle` and
    `over` are formats of the messages, with the key path and the limit."""
    sizes, active, total = {}, set(), 0

    def visit(node, parts):
        nonlocal total
        if id(node) in sizes:  # a shared node counted before
            total += sizes[id(node)]
        elif id(node) in active:
            raise ParamsError(cycle.format(path=key_path(parts)))
        else:
            active.add(id(node))
            start, total = total, total + 1
            for part, child in children(node):
                visit(child, parts if part is None else parts + [part])
            active.discard(id(node))
            sizes[id(node)] = total - start
        if total > limit:
            raise ParamsError(over.format(path=key_path(parts), limit=limit))

    visit(root, [])


def _yaml_children(node):
    if isinstance(node, yaml.SequenceNode):
        yield from enumerate(node.value)
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield None, key
            yield (key.value if isinstance(key, yaml.ScalarNode) else "?"), value


def _object_children(value):
    if isinstance(value, dict):
        yield from value.items()
    elif isinstance(value, (list, tuple)):
        yield from enumerate(value)


def _check_expansion(root, limit=MAX_NODES) -> None:
    """Bound the composed document, each alias counted as often as it is used, before
    anything is built."""
    _bounded(root, _yaml_children, "{path}: an alias refers to a node that contains it; allowed: aliases of "
             "complete nodes only", "{path}: the document expands to more than {limit} YAML nodes (aliases "
             "repeat what they point at); allowed: at most {limit}", limit)


def _object_nodes(obj, where: str, limit=MAX_NODES) -> None:
    """Bound what an already-parsed value expands to (Snakemake parses `--config` with
    plain PyYAML, whose aliases become shared objects: free to build, a bomb to walk)."""
    w = where.replace("{", "{{").replace("}", "}}")
    _bounded(obj, _object_children, w + " {path}: a value contains itself; allowed: plain values",
             w + " {path}: expands to more than {limit} YAML nodes (aliases repeat what they point at); "
             "allowed: at most {limit}", limit)


def check_size(obj, where: str = "--config") -> None:
    """Raise ParamsError when `obj` (a parsed YAML value) expands past the bound.

    >>> check_size({"seeds": [0, 1]})
    """
    _object_nodes(obj, where)


def _read(stream, name: str):
    try:
        loader = _UniqueKeyLoader(stream)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _check_expansion(node)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except ParamsError as exc:
        raise ParamsError(f"{name}: {exc}") from None
    except (yaml.YAMLError, RecursionError) as exc:
        problem = " ".join(str(exc).split())  # PyYAML's messages span lines
        raise ParamsError(f"{name}: not readable YAML ({problem})") from None


def loads(text: str, name: str = "<string>"):
    """The YAML document in `text`, read as load_yaml reads a file; errors start with `name`.

    >>> loads("seeds: [0, 1]")
    {'seeds': [0, 1]}
    """
    return _read(text, name)


def load_yaml(path) -> dict:
    """The YAML document in the file at `path`: the one way a YAML document enters the
    program (params files, --configfile, every revision compare reads)."""
    path = Path(path)
    try:
        with path.open() as f:
            return _read(f, str(path))
    except OSError as exc:
        raise ParamsError(f"{path}: cannot read parameters ({exc.strerror or exc})") from None

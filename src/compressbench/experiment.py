"""experiment: a DVC experiment with changed params that loses nothing.

    python -m compressbench.experiment [--commit] KEY=VALUE... [-- DVC_EXP_RUN_ARGS]
    make exp SET='train.learning_rate=3e-4 seeds=[0,1]' [COMMIT=1] [EXP_ARGS='-n lr3e-4']

`dvc exp run` (DVC 3.67) first checks out the committed outputs, with no setting
against it: outputs Snakemake built that were never `dvc commit`ted are deleted, even
when the run is then refused. `dvc exp run -S` also rewrites params.yaml in block
style without its comments, before validation, and keeps a refused value. This
command instead, in order:

1. reads each VALUE as YAML (bounded, paramfile.loads) and validates params.yaml with
   the change exactly as the workflow will (params.load): a refusal names the key and
   changes nothing;
2. asks `dvc status` which outputs differ from dvc.lock: if any would be lost, it
   refuses naming them, or with --commit runs `dvc commit --force` first;
3. writes the change into params.yaml keeping its comments, flow lists and layout
   (ruamel.yaml round trip, DVC's own YAML library);
4. runs `dvc exp run` with the remaining arguments.

Exit 2 on a refusal; otherwise dvc's exit status.

    >>> parse_setting("train.learning_rate=3e-4")
    (['train', 'learning_rate'], 0.0003)
"""
from __future__ import annotations

import io as _io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from ruamel.yaml import YAML

from . import io, paramfile
from . import params as P
from .overrides import coerce

PARAMS = "params.yaml"


class Refused(RuntimeError):
    """The experiment would run with bad params or lose outputs; nothing was changed."""


def parse_setting(text: str) -> tuple[list[str], object]:
    """KEY=VALUE as DVC's -S takes it: a dotted key, a YAML value."""
    key, sep, value = text.partition("=")
    if not sep or not key or any(not part for part in key.split(".")):
        raise Refused(f"{text!r}: expected KEY=VALUE with a dotted key, e.g. train.learning_rate=3e-4")
    try:
        parsed = paramfile.loads(value, f"SET {key}")
    except paramfile.ParamsError as exc:
        raise Refused(str(exc)) from None
    path = key.split(".")
    nested = parsed
    for part in reversed(path):
        nested = {part: nested}
    # as the schema types it, like --config: YAML reads 1e-3 as a string (it wants a dot)
    coerce(nested, files=())
    for part in path:
        nested = nested[part]
    return path, nested


def _flow(value) -> str:
    """`value` as one line of flow-style YAML, as params.yaml writes it.

    >>> _flow({"zoo": [{"conv": 8}, {"dense": 10}], "lr": 1e-4, "name": "a b"})
    '{zoo: [{conv: 8}, {dense: 10}], lr: 0.0001, name: a b}'
    """
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flow(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(_flow, value)) + "]"
    out = _io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = True
    yaml.representer.sort_base_mapping_type_on_output = False  # the order written
    yaml.width = 1 << 30
    yaml.dump(value, out)
    return out.getvalue().strip().removesuffix("...").strip()


def _value_end(lines: list[str], line: int, col: int) -> tuple[int, int, str]:
    """(line, column) where the flow value or scalar starting at (line, col) ends, and the
    comment after it on that line."""
    depth, quote = 0, None
    for n in range(line, len(lines)):
        text = lines[n].rstrip("\n")
        for i in range(col if n == line else 0, len(text)):
            ch = text[i]
            if quote:
                quote = None if ch == quote else quote
            elif ch in "'\"":
                quote = ch
            elif ch in "[{":
                depth += 1
            elif ch in "]}":
                depth -= 1
            elif ch == "#" and (i == 0 or text[i - 1] in " \t"):
                if depth == 0:
                    end = len(text[:i].rstrip())
                    return n, end, text[end:]
                break  # a comment inside a wrapped flow value: the rest of the line
        if depth == 0 and not quote:
            return n, len(text), ""
    raise Refused(f"params.yaml: a value at line {line + 1} never ends")


def _block_end(lines: list[str], line: int, col: int) -> int:
    """The last line of the block collection that is the value of the key at (line, col)."""
    last = line
    for n in range(line + 1, len(lines)):
        text = lines[n].rstrip("\n")
        body = text.lstrip()
        if not body or body.startswith("#"):
            continue
        indent = len(text) - len(body)
        if indent < col or indent == col and not body.startswith("- "):
            break
        last = n
    return last


def _set(text: str, path: list[str], value) -> str:
    """`text` with the value at `path` replaced (or added) by `value` in flow style, every
    other line untouched. A mapping set onto a block mapping sets its keys one by one."""
    lines = text.splitlines(keepends=True)
    doc = YAML().load(text)
    node, depth = doc, 0
    while depth < len(path) - 1 and isinstance(node.get(path[depth]), dict):
        node, depth = node[path[depth]], depth + 1
    if not isinstance(node, dict):
        raise Refused(f"{'.'.join(path[:depth])}: not a mapping, cannot set {'.'.join(path)}")
    key, rest = path[depth], path[depth + 1:]
    if rest and key in node:
        raise Refused(f"{'.'.join(path[:depth + 1])}: not a mapping, cannot set {'.'.join(path)}")
    for part in reversed(rest):
        value = {part: value}
    current = node.get(key)
    block = isinstance(current, (dict, list)) and not current.fa.flow_style()
    if key in node and block and isinstance(current, dict) and isinstance(value, dict):
        for k, v in value.items():  # merged key by key, as --config merges mappings
            text = _set(text, path[:depth + 1] + [k], v)
        return text
    if key in node:
        line, col = node.lc.value(key)
        key_line, key_col = node.lc.key(key)
        if block:
            end = _block_end(lines, key_line, key_col)
            head = lines[key_line].rstrip("\n")
            comment = head[head.index("#"):] if "#" in head[key_col + len(str(key)) + 1:] else ""
            new = head[:key_col] + f"{key}: {_flow(value)}" + (f"  {comment}" if comment else "") + "\n"
            lines[key_line:end + 1] = [new]
        else:
            end_line, end_col, comment = _value_end(lines, line, col)
            lines[line:end_line + 1] = [lines[line][:col] + _flow(value) + comment + "\n"]
        return "".join(lines)
    if node is doc or not len(node):
        raise Refused(f"{'.'.join(path[:depth + 1])}: not in params.yaml; allowed: keys it has")
    last = list(node)[-1]  # the new key goes after the mapping's last one
    last_line, last_col = node.lc.key(last)
    tail = node[last]
    if isinstance(tail, (dict, list)) and not tail.fa.flow_style():
        end = _block_end(lines, last_line, last_col)
    else:
        end = _value_end(lines, *node.lc.value(last))[0]
    lines.insert(end + 1, " " * last_col + f"{key}: {_flow(value)}\n")
    return "".join(lines)


def _expected(doc: dict, path: list[str], value) -> None:
    """Set `value` at `path` of the plain `doc` as _set does (mappings merged)."""
    node = doc
    for part in path[:-1]:
        node = node.setdefault(part, {})
    if isinstance(value, dict) and isinstance(node.get(path[-1]), dict):
        for k, v in value.items():
            _expected(node[path[-1]], [k], v)
    else:
        node[path[-1]] = value


def apply(text: str, settings: list[tuple[list[str], object]]) -> str:
    r"""`text` (a params.yaml) with each (key path, value) set: the lines of each changed
    value are replaced by one line in flow style; every comment, every other line and the
    layout stay as they were. A new key must go into an existing mapping.

    >>> apply("a:\n  b: 1  # why\n  c: [1,\n      2]\n", [(["a", "c"], [3]), (["a", "b"], 2)])
    'a:\n  b: 2  # why\n  c: [3]\n'
    """
    expected = paramfile.loads(text, PARAMS) or {}
    for path, value in settings:
        text = _set(text, path, value)
        _expected(expected, path, value)
    if json.dumps(paramfile.loads(text, PARAMS)) != json.dumps(expected):  # never write what was not asked
        raise Refused("the change could not be written keeping params.yaml's layout; edit it by hand")
    return text


def validate(text: str) -> None:
    """Refuse `text` as params.yaml unless the workflow would accept it."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / PARAMS
        path.write_text(text)
        try:
            P.load(path)
        except paramfile.ParamsError as exc:
            raise Refused(str(exc).replace(str(path), PARAMS)) from None


def unrecorded_outputs(root=".") -> dict[str, dict[str, str]]:
    """Stage -> its outputs that differ from dvc.lock (path -> DVC's status): what `dvc exp
    run`'s checkout would delete or overwrite. Outputs merely missing ("deleted") lose nothing."""
    proc = subprocess.run(["dvc", "status", "--json"], cwd=root, capture_output=True, text=True)
    if proc.returncode != 0:
        raise Refused(f"dvc status failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
    lost = {}
    for stage, entries in json.loads(proc.stdout or "{}").items():
        for entry in entries if isinstance(entries, list) else []:
            outs = entry.get("changed outs", {}) if isinstance(entry, dict) else {}
            changed = {path: state for path, state in outs.items() if state != "deleted"}
            if changed:
                lost.setdefault(stage, {}).update(changed)
    return lost


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    commit = "--commit" in args
    args = [a for a in args if a != "--commit"]
    settings, dvc_args = (args[:args.index("--")], args[args.index("--") + 1:]) if "--" in args else (args, [])
    try:
        if not settings:
            raise Refused("nothing to change; usage: make exp SET='key=value ...' [COMMIT=1] [EXP_ARGS=...]")
        paramfile.load_yaml(PARAMS)  # bounded: the round trip below walks every alias
        text = apply(Path(PARAMS).read_text(), [parse_setting(s) for s in settings])
        validate(text)
        lost = unrecorded_outputs()
        if lost and not commit:
            listed = ", ".join(f"{p} ({s})" for outs in lost.values() for p, s in sorted(outs.items()))
            raise Refused(f"outputs not recorded in dvc.lock would be deleted by `dvc exp run` (it checks out "
                          f"the recorded outputs first): {listed}; record them with `dvc commit` (or add COMMIT=1 "
                          "to make exp, --commit here), or remove them, then run this again")
        if lost:  # the stages concerned only: a stage whose inputs are missing cannot be committed
            done = subprocess.run(["dvc", "commit", "--force", *lost], capture_output=True, text=True)
            if done.returncode != 0:
                raise Refused(f"dvc commit {' '.join(lost)} failed: "
                              f"{(done.stderr.strip().splitlines() or ['?'])[-1].removeprefix('ERROR: ')}")
    except Refused as exc:
        print(f"exp: {exc}\nexp: params.yaml unchanged", file=sys.stderr)
        return 2
    io.write_text(PARAMS, text)
    return subprocess.run(["dvc", "exp", "run", *dvc_args]).returncode


if __name__ == "__main__":
    raise SystemExit(main())

"""Fingerprints of what library modules *do*: the jobs' code inputs.

A module's fingerprint is the sha256 of its syntax tree with docstrings (and any
other bare string statement) left out; comments, blank lines and formatting never
reach the tree. Each is kept in one small file, `workflow/fingerprints/<module>.sha256`,
rewritten (atomically) only when its digest changes, so its time stamp moves only
when the module's behaviour does: a comment or docstring fix reruns no job under
either front end, any other edit reruns exactly the jobs whose rules run the module.

>>> a = digest_of("x = 1  # one\\n")
>>> a == digest_of('\"\"\"Doc.\"\"\"\\n\\nx = (\\n    1\\n)\\n')
True
>>> a == digest_of("x = 2\\n")
False
>>> source("catalog.methods")
'src/compressbench/catalog/methods.py'
>>> path("catalog.methods")
'workflow/fingerprints/catalog.methods.sha256'

Run `python -m compressbench.fingerprints` to bring every rule's fingerprints up to
date (the Snakefile does it when parsed, and it is dvc.yaml's first stage). A module
that read its own docstrings at run time would not see an edit of them rerun its
jobs: none a rule runs does (a test checks).
"""
from __future__ import annotations

import ast
import hashlib
import sys
from pathlib import Path

from . import io

PACKAGE = "src/compressbench"
# Tracked in git beside the workflow they feed (tests/test_fingerprints.py checks
# them against the code, as tests/test_rules.py checks dvc.yaml); one file a module.
FOLDER = "workflow/fingerprints"
SUFFIX = ".sha256"
# Fields that only record how the source was spelt (u"" prefixes, type comments).
_SPELLING = frozenset({"kind", "type_comment"})


class FingerprintError(ValueError):
    """A module the rule table names cannot be read or parsed."""


def source(module: str) -> str:
    """The file of a module of the package, by dotted name: "training",
    "catalog.methods"; a package's own file is "__init__", "catalog.__init__"."""
    return f"{PACKAGE}/{module.replace('.', '/')}.py"


def path(module: str) -> str:
    """The fingerprint file of a module (dotted names stay flat: one folder)."""
    return f"{FOLDER}/{module}{SUFFIX}"


def _is_string_statement(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _canonical(node) -> str:
    """A dump of the tree without positions, spelling or empty fields (Python 3.12
    adds empty `type_params`; leaving empties out keeps digests across versions)."""
    if isinstance(node, ast.AST):
        fields = [f"{name}={_canonical(value)}" for name, value in ast.iter_fields(node)
                  if name not in _SPELLING and value is not None and value != []]
        return f"{type(node).__name__}({', '.join(fields)})"
    if isinstance(node, list):
        return f"[{', '.join(map(_canonical, node))}]"
    return repr(node)  # a constant: repr tells 1, 1.0, True and "1" apart


def digest_of(text: str, filename: str = "<module>") -> str:
    """The sha256 of what the source text does (its tree without docstrings)."""
    try:
        tree = ast.parse(text, filename)
    except SyntaxError as exc:
        raise FingerprintError(f"{filename}: cannot fingerprint a module that does not parse ({exc})") from exc
    for node in ast.walk(tree):
        # A bare string statement (a docstring, or one after an attribute) does nothing.
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list):
                block[:] = [s for s in block if not _is_string_statement(s)]
    return hashlib.sha256(_canonical(tree).encode()).hexdigest()


def digest(module: str, root: Path = Path(".")) -> str:
    """The fingerprint of a module of the package in the work tree at `root`."""
    file = Path(root) / source(module)
    if not file.is_file():
        raise FingerprintError(f"{file}: no such module '{module}' (a rule's code in src/compressbench/rules.py "
                               f"names modules of {PACKAGE} by dotted name, a package's own file as "
                               f"'<package>.__init__')")
    return digest_of(file.read_text(), str(file))


def _write_if_changed(target: Path, text: str) -> bool:
    if target.exists() and target.read_text() == text:
        return False  # untouched: its time stamp triggers nothing
    io.write_text(target, text)  # atomic: a reader sees the old digest or the new one
    return True


def refresh(modules, root: Path = Path(".")) -> list[str]:
    """Bring the fingerprints of `modules` in the work tree at `root` up to date; drop
    those of modules no rule runs any more. Returns the modules whose fingerprint was
    (re)written."""
    wanted = dict.fromkeys(modules)
    digests = {m: digest(m, root) for m in wanted}  # all parse before any file is written
    written = [m for m, d in digests.items() if _write_if_changed(Path(root) / path(m), d + "\n")]
    for stale in (Path(root) / FOLDER).glob(f"*{SUFFIX}"):
        if stale.name.removesuffix(SUFFIX) not in wanted:
            stale.unlink()
    return written


def main() -> int:
    from . import rules  # the table says which modules jobs run
    try:
        written = refresh(rules.code_modules())
    except FingerprintError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"fingerprints rewritten: {', '.join(written)}" if written else "fingerprints up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""review: the pull-request comment, one local command for GitHub, GitLab and air-gapped users.

    python -m compressbench.review BASE [HEAD] [--figures DIR] [--note TEXT]   (or: make review BASE=main)
    python -m compressbench.review --scope BASE [HEAD]    pipeline=true|false: does the change need a run?

Prints the markdown body of the one comment a pull request gets: a hidden marker
(the CI finds and updates the comment by it), the two revisions, what kind of
files changed, `compare`'s markdown (run as its own process: the pull request's
files are untrusted input, and compare's one-line refusal is shown, not a
traceback), and the figures under reports/figures that differ. With --figures,
both sides of every changed figure are copied there (the CI uploads the folder
as an artifact). When the change may touch the pipeline, the job floor that
compressbench.projection gives BASE's and HEAD's params follows, both from the run
measured at BASE. The body is cut at a line to fit one comment (65,536 characters).
HEAD defaults to the working tree. Exits 0; 2 with one line
for an unknown revision.

>>> scope(["README.md", "tests/test_x.py"])
{'docs': ['README.md'], 'tests': ['tests/test_x.py'], 'pipeline': []}
"""
from __future__ import annotations

import argparse
import fnmatch
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from . import compare as C

MARKER = "<!-- compressbench-review -->"  # the CI updates the comment that holds it
FIGURES = "reports/figures"
COMMENT_LIMIT = 65536  # GitHub's limit on a comment's characters
BENCHMARKS = "reports/benchmarks.csv"  # the measured run the projection starts from
# Paths that cannot change what the pipeline computes; a change limited to them skips the run.
KINDS = {"docs": ("*.md", "*.rst", "docs/*", "LICENSE*", "workflow/report/*"), "tests": ("tests/*",)}


class ReviewError(RuntimeError):
    """A revision git does not know."""


def git(root, *args) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        raise ReviewError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"git {args[0]} failed")
    return done.stdout


def revision(root, rev: str) -> str:
    """The short commit id of `rev`, or ReviewError naming it."""
    try:
        return git(root, "rev-parse", "--verify", "--quiet", "--short", f"{rev}^{{commit}}").strip()
    except ReviewError:
        raise ReviewError(f"unknown revision {rev!r}") from None


def named(root, rev: str) -> str:
    """`rev` with its short commit id, unless it is one."""
    sha = revision(root, rev)
    return rev if rev.startswith(sha) else f"{rev} ({sha})"


def changed_files(root, base: str, head: str | None) -> list[str]:
    """Paths that differ between `base` and `head` (None: the working tree, untracked files left out)."""
    return sorted(p for p in git(root, "diff", "--name-only", base, *([head] if head else []), "--").splitlines() if p)


def scope(paths: list[str]) -> dict[str, list[str]]:
    """The changed paths by kind: docs, tests, and the rest (what the pipeline may depend on)."""
    out = {kind: [] for kind in (*KINDS, "pipeline")}
    for p in paths:
        kind = next((k for k, pats in KINDS.items() if any(fnmatch.fnmatch(p, pat) for pat in pats)), "pipeline")
        out[kind].append(p)
    return out


def _module(name: str, *args: str, cwd) -> subprocess.CompletedProcess:
    """`python -m compressbench.<name> args` with this package first on the path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parents[1]),
                                                                       os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", f"compressbench.{name}", *args], cwd=cwd, capture_output=True,
                          text=True, env=env)


def _last_line(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.strip().splitlines() or [f"exited with status {done.returncode}"]
    return lines[-1]


def run_compare(root, base: str, head: str | None) -> tuple[str, int]:
    """compare's markdown, or its one-line refusal quoted, and its exit status."""
    done = _module("compare", base, *([head] if head else []), cwd=root)
    if done.returncode == 0:
        return done.stdout, 0
    return f"> **No comparison of the results**: {_last_line(done)}\n", done.returncode


def projected(root, base: str, head: str | None) -> list[str]:
    """The job floor compressbench.projection gives BASE's and HEAD's params, both from the
    measurement committed at BASE (its reports/benchmarks.csv, results.csv and params.yaml)."""
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp, "measured")
        run.mkdir()
        try:
            for name, path in (("benchmarks.csv", BENCHMARKS), ("results.csv", C.RESULTS), ("params.yaml", C.PARAMS)):
                (run / name).write_text(C.read_at(base, path, root))
            for side, rev in (("base", base), ("head", head)):
                Path(tmp, f"{side}.yaml").write_text(C.read_at(rev, C.PARAMS, root))
        except C.CompareError as exc:
            return [f"Projected job floor: not available ({exc})."]
        out = []
        for side, rev in (("base", base), ("head", head)):
            done = _module("projection", "--params", str(Path(tmp, f"{side}.yaml")), "--measured", str(run), cwd=root)
            shown = [line for line in done.stdout.splitlines() if line.startswith(("Job floor", "Not counted"))]
            floor = " ".join(shown) if done.returncode == 0 else f"not available: {_last_line(done)}"
            out.append(f"- {rev or 'the working tree'}: {floor}")
    return ["### Projected job floor", "", f"From the run measured at {base} (`{BENCHMARKS}`); "
            "`make projection` prints the per-rule table.", "", *out]


def changed_figures(paths: list[str]) -> list[str]:
    return [p for p in paths if p.startswith(FIGURES + "/") and p.endswith((".png", ".svg"))]


def copy_figures(root, base: str, head: str | None, figures: list[str], dest: Path) -> None:
    """Each changed figure as <name>.head.png and <name>.base.png (a side that lacks it is skipped)."""
    dest.mkdir(parents=True, exist_ok=True)
    for path in figures:
        stem, suffix = os.path.splitext(os.path.basename(path))
        for side, rev in (("base", base), ("head", head)):
            if rev is None:
                src = Path(root) / path
                data = src.read_bytes() if src.is_file() else None
            else:
                shown = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=root, capture_output=True)
                data = shown.stdout if shown.returncode == 0 else None
            if data is not None:
                (dest / f"{stem}.{side}{suffix}").write_bytes(data)


def body(root, base: str, head: str | None = None, note: str = "", figures_dir: Path | None = None) -> str:
    """The comment's markdown."""
    base_name, head_name = named(root, base), named(root, head) if head else "the working tree"
    paths = changed_files(root, base, head)
    kinds = scope(paths)
    compared, _ = run_compare(root, base, head)
    figs = changed_figures(paths)
    lines = [MARKER, f"# compressbench review: {base_name} → {head_name}", ""]
    if note:
        lines += [note, ""]
    lines += [f"{len(paths)} files changed: " + ", ".join(f"{len(v)} {k}" for k, v in kinds.items())
              + (" (no pipeline run needed)." if not kinds["pipeline"] else "."), ""]
    lines += [compared.rstrip("\n"), ""]
    if kinds["pipeline"]:
        lines += [*projected(root, base, head), ""]
    if figs:
        where = f" (both sides in the artifact, `{figures_dir.name}/`)" if figures_dir else ""
        lines += [f"### Figures that changed{where}", "", *(f"- `{f}`" for f in figs), ""]
        if figures_dir:
            copy_figures(root, base, head, figs, figures_dir)
    else:
        lines += ["No figure under `reports/figures` changed.", ""]
    return fit("\n".join(lines).rstrip("\n") + "\n")


def fit(text: str, limit: int = COMMENT_LIMIT) -> str:
    """`text`, cut at a line to fit one comment, saying so."""
    if len(text) <= limit:
        return text
    cut = "\n\n**Cut here to fit one comment**: the whole body is `make review`'s output (CI: the artifact).\n"
    return text[:text.rfind("\n", 0, limit - len(cut))] + cut


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m compressbench.review", description=__doc__.split("\n\n")[0])
    ap.add_argument("base")
    ap.add_argument("head", nargs="?")
    ap.add_argument("--scope", action="store_true", help="print pipeline=true|false (GITHUB_OUTPUT syntax) only")
    ap.add_argument("--figures", type=Path, help="copy both sides of every changed figure into this folder")
    ap.add_argument("--note", default="", help="a line put under the title (e.g. what the CI ran)")
    args = ap.parse_args(argv)
    try:
        if args.scope:
            revision(".", args.base)
            print(f"pipeline={'true' if scope(changed_files('.', args.base, args.head))['pipeline'] else 'false'}")
        else:
            sys.stdout.write(body(".", args.base, args.head, args.note, args.figures))
    except ReviewError as exc:
        print(f"review: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

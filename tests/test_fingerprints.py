"""A job's code input is a fingerprint of what its modules do: comments, docstrings
and formatting change nothing and rerun nothing under either front end; a change of
behaviour reruns exactly the jobs whose rules run the module."""
import json
import shutil
import textwrap

import pytest

from compressbench import fingerprints as F, rules as R
from fixtures import new_repo
from helpers import ROOT, copy_repo, dvc, planned_jobs, snakemake

MODULE = '''\
"""A module's docstring."""
import math


class Scale:
    """A class docstring."""

    factor = 2  # a comment

    def apply(self, x, offset=0.5):
        """A function docstring."""
        return math.floor(x * self.factor) + offset
'''

# The same code: comments, docstrings, blank lines and layout changed only.
SAME = '''\
# A new leading comment.
"""Reworded: what the module is for."""

import math
class Scale:
    factor = 2
    def apply(self,
              x,
              offset=0.5):
        # why, in a line
        """Another docstring, now with an example.

        >>> Scale().apply(1)
        2.5
        """

        return (math.floor(x*self.factor)
                + offset)   # trailing comment
'''

BEHAVIOUR = {
    "a constant": ("factor = 2", "factor = 3"),
    "a default": ("offset=0.5", "offset=0.25"),
    "an operator": ("x * self.factor", "x / self.factor"),
    "a renamed call": ("math.floor(", "math.ceil("),
    "an int for a float": ("factor = 2", "factor = 2.0"),
    "a new statement": ("import math", "import math\nmath.tau"),
}


def test_a_fingerprint_ignores_comments_docstrings_blank_lines_and_formatting():
    assert F.digest_of(SAME) == F.digest_of(MODULE)
    assert F.digest_of(MODULE.replace('        """A function docstring."""\n', "")) == F.digest_of(MODULE)


@pytest.mark.parametrize("old,new", BEHAVIOUR.values(), ids=BEHAVIOUR)
def test_a_fingerprint_changes_with_any_change_of_behaviour(old, new):
    assert old in MODULE
    assert F.digest_of(MODULE.replace(old, new, 1)) != F.digest_of(MODULE)


def test_a_string_that_is_a_value_is_behaviour_not_a_docstring():
    assert F.digest_of('x = "a"\n') != F.digest_of('x = "b"\n')
    assert F.digest_of('def f():\n    return "a"\n') != F.digest_of('def f():\n    return "b"\n')


def test_the_committed_fingerprints_are_what_the_code_computes_now():
    """Like dvc.yaml: the tracked files are the source of truth the jobs depend on."""
    folder = ROOT / F.FOLDER
    assert sorted(p.name for p in folder.glob("*" + F.SUFFIX)) == sorted(
        F.path(m).rsplit("/", 1)[1] for m in R.code_modules()), "run: python -m compressbench.fingerprints"
    stale = [m for m in R.code_modules() if (ROOT / F.path(m)).read_text() != F.digest(m, ROOT) + "\n"]
    assert not stale, f"stale fingerprints of {stale}: run python -m compressbench.fingerprints"


def test_no_module_a_job_runs_reads_its_docstrings():
    """A docstring edit of a module that read its `__doc__` would change what it does."""
    assert not [m for m in R.code_modules() if "__doc__" in (ROOT / F.source(m)).read_text()]


def test_every_rule_depends_on_the_fingerprints_of_the_modules_it_runs_not_their_sources():
    for rule in R.RULES.values():
        assert rule.code_files == [F.path(m) for m in (*R.RUNNER, *rule.code)]
        assert all((ROOT / f).is_file() for f in rule.code_files)


def test_the_fingerprint_stage_is_upstream_of_every_phase_and_rewrites_in_place():
    import yaml
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    stage = stages[R.FINGERPRINT_STAGE]
    outs = {path: flags for item in stage["outs"] for path, flags in item.items()}
    assert set(outs) == {F.path(m) for m in R.code_modules()}
    # persist: DVC would delete them before the command otherwise, moving every time stamp.
    assert all(flags == {"persist": True, "cache": False} for flags in outs.values())
    assert set(stage["deps"]) == {F.source(m) for m in R.code_modules()} | {F.source("fingerprints")}
    assert "always_changed" not in stage  # `dvc status` says up to date when nothing changed
    for phase in R.PHASES:
        assert not any(d.startswith("src/") for d in stages[phase]["deps"]), phase


def test_the_modules_examples_hold():
    import doctest
    assert doctest.testmod(F).failed == 0


def test_dotted_module_names_are_files_of_subpackages():
    assert F.source("catalog.methods") == "src/compressbench/catalog/methods.py"
    assert F.source("catalog.__init__") == "src/compressbench/catalog/__init__.py"
    assert F.path("catalog.methods") == "workflow/fingerprints/catalog.methods.sha256"


def work_tree(tmp_path):
    """A package with a module, a subpackage module and a stale fingerprint."""
    package = tmp_path / F.PACKAGE
    (package / "catalog").mkdir(parents=True)
    (package / "scale.py").write_text(MODULE)
    (package / "catalog" / "methods.py").write_text("METHODS = {}\n")
    (tmp_path / F.FOLDER).mkdir(parents=True)
    (tmp_path / F.path("gone")).write_text("0" * 64 + "\n")
    return tmp_path


def test_refresh_writes_each_fingerprint_once_and_only_rewrites_what_changed(tmp_path):
    root = work_tree(tmp_path)
    assert F.refresh(["scale", "catalog.methods"], root) == ["scale", "catalog.methods"]
    assert sorted(p.name for p in (root / F.FOLDER).iterdir()) == ["catalog.methods.sha256", "scale.sha256"]
    assert (root / F.path("scale")).read_text() == F.digest_of(MODULE) + "\n"
    stamps = {m: (root / F.path(m)).stat().st_mtime_ns for m in ("scale", "catalog.methods")}
    (root / F.source("scale")).write_text(SAME)
    assert F.refresh(["scale", "catalog.methods"], root) == []
    assert {m: (root / F.path(m)).stat().st_mtime_ns for m in stamps} == stamps  # nothing touched
    (root / F.source("catalog.methods")).write_text("METHODS = {'x': 1}\n")
    assert F.refresh(["scale", "catalog.methods"], root) == ["catalog.methods"]
    assert (root / F.path("scale")).stat().st_mtime_ns == stamps["scale"]
    assert not [p for p in (root / F.FOLDER).iterdir() if p.name.startswith(".")]  # no temporary left


def test_a_missing_or_broken_module_is_refused_naming_its_file_before_any_write(tmp_path):
    root = work_tree(tmp_path)
    with pytest.raises(F.FingerprintError, match=r"src/compressbench/nowhere\.py: no such module 'nowhere'"):
        F.refresh(["scale", "nowhere"], root)
    (root / F.source("catalog.methods")).write_text("def broken(:\n")
    with pytest.raises(F.FingerprintError, match=r"catalog/methods\.py: cannot fingerprint a module that does not parse"):
        F.refresh(["scale", "catalog.methods"], root)
    assert not (root / F.path("scale")).exists()


def test_snakemake_refuses_a_module_that_does_not_parse_naming_it(tmp_path):
    repo = copy_repo(tmp_path)
    (repo / F.source("quantize")).write_text("def broken(:\n")
    proc = snakemake(repo, "-n", check=False)
    assert proc.returncode != 0
    assert "src/compressbench/quantize.py: cannot fingerprint a module that does not parse" in proc.stderr


# ---- both front ends after a finished tiny run ------------------------------------------

# One trained model, two exports (float32, ptq-int8), their evaluations, the report.
MATRIX = dict(bases=("student-scratch",), prune=("none",), quant=("float32", "ptq-int8"))
OUTPUTS = ("data", "models", "tflite", "metrics", "reports")


def stamps(repo, dirs=OUTPUTS + (F.FOLDER,)) -> dict:
    return {str(p.relative_to(repo)): p.stat().st_mtime_ns for d in dirs for p in (repo / d).rglob("*") if p.is_file()}


def stages_run(out: str) -> list[str]:
    return [part.split("'", 1)[0] for part in out.split("Running stage '")[1:]]


def dvc_status(repo) -> dict:
    return json.loads(dvc(repo, "status", "--json").stdout or "{}")


@pytest.fixture(scope="module")
def finished(tmp_path_factory, mirror):
    """A tiny run finished by `dvc repro` (so both front ends have their records),
    and the jobs a run from scratch plans, by rule."""
    repo = new_repo(tmp_path_factory.mktemp("finished"), **MATRIX)
    everything = planned_jobs(repo, **mirror)
    dvc(repo, "init", "--no-scm", "-q")
    dvc(repo, "repro", "-q", **mirror)
    return repo, everything


@pytest.fixture
def workspace(finished, tmp_path):
    """A copy of the finished workspace (time stamps and both front ends' state kept)."""
    return shutil.copytree(finished[0], tmp_path / "ws", symlinks=True)


@pytest.mark.slow
def test_a_comment_only_edit_of_the_training_module_reruns_nothing_under_either_front_end(workspace, mirror):
    repo, before = workspace, stamps(workspace)
    module = repo / F.source("training")
    text = module.read_text()
    first_def = text.index("\ndef ") + 1
    body = text.index("\n", first_def) + 1
    edited = ("# A comment above the docstring.\n" + text[:body].replace('"""', '"""Reworded. ', 1)
              + "    # A comment inside the first function.\n\n" + text[body:] + "\n\n# A trailing comment.\n")
    module.write_text(edited)
    assert F.digest_of(edited) == F.digest_of(text)
    assert planned_jobs(repo, **mirror) == {}
    assert set(dvc_status(repo)) == {R.FINGERPRINT_STAGE}  # only the fingerprinter sees a changed source
    out = dvc(repo, "repro", **mirror).stdout
    assert stages_run(out) == [R.FINGERPRINT_STAGE], out[-3000:]  # every phase: "didn't change, skipping"
    assert stamps(repo) == before  # no output and no fingerprint rewritten
    assert planned_jobs(repo, **mirror) == {}
    assert dvc_status(repo) == {}


def rules_running(module: str, planned: dict) -> list[str]:
    """The rules of the rule table that run `module` and have jobs in this matrix."""
    return [name for name, rule in R.RULES.items() if module in rule.modules and name in planned]


def rerun_by_the_table(running: list[str], planned: dict) -> dict[str, int]:
    """The jobs the table says rerun: every job of the rules running the module and of
    the rules that read (transitively) a phase one of those writes, and the target `all`.
    In MATRIX, with one trained model, every job of a reading rule reads a rerun output."""
    rerun = set(running)
    while grown := {name for name, rule in R.RULES.items() if name in planned and name not in rerun
                    and any(R.RULES[r].phase in rule.reads for r in rerun)}:
        rerun |= grown
    return {name: planned[name] for name in sorted(rerun)} | {"all": 1}


@pytest.mark.slow
@pytest.mark.parametrize("module,expected_rules", [
    # Only the report runs it.
    ("claims", {"report"}),
    # Both exports, and what reads them: their latency jobs, their evaluations and the report.
    ("quantize", {"convert", "latency", "evaluate", "report"}),
    # The trainer, the exporters (they load and fine-tune models with it) and all downstream.
    ("training", {"train_student_scratch", "convert", "latency", "evaluate", "report"}),
])
def test_a_behaviour_edit_reruns_exactly_the_jobs_whose_rules_run_the_module(workspace, finished, mirror,
                                                                           module, expected_rules):
    repo, everything = workspace, finished[1]
    running = rules_running(module, everything)
    # Counted against the table: the jobs of those rules and the jobs that read their outputs.
    expected = rerun_by_the_table(running, everything)
    assert set(expected) == expected_rules | {"all"}
    assert expected.get("latency") == expected.get("evaluate")  # one latency job per evaluated .tflite
    forced = snakemake(repo, "-n", "--forcerun", *running, "--quiet", "rules", **mirror).stdout
    assert R.planned_jobs(forced) == expected
    source = repo / F.source(module)
    source.write_text(source.read_text() + "\n_BEHAVIOUR_PROBE = 1\n")
    assert planned_jobs(repo, **mirror) == expected
    # The dry run has refreshed the fingerprint: DVC sees the phase of every rule running it changed.
    phases = {rule.phase for rule in R.RULES.values() if module in rule.modules}
    assert set(dvc_status(repo)) == {R.FINGERPRINT_STAGE} | phases

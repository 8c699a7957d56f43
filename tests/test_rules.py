"""The rule table is the one description of the DAG: dvc.yaml is generated from
it, and every output Snakemake plans lies in the DVC stage of its rule's phase."""
import ast

import pytest
import yaml

from compressbench import matrix as M
from compressbench import rules as R
from helpers import ROOT, copy_repo, snakemake

DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def outs_of(stage: dict) -> list[str]:
    return [next(iter(item)) for section in ("outs", "metrics") for item in stage.get(section, [])]


def owners(path: str) -> list[str]:
    return [name for name, st in DVC.items()
            if any(path == o or path.startswith(o.rstrip("/") + "/") for o in outs_of(st))]


def test_committed_dvc_yaml_is_the_one_the_rule_table_generates():
    assert (ROOT / "dvc.yaml").read_text() == R.dvc_yaml(), "regenerate: python -m compressbench.rules > dvc.yaml"


def test_dvc_yaml_has_the_fingerprint_stage_then_exactly_the_eight_phase_stages_in_order():
    assert list(DVC) == [R.FINGERPRINT_STAGE, *R.PHASES]


def test_every_snakemake_rule_is_in_the_table_and_every_table_rule_in_the_workflow(tmp_path):
    listed = set(snakemake(copy_repo(tmp_path), "--list-rules").stdout.split())
    work = {r for r in listed if not r.startswith("phase_") and r != "all"}
    assert work == set(R.RULES)
    assert {f"phase_{p}" for p in R.PHASES} <= listed


def test_every_snakemake_output_belongs_to_exactly_the_dvc_stage_of_its_phase(tmp_path):
    summary = snakemake(copy_repo(tmp_path), "--summary").stdout.splitlines()
    rows = [line.split("\t") for line in summary[1:] if "\t" in line]
    assert len(rows) > 500  # the full default matrix
    wrong = [f"  {path} (rule {rule}): owned by {owners(path) or 'no stage'}"
             for path, _, rule, *_ in rows if rule in R.RULES and owners(path) != [R.RULES[rule].phase]]
    assert not wrong, "Snakemake outputs outside their DVC stage:\n" + "\n".join(wrong[:30])


PACKAGE = ROOT / "src/compressbench"


def _resolve(parts: list[str]) -> set[str]:
    """The dotted module names importing `parts` (below the package) runs: the module's own
    file and the __init__ of every subpackage on its way ("catalog.__init__")."""
    found = {".".join(parts[:i]) + ".__init__" for i in range(1, len(parts)) if (PACKAGE.joinpath(*parts[:i])).is_dir()}
    if PACKAGE.joinpath(*parts).with_suffix(".py").exists():
        found.add(".".join(parts))
    elif PACKAGE.joinpath(*parts).is_dir():
        found.add(".".join(parts) + ".__init__")
    return found


def package_imports(path) -> set[str]:
    """The compressbench modules a file imports (relative or absolute, at any depth of the
    code), as dotted names below the package ("training", "catalog.methods")."""
    try:
        here = list(path.relative_to(PACKAGE).with_suffix("").parts)[:-1]  # the file's package
    except ValueError:
        here = []  # a workflow script: absolute imports only
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[:len(here) - (node.level - 1)] + (node.module.split(".") if node.module else [])
            elif (node.module or "").startswith("compressbench"):
                base = node.module.split(".")[1:]
            else:
                continue
            for alias in node.names:
                found |= _resolve(base + [alias.name]) or _resolve(base)
        elif isinstance(node, ast.Import):
            found |= set().union(*(_resolve(a.name.split(".")[1:]) for a in node.names
                                   if a.name.startswith("compressbench.")))
    return found - {""}


def module_file(module: str):
    return PACKAGE / (module.replace(".", "/") + ".py")


@pytest.mark.parametrize("rule", list(R.RULES))
def test_each_rules_code_lists_every_module_its_script_runs(rule):
    """A module missing from the list would change a job's result without rerunning it."""
    needed, todo = set(), list(package_imports(ROOT / R.RULES[rule].script_file))
    while todo:
        module = todo.pop()
        if module not in needed:
            needed.add(module)
            todo += package_imports(module_file(module))
    assert needed <= set(R.RUNNER) | set(R.RULES[rule].code), sorted(needed - set(R.RUNNER) - set(R.RULES[rule].code))


@pytest.mark.parametrize("rule", list(R.RULES))
def test_each_rules_log_benchmark_code_and_params_are_in_its_stage(rule):
    spec, stage = R.RULES[rule], DVC[R.RULES[rule].phase]
    assert owners(spec.log) == owners(spec.benchmark) == [spec.phase]
    assert set(spec.code_files) | {spec.script_file} <= set(stage["deps"])
    for dpath in spec.params.values():
        key = ".".join(p for p in dpath.split("{")[0].split("/") if p)
        # A protocol is resolved from train, distill and derived (the sweeps likewise): DVC tracks those.
        for k in R.RESOLVED.get(key, [key]):
            assert any(k == p or k.startswith(p + ".") for p in stage["params"]), f"{k} not tracked"


def test_a_phase_params_name_the_keys_that_decide_its_jobs():
    for phase in R.PHASES:
        expected = ["matrix.datasets"] if phase == "download" else ["seeds", "matrix", "derived"]
        assert DVC[phase]["params"][:len(expected)] == expected


def test_job_counts_are_read_from_the_dry_run_table_and_stop_at_its_total():
    out = "job count\n------ -----\nevaluate 3\nreport 1\ntotal 4\n\nrule evaluate:\n  jobs 9\n"
    assert R.planned_jobs(out) == {"evaluate": 3, "report": 1}
    assert R.planned_jobs("Building DAG of jobs...\nNothing to be done.\n") == {}


@pytest.mark.parametrize("rule", ["train_teacher", "train_student_scratch", "distill_ta", "distill_student"])
def test_the_report_reads_each_training_jobs_history_where_its_rule_writes_it(rule):
    from compressbench import params as P
    cfg = P.load(str(ROOT / "params.yaml"))
    base = R.bases_of(rule, cfg)[-1]
    written = R.RULES[rule].outputs["history"].format(dataset="cifar10", seed=0, base=base)
    assert M.history(cfg, "cifar10", 0, base) == written

"""dvc.yaml and the Snakefile describe one DAG: every Snakemake output belongs to the
DVC stage of its phase, and every stage lists the params and code its rules read."""
import re

import pytest
import yaml

from compressbench import stages
from helpers import ROOT, copy_repo, snakemake

DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def outs_of(stage: dict) -> list[str]:
    paths = []
    for section in ("outs", "metrics", "plots"):
        for item in stage.get(section, []):
            paths.append(next(iter(item)) if isinstance(item, dict) else item)
    return paths


def owners(path: str) -> list[str]:
    return [name for name, st in DVC.items()
            if any(path == o or path.startswith(o.rstrip("/") + "/") for o in outs_of(st))]


def rule_blocks() -> dict[str, str]:
    """Rule name -> its text, from workflow/rules/*.smk."""
    blocks = {}
    for smk in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        parts = re.split(r"^\s*rule (\w+):\s*$", smk.read_text(), flags=re.M)
        blocks.update(dict(zip(parts[1::2], parts[2::2])))
    return blocks


def test_dvc_yaml_has_exactly_the_eight_phase_stages_in_order():
    assert list(DVC) == stages.PHASES


@pytest.mark.parametrize("phase", stages.PHASES)
def test_each_stage_outs_the_folders_its_phase_writes(phase):
    folders = [o for o in outs_of(DVC[phase]) if "." not in o.rsplit("/", 1)[-1]]
    assert sorted(folders) == sorted(stages.PHASE_DIRS[phase])


def test_every_rule_is_in_the_stage_table():
    work_rules = {r for r in rule_blocks() if not r.startswith("phase_") and r != "all"}
    assert work_rules == set(stages.RULES)


@pytest.mark.parametrize("phase", stages.PHASES)
def test_each_stage_runs_its_phase_target_limited_to_its_rules(phase):
    allowed = " ".join(stages.rules_of(phase) + [f"phase_{phase}"])
    assert DVC[phase]["cmd"] == f"snakemake --cores all --allowed-rules {allowed} -- phase_{phase}"


def test_every_snakemake_output_belongs_to_exactly_the_dvc_stage_of_its_phase(tmp_path):
    repo = copy_repo(tmp_path)
    summary = snakemake(repo, "--summary").stdout.splitlines()
    rows = [line.split("\t") for line in summary[1:] if "\t" in line]
    assert len(rows) > 500  # the full default matrix
    wrong = []
    for row in rows:
        path, rule = row[0], row[2]
        if rule in stages.RULES:
            expected = [stages.RULES[rule].phase]
            if owners(path) != expected:
                wrong.append(f"  {path} (rule {rule}): owned by {owners(path) or 'no stage'}, expected {expected}")
    assert not wrong, "Snakemake outputs outside their DVC stage:\n" + "\n".join(wrong[:30])


def test_logs_and_benchmarks_sit_in_the_outs_of_their_phase():
    wrong = []
    for rule, text in rule_blocks().items():
        if rule not in stages.RULES:
            continue
        for kind in ("log", "benchmark"):
            m = re.search(rf'^\s+{kind}:\s*\n\s+(train_log\()?"([^"]+)"', text, flags=re.M)
            assert m, f"rule {rule} declares no {kind}"
            path = f"logs/{m.group(2)}/x" if m.group(1) else m.group(2)  # train_log(phase, ...)
            if owners(path) != [stages.RULES[rule].phase]:
                wrong.append(f"  {rule} {kind} {path}: owned by {owners(path)}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("phase", stages.PHASES)
def test_each_stage_lists_the_params_and_code_its_rules_read(phase):
    stage, missing = DVC[phase], []
    listed = stage.get("params", [])
    deps = set(stage.get("deps", []))
    blocks = rule_blocks()
    for rule in stages.rules_of(phase):
        for template in stages.RULES[rule].params.values():
            for key in template.split():
                prefix = key.split("{")[0].rstrip(".")
                if not any(prefix == p or prefix.startswith(p + ".") for p in listed):
                    missing.append(f"  params: {prefix} (read by rule {rule})")
        for code in stages.code_for(rule):
            if code not in deps:
                missing.append(f"  deps: {code} (run by rule {rule})")
        script = re.search(r'script:\s*\n\s+"\.\./scripts/([\w.]+)"', blocks[rule]).group(1)
        if f"workflow/scripts/{script}" not in deps:
            missing.append(f"  deps: workflow/scripts/{script} (rule {rule})")
    if phase != "download":  # which jobs exist depends on the matrix and the seeds
        missing += [f"  params: {p} (phase target)" for p in ("seeds", "matrix")
                    if not any(p == q or q.startswith(p + ".") for q in listed)]
    assert not missing, f"dvc.yaml stage {phase} is missing:\n" + "\n".join(missing)

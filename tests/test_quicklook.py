"""The quick look: the whole DAG on a slice, written under its own folder only."""
import subprocess

from compressbench import params, quicklook, rules
from helpers import BIN, ROOT, copy_repo, env


def test_the_quick_looks_params_are_valid_and_run_every_kind_of_job_on_a_slice_for_one_epoch():
    cfg = params.resolve(quicklook.quick_params(params.load_yaml(ROOT / "params.yaml")), files=())
    assert cfg["data"]["slice"] == quicklook.SLICE
    assert {p["epochs"] for ds in cfg["protocols"].values() for p in ds.values()} == {1}
    assert cfg["prune"]["fine_tune"]["epochs"] == cfg["cluster"]["fine_tune"]["epochs"] == 1
    assert "converged" in {p["family"] for p in cfg["protocols"]["cifar10"].values()}


def test_the_quick_look_plans_every_rule_but_sensitivity_and_writes_only_under_its_folder(tmp_path):
    repo = copy_repo(tmp_path / "repo")
    before = sorted(p.relative_to(repo) for p in repo.rglob("*"))
    folder = quicklook.prepare(root=repo)
    out = subprocess.run([BIN / "snakemake", "-n", "--quiet", "rules", "--cores", "2"], cwd=folder, env=env(),
                         capture_output=True, text=True, check=True).stdout
    planned = rules.planned_jobs(out)
    assert set(rules.RULES) - set(planned) == {"sensitivity"}  # none by default: one param away
    assert sum(planned.values()) < 80  # a handful of cells, not the default's hundreds
    after = sorted(p.relative_to(repo) for p in repo.rglob("*") if quicklook.FOLDER not in p.parts)
    assert after == before

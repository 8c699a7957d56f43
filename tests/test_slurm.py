"""The workflow through the SLURM executor (profiles/slurm) on a real one-node
SLURM cluster that the test installs, starts, and removes again
(tests/slurm_cluster.py). Skipped, saying why, where it cannot run: not root, not
Linux, no apt-get, a SLURM setup already in /etc/slurm, or COMPRESSBENCH_SKIP_SLURM=1."""
import csv
import importlib.util
import os
import re
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

import slurm_cluster
from fixtures import new_repo
from compressbench import rules
from helpers import BIN, ROOT, run

pytestmark = pytest.mark.slow

MATRIX = dict(bases=("student-scratch",), prune=("none", "local-all"), quant=("float32", "ptq-int8"))
# The jobs of that matrix; `all` has no action and runs on the submit host.
# Latency asks for one core there: the node's exclusivity is the cluster's to grant.
EXPECTED_JOBS = {"download": 1, "prepare": 1, "train_student_scratch": 1, "prune": 1, "convert": 4,
                 "latency": 4, "evaluate": 4, "report": 1}


def test_the_default_environment_has_no_slurm_plugin():
    # Installed, the plugin runs `scontrol show config` at every Snakemake start,
    # which stalls for seconds wherever SLURM's tools are present but no
    # controller answers: it belongs in the optional `slurm` extra only.
    assert importlib.util.find_spec("snakemake_executor_plugin_slurm") is None, \
        "snakemake-executor-plugin-slurm is installed in the default environment"


def test_slurm_profile_sizes_every_rule_that_runs_as_a_job():
    profile = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    assert profile["executor"] == "slurm"
    sized = profile["set-resources"]
    jobs = set(rules.RULES)  # phase_* and all only gather inputs
    assert jobs == set(sized), f"rules without resources: {jobs - set(sized)}; unknown: {set(sized) - jobs}"
    for rule, res in sized.items():
        assert res["mem_mb"] >= 512 and res["runtime"] >= 10, rule


def test_tiny_pipeline_runs_through_the_slurm_executor_on_a_local_cluster(tmp_path, mirror):
    reason = slurm_cluster.skip_reason()
    if reason:
        pytest.skip(reason)
    started = time.time()
    python = slurm_cluster.plugin_env(tmp_path / "venv")
    repo = new_repo(tmp_path / "repo", **MATRIX)
    etc_before = _tree(Path("/etc"))
    cluster = slurm_cluster.Cluster()
    with cluster:
        t0 = time.time()
        # squeue, not sacct: this cluster has no accounting storage. No account:
        # there is none to guess. First status check after 2 s, not 40.
        proc = run([python, "-m", "snakemake", "--profile", "profiles/slurm",
                    "--slurm-status-command", "squeue", "--slurm-no-account",
                    "--slurm-init-seconds-before-status-checks", "2"],
                   repo, check=False, PATH=f"{python.parent}:{BIN}:{os.environ['PATH']}", **mirror)
        pipeline_s = time.time() - t0
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out[-6000:]
        jobs = cluster.jobs()

    # The real outputs.
    rows = list(csv.DictReader((repo / "reports/results.csv").open()))
    assert sorted(r["variant"] for r in rows) == sorted(
        f"student-scratch+{p}+{q}" for p in MATRIX["prune"] for q in MATRIX["quant"])
    for name in ("report.md", "summary.json", "figures/mnist-pareto.png"):
        assert (repo / "reports" / name).stat().st_size > 0

    # Every job went through sbatch, under this run's id, and SLURM ran it with
    # the profile's memory and time limits and one CPU.
    run_id = re.search(r"SLURM run ID: (\S+)", out).group(1)
    submitted = re.findall(r"Job \d+ has been submitted with SLURM jobid (\d+)", out)
    assert len(submitted) == sum(EXPECTED_JOBS.values()), out[-4000:]
    sized = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())["set-resources"]
    per_rule = Counter()
    for jobid in submitted:
        job = jobs[jobid]
        rule = re.fullmatch(r"rule_(.+?)(?:_wildcards_.*)?", job["comment"]).group(1)
        per_rule[rule] += 1
        assert job["name"] == run_id and job["state"] == "COMPLETED", job
        assert (job["mem_mb"], job["minutes"], job["cpus"]) == (
            sized[rule]["mem_mb"], sized[rule]["runtime"], 1), (rule, job)
    assert per_rule == EXPECTED_JOBS
    assert "localrule all" in out and "Finished jobid: 0 (Rule: all)" in out

    # Nothing of the cluster is left: daemons stopped, /etc as it was.
    assert cluster.stopped() and not Path("/etc/slurm/slurm.conf").exists()
    assert _tree(Path("/etc")) - etc_before == set()
    print(f"\nSLURM: {len(submitted)} jobs (ids {submitted[0]}-{submitted[-1]}), pipeline {pipeline_s:.0f} s; "
          f"install {cluster.timings['install_s']:.0f} s, cluster start {cluster.timings['start_s']:.0f} s, "
          f"test {time.time() - started:.0f} s")


def _tree(root: Path) -> set[str]:
    return {os.path.join(d, n) for d, dirs, files in os.walk(root) for n in dirs + files}

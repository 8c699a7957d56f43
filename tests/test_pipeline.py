"""The workflow end to end on a tiny mirror, under Snakemake and under DVC, and
exactly which jobs a one-parameter change reruns."""
import csv
import json
import os
import subprocess

import numpy as np
import pytest

from fixtures import new_repo
from compressbench import matrix as M, rules
from helpers import (BIN, ROOT, change, dvc, env, latest_log, load_benchmark, planned_jobs, read_params,
                     snakemake, write_params)

pytestmark = pytest.mark.slow

RESULT_COLUMNS = ["dataset", "variant", "base", "prune", "quant", "accuracy", "accuracy_delta_pp",
                  "tflite_bytes", "gzip_bytes", "compression_ratio", "params", "nonzero_params",
                  "sparsity", "latency_ms", "efficiency"]


# ---- data stages (issue: foundation) -----------------------------------------------

def test_data_stages_under_snakemake_verify_decode_and_rerun_only_what_a_param_touches(tmp_path, mirror):
    repo = new_repo(tmp_path, datasets=("mnist", "cifar10"))
    snakemake(repo, "phase_download", **mirror)
    facts = json.loads((repo / "data/prepared/cifar10.json").read_text())
    assert facts["counts"] == {"train": 260, "val": 40, "test": 100}
    with np.load(repo / "data/prepared/mnist.npz") as npz:
        assert npz["x_train"].shape == (260, 28, 28, 1) and npz["x_train"].dtype == np.uint8
    assert planned_jobs(repo, "phase_download", **mirror) == {}
    change(repo, "data.val_size", 30)
    assert planned_jobs(repo, "phase_download", **mirror) == {"prepare": 2, "phase_download": 1}


def test_data_stages_under_dvc_repro_then_snakemake_finds_nothing_to_do(tmp_path, mirror):
    repo = new_repo(tmp_path, datasets=("mnist", "cifar10"))
    dvc(repo, "init", "--no-scm", "-q")
    dvc(repo, "repro", "download", **mirror)
    assert "up to date" in dvc(repo, "status", "download").stdout
    assert planned_jobs(repo, "phase_download", **mirror) == {}
    raw = repo / "data/raw/mnist/train-images-idx3-ubyte.gz"
    raw_mtime, npz_mtime = raw.stat().st_mtime_ns, (repo / "data/prepared/mnist.npz").stat().st_mtime_ns
    change(repo, "data.val_size", 30)
    assert "download" in dvc(repo, "status", "download").stdout
    dvc(repo, "repro", "download", **mirror)
    assert raw.stat().st_mtime_ns == raw_mtime  # nothing re-downloaded
    assert (repo / "data/prepared/mnist.npz").stat().st_mtime_ns != npz_mtime
    assert json.loads((repo / "data/prepared/mnist.json").read_text())["counts"]["val"] == 30


# ---- the whole matrix (issue: report) ------------------------------------------------

@pytest.fixture(scope="module")
def full_run(tmp_path_factory, mirror):
    """Every pruning and quantization scheme on a teacher and a TA-distilled student."""
    repo = new_repo(tmp_path_factory.mktemp("full"), bases=("teacher", "student-takd"))
    # As the README says, whatever the machine has; --verbose logs every job selection.
    snakemake(repo, "--cores", "4", "--verbose", **mirror)
    return repo


def test_whole_matrix_runs_end_to_end_and_results_have_one_row_per_cell(full_run):
    rows = list(csv.DictReader((full_run / "reports/results.csv").open()))
    cfg = read_params(full_run)
    # 2 bases x 8 pruning x 5 quantization schemes and QAT's integer-only export, and QAT's
    # control on the 2 unpruned models.
    assert len(rows) == len(M.cells(cfg)) == 2 * len(cfg["matrix"]["prune"]) * 6 + 2 == 98
    assert [c for c in rows[0] if c in RESULT_COLUMNS] == RESULT_COLUMNS  # all, in order
    assert len({r["variant"] for r in rows}) == 98
    teacher = next(r for r in rows if r["variant"] == "teacher+none+float32")
    assert float(teacher["accuracy_delta_pp"]) == 0 and float(teacher["compression_ratio"]) == 1
    int8 = next(r for r in rows if r["variant"] == "teacher+none+ptq-int8")
    assert int(int8["tflite_bytes"]) * 3 < int(teacher["tflite_bytes"])
    for name in ("report.md", "summary.json", "figures/mnist-pareto.png", "plots/mnist.csv"):
        assert (full_run / "reports" / name).stat().st_size > 0


def test_cores_4_runs_up_to_four_single_threaded_jobs_at_once(full_run):
    log = latest_log(full_run)
    assert "Provided cores: 4" in log
    peak = load_benchmark("measure").core_use(log, cores=4)["peak_running"]
    assert 1 < peak <= 4  # --cores is the one limit: no private resource caps it
    records = [json.loads(p.read_text()) for p in (full_run / "models").rglob("*.json")]
    assert records and {r["threads"] for r in records} == {1}  # one TensorFlow thread per job


def test_a_local_run_selects_jobs_only_when_one_ends(full_run):
    # With every core busy Snakemake's scheduler skips job selection, so its default
    # job-rate limit (100 jobs/s) does not make it re-select every second.
    log = latest_log(full_run)
    selections, finished = log.count("Ready jobs:"), log.count("Finished jobid:")
    assert finished > 50 and 0 < selections <= finished + 1


def test_report_tables_match_the_csv(full_run):
    report = (full_run / "reports/report.md").read_text()
    rows = list(csv.DictReader((full_run / "reports/results.csv").open()))
    for row in rows[::9]:
        line = next(l for l in report.splitlines() if l.startswith("|") and f"`{row['variant']}`" in l)
        assert f"{100 * float(row['accuracy']):.2f}" in line, (row["variant"], line)
    assert "## Reproduction of arXiv 2305.08075" in report and "## Claims of the study" in report


def test_snakemakes_html_report_carries_the_figures_and_the_results_table_with_captions(full_run, tmp_path):
    snakemake(full_run, "--report", str(tmp_path / "report.html"))
    html = (tmp_path / "report.html").read_text(errors="replace")
    for text in ("mnist-pareto.png", "results.csv", "Accuracy vs size", "Pareto front", "One row per evaluated"):
        assert text in html, text


def test_rerun_with_nothing_changed_does_nothing(full_run, mirror):
    assert planned_jobs(full_run, **mirror) == {}


@pytest.mark.parametrize("path,value,expected", [
    # One post-training scheme: its export of every model, their latency benchmarks and
    # evaluations, the report (3 x its 16 cells + 1).
    ("quantize.schemes.ptq-int8.calibration_samples", 10,
     {"convert": 16, "latency": 16, "evaluate": 16, "report": 1, "all": 1}),
    # One pruning scheme: its pruned models and everything made from them (each QAT job two exports).
    ("prune.schemes.global.sparsity", 0.6,
     {"prune": 2, "convert": 8, "qat": 2, "latency": 12, "evaluate": 12, "report": 1, "all": 1}),
    # KD: the TA and the TA-distilled student and all their variants; not the teacher.
    ("distill.alpha", 0.5,
     {"distill_ta": 1, "distill_student": 1, "prune": 7, "convert": 32, "qat": 8, "float32_ft": 1,
      "latency": 49, "evaluate": 49, "report": 1, "all": 1}),
    # Latency settings: every latency job, the evaluations that read them, the report.
    ("latency.max_runs", 60, {"latency": 98, "evaluate": 98, "report": 1, "all": 1}),
], ids=["quant-param", "prune-param", "kd-param", "latency-param"])
def test_a_one_param_change_reruns_exactly_the_dependent_jobs(full_run, mirror, path, value, expected):
    original = read_params(full_run)
    try:
        change(full_run, path, value)
        assert planned_jobs(full_run, **mirror) == expected
    finally:
        write_params(full_run, original)


# ---- the DVC front end on a reduced matrix -------------------------------------------

def test_reduced_matrix_through_dvc_repro_agrees_with_snakemake(tmp_path, mirror):
    repo = new_repo(tmp_path, datasets=("cifar10",), bases=("teacher", "student-kd"),
                    prune=("none", "local-all"), quant=("float32", "ptq-int8"))
    dvc(repo, "init", "--no-scm", "-q")
    dvc(repo, "repro", **mirror)
    rows = list(csv.DictReader((repo / "reports/results.csv").open()))
    assert len(rows) == 8
    assert planned_jobs(repo, **mirror) == {}
    assert "up to date" in dvc(repo, "status").stdout
    # A quantization param: DVC reruns quantize, evaluate and report; Snakemake inside
    # them reruns only the PTQ exports, their evaluations and the report.
    before = {p.name: p.stat().st_mtime_ns for p in (repo / "models").rglob("*.keras")}
    change(repo, "quantize.schemes.ptq-int8.calibration_samples", 10)
    status = dvc(repo, "status").stdout
    assert "quantize" in status and "prune:" not in status and "train_baseline" not in status
    out = dvc(repo, "repro", **mirror).stdout
    assert "Running stage 'quantize'" in out and "Running stage 'prune'" not in out
    assert {p.name: p.stat().st_mtime_ns for p in (repo / "models").rglob("*.keras")} == before
    assert planned_jobs(repo, **mirror) == {}


def test_snakemake_then_dvc_commit_leaves_both_front_ends_with_nothing_to_do(tmp_path, mirror):
    repo = new_repo(tmp_path, bases=("student-scratch",), prune=("none",), quant=("float32",))
    snakemake(repo, **mirror)
    dvc(repo, "init", "--no-scm", "-q")
    dvc(repo, "commit", "-f", "-q")
    assert "up to date" in dvc(repo, "status").stdout
    dvc(repo, "repro", **mirror)  # must not rerun any job
    assert planned_jobs(repo, **mirror) == {}
    assert len(list(csv.DictReader((repo / "reports/results.csv").open()))) == 1


def test_dvc_exp_run_in_a_temporary_workspace_reruns_only_the_changed_jobs(tmp_path, mirror):
    repo = new_repo(tmp_path, bases=("student-scratch",), prune=("none",), quant=("float32", "ptq-int8"))
    (repo / ".gitignore").write_text((ROOT / ".gitignore").read_text())

    def git(*args):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                       env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})

    git("init", "-q")
    dvc(repo, "init", "-q")
    dvc(repo, "repro", **mirror)
    git("add", "-A")
    git("commit", "-qm", "baseline run")
    # -C .snakemake: the temporary workspace is a git checkout, and without Snakemake's metadata
    # (gitignored) Snakemake inside the stages sees no changed param and reruns by file times only.
    proc = subprocess.run([BIN / "dvc", "exp", "run", "--temp", "-C", ".snakemake", "-S",
                           "quantize.schemes.ptq-int8.calibration_samples=10"], cwd=repo, env=env(**mirror),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout  # DVC's stage lines and Snakemake's job tables, in order
    stages = "\n".join(line for line in out.splitlines() if "stage" in line.lower())  # DVC's verdicts
    assert proc.returncode == 0, out[-3000:]
    for stage in ("download", "train_baseline", "prune"):
        assert f"Stage '{stage}' didn't change, skipping" in out
    # Inside the quantize stage Snakemake reruns the int8 export, then its evaluation. The
    # temporary workspace is a fresh DVC checkout whose file times follow the checkout, not
    # the run: an export older than its checked-out model reruns too (the float32 one here;
    # the one-param tests on a real workspace count exactly).
    assert "Running stage 'quantize'" in out and "Running stage 'evaluate'" in out, stages
    quantize = out.split("Running stage 'quantize'")[1].split("Running stage 'evaluate'")[0]
    evaluate = out.split("Running stage 'evaluate'")[1].split("Running stage 'report'")[0]
    assert ("wildcards: dataset=mnist, seed=0, ft=0, base=student-scratch, prune=none, "
            f"cluster={M.NO_CLUSTER}, quant=ptq-int8") in quantize
    assert rules.planned_jobs(quantize)["convert"] <= 2 and rules.planned_jobs(evaluate)["evaluate"] <= 2
    assert "rule train_" not in quantize + evaluate  # no training job


# ---- seeds, derived bases and the study's QAT (issue: trustworthy results) -------------

def test_replicates_derived_bases_and_qat_from_scratch_run_end_to_end(tmp_path, mirror):
    repo = new_repo(tmp_path, bases=("student-scratch",), prune=("none", "finetune"), quant=("float32", "qat"),
                    derived={"kd-study": {"like": "student-kd", "distill": {"temperature": 40, "t_squared": False},
                                          "quant": ["float32", "qat-scratch"]}},
                    replicates=[{"prune": ["none"], "cluster": ["none"], "quant": ["float32"], "seeds": [0, 1]},
                                {"prune": ["finetune"], "cluster": ["none"], "quant": ["float32"], "ft_seeds": [0, 1]}],
                    cluster={"prune": ["finetune"], "quant": ["float32", "qat"]})
    change(repo, "sensitivity.bases", ["student-scratch"])
    snakemake(repo, "--cores", "2", **mirror)
    rows = list(csv.DictReader((repo / "reports/results.csv").open()))
    runs = sorted((r["variant"], r["seed"], r["ft_seed"]) for r in rows if not r["variant"].endswith("-int8io"))
    assert runs == [("kd-study+none+float32", "0", "0"), ("kd-study+none+float32", "1", "0"),
                    ("kd-study+none+qat-scratch", "0", "0"),
                    ("student-scratch+finetune+cluster-16+float32", "0", "0"),
                    ("student-scratch+finetune+cluster-16+qat", "0", "0"),
                    ("student-scratch+finetune+float32", "0", "0"), ("student-scratch+finetune+float32", "0", "1"),
                    ("student-scratch+finetune+qat", "0", "0"),
                    ("student-scratch+none+float32", "0", "0"), ("student-scratch+none+float32", "1", "0"),
                    ("student-scratch+none+qat", "0", "0")]
    # every QAT job also exports integer-only, from the same training
    assert {"kd-study+none+qat-scratch-int8io", "student-scratch+none+qat-int8io",
            "student-scratch+finetune+cluster-16+qat-int8io"} <= {r["variant"] for r in rows}
    assert all(r["input_dtype"] == "int8" for r in rows if r["variant"].endswith("-int8io"))
    table = (repo / "metrics/sensitivity/mnist/s0/student-scratch.csv").read_text().splitlines()
    assert table[0] == "layer,weights,sparsity,accuracy" and len(table) == 1 + 3 * 3  # 3 layers x 3 sparsities
    clustered = next(r for r in rows if r["variant"] == "student-scratch+finetune+cluster-16+qat")
    assert (clustered["prune"], clustered["cluster"], clustered["quant"]) == ("finetune", "cluster-16", "qat")
    qat = json.loads((repo / "tflite/mnist/s0/f0/student-scratch/finetune/cluster-16/qat.json").read_text())
    assert qat["qat_scheme"] == "cluster-preserving"
    values = json.loads((repo / "models/cluster/mnist/s0/f0/student-scratch/finetune/cluster-16.json").read_text())
    assert 1 < max(values["distinct_values"].values()) <= 16
    # the teacher of both KD seeds trained once, with the first seed
    assert sorted(p.name for p in (repo / "models/train_baseline/mnist").glob("s*/teacher.keras")) == ["teacher.keras"]
    variants = {r["variant"]: r for r in csv.DictReader((repo / "reports/variants.csv").open())}
    assert (variants["student-scratch+finetune+float32"]["n"], variants["student-scratch+finetune+float32"]["ft_seeds"]) \
        == ("2", "0 1")
    assert variants["kd-study+none+float32"]["seeds"] == "0 1"
    record = json.loads((repo / "tflite/mnist/s0/f0/kd-study/none/none/qat-scratch.json").read_text())
    assert record["qat_scheme"] == "default-8bit, from scratch"
    assert (record["protocol"]["temperature"], record["protocol"]["t_squared"]) == (40, False)
    kd = json.loads((repo / "models/student_distill/mnist/s0/kd-study.json").read_text())
    assert kd["distilled_from"] == "models/train_baseline/mnist/s0/teacher.logits.npz"

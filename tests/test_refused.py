"""Cells a technique refused stay out of later plans, and the report lists them (refused.py)."""
from __future__ import annotations

import json

from compressbench import io, matrix, params, refusal, refused, rules
from compressbench.matrix import Cell
from compressbench.tables import table
from helpers import copy_repo, snakemake


def _record(root, rule, **wildcards):
    path = root / "logs" / "prune" / rule / f"{'-'.join(wildcards.values())}{refusal.SUFFIX}"
    refusal.write(path, refusal.Refused("conv3", "it feeds the residual add add1"), rule, wildcards=wildcards)
    return path


def test_a_pruning_refusal_leaves_out_every_export_of_that_model_and_nothing_else(tmp_path):
    _record(tmp_path, "prune", dataset="mnist", seed="0", ft="0", base="kd", prune="filters")
    cells = [Cell("mnist", 0, 0, "kd", "filters", q) for q in ("float32", "ptq-int8")]
    cells += [Cell("mnist", 1, 0, "kd", "filters", "float32"), Cell("mnist", 0, 0, "kd", "none", "float32"),
              Cell("cifar10", 0, 0, "kd", "filters", "float32")]
    kept, out = refused.split(cells, refused.records(tmp_path))
    assert [c.variant + f"/{c.dataset}/s{c.seed}" for c in kept] == [
        "kd+filters+float32/mnist/s1", "kd+none+float32/mnist/s0", "kd+filters+float32/cifar10/s0"]
    assert [r["variant"] for r in out] == ["kd+filters+float32", "kd+filters+ptq-int8"]
    assert out[0]["reason"] == "prune refuses layer conv3: it feeds the residual add add1"
    assert out[0]["rule"] == "prune" and out[0]["record"].startswith("logs/prune/prune/")


def test_an_unreadable_or_foreign_record_is_ignored(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / f"broken{refusal.SUFFIX}").write_text("{not json")
    io.write_json(tmp_path / "logs" / f"other{refusal.SUFFIX}", {"something": "else"})
    assert refused.records(tmp_path) == []


def test_the_report_lists_each_refused_variant_once_with_its_runs_and_reason():
    rows = [{"dataset": "mnist", "variant": "kd+filters+float32", "seed": s, "ft_seed": 0, "rule": "prune",
             "reason": "prune refuses layer conv3: why", "record": "logs/x.refused.json"} for s in (0, 1)]
    text = "\n".join(refused.section(rows, table))
    assert "1 variant(s) of the params did not run" in text
    assert "| mnist     | `kd+filters+float32` | 2      | prune        | prune refuses layer conv3: why |" in text
    assert refused.section([], table) == []


def test_a_plan_after_a_refusal_leaves_its_cells_out_and_says_so(tmp_path):
    repo = copy_repo(tmp_path)
    cfg = params.load(repo / "params.yaml")
    cell = next(c for c in matrix.cells(cfg) if c.prune == "filters" and c.base == "student-kd")
    before = rules.planned_jobs(snakemake(repo, "-n", "--quiet", "rules").stdout)
    _record(repo, "prune", dataset=cell.dataset, seed=str(cell.seed), ft=str(cell.ft), base=cell.base,
            prune=cell.prune)
    proc = snakemake(repo, "-n", "--quiet", "rules")
    after = rules.planned_jobs(proc.stdout)
    exports = [c for c in matrix.cells(cfg) if refused.covers(json.loads(next(
        (repo / "logs").rglob(f"*{refusal.SUFFIX}")).read_text()), c)]
    assert len(exports) >= 2 and "cell(s) left out, refused by an earlier job" in proc.stderr
    assert after["prune"] == before["prune"] - 1 and after["evaluate"] == before["evaluate"] - len(exports)


def test_a_refused_qat_job_leaves_out_its_integer_only_export_too(tmp_path):
    _record(tmp_path, "qat", dataset="cifar10", seed="0", ft="0", base="mb", prune="none", cluster="none", quant="qat")
    cells = [Cell("cifar10", 0, 0, "mb", "none", q) for q in ("qat", "qat-int8io", "float32", "float32-ft")]
    kept, out = refused.split(cells, refused.records(tmp_path))
    assert [c.quant for c in kept] == ["float32", "float32-ft"] and [r["variant"] for r in out] == [
        "mb+none+qat", "mb+none+qat-int8io"]

"""The report's first screen for the practitioner (overview.py, run_summary.py, base_table.py,
glossary.py, selection.py), on tiny synthetic results shaped like the default run: the
matrix's bases under the converged protocol, their study-protocol twins (-st, whose validation images were seen in training)
and a catalog architecture's student (mobilenet-kd, CIFAR-10 only)."""
from __future__ import annotations

import copy
import functools
import math
import re
import zlib

import pandas as pd
import pytest

from compressbench import claims as C
from compressbench import base_table, glossary, markdown, matrix, overview, params, provenance, report, results, run_summary, selection
from compressbench.paramfile import load_yaml

ROLES = ["teacher", "ta", "student-scratch", "student-kd", "student-takd"]
STUDENTS = {"student-scratch", "student-kd", "student-takd"}
TOP = {"mnist": 0.990, "cifar10": 0.750}
DROP = {"teacher": 0.0, "ta": 0.005, "student-scratch": 0.020, "student-kd": 0.012, "student-takd": 0.014,
        "mobilenet-kd": 0.030}
SIZE = {"teacher": 1_000_000, "ta": 300_000, "student-scratch": 60_000, "student-kd": 60_000,
        "student-takd": 60_000, "mobilenet-kd": 200_000}
SEED_STEP = 0.001  # seed s adds s · SEED_STEP: three student seeds spread by 0.1 pp


@functools.lru_cache(maxsize=None)
def default_params() -> dict:
    return params.load(params.ROOT / "params.yaml")


def cfg() -> dict:
    """A copy of the resolved default params a test may change."""
    return copy.deepcopy(default_params())


def accuracy(ds: str, base: str, prune: str, quant: str, seed: int) -> float:
    role = base.removesuffix("-st")
    return round(TOP[ds] - DROP[role] - (0.01 if base.endswith("-st") else 0.0)
                 + {"none": 0.0, "finetune": 0.002, "global": -0.004}[prune]
                 - (0.002 if quant == "ptq-int8" else 0.0) + SEED_STEP * seed, 6)


def record(ds: str, base: str, prune: str, quant: str, seed: int) -> dict:
    acc = accuracy(ds, base, prune, quant, seed)
    role = base.removesuffix("-st")
    gz = int(SIZE[role] * (0.3 if prune == "global" else 0.9) / (4 if quant == "ptq-int8" else 1))
    # The study-protocol twins trained on their validation images: their val accuracy is
    # far above their test accuracy, so a choice among all variants would pick them.
    val = min(acc + 0.05, 0.999) if base.endswith("-st") else acc
    return {"dataset": ds, "seed": seed, "ft_seed": 0, "variant": f"{base}+{prune}+{quant}", "base": base,
            "prune": prune, "cluster": "none", "quant": quant, "accuracy": acc, "val_accuracy": val,
            "tflite_bytes": gz * 2, "gzip_bytes": gz, "params": 1000, "nonzero_params": 300 if prune == "global"
            else 1000, "sparsity": 0.7 if prune == "global" else 0.0, "efficiency": acc / (gz / 1e6),
            "latency_ms": 0.1}


def default_run_records() -> list[dict]:
    out = []
    for ds in ("mnist", "cifar10"):
        bases = [b for r in ROLES for b in (r, f"{r}-st")] + (["mobilenet-kd"] if ds == "cifar10" else [])
        for b in bases:
            role = b.removesuffix("-st")
            seeds = (0, 1, 2) if role in STUDENTS else (0,)
            prunes = ["none", "finetune", "global"] if role in STUDENTS | {"mobilenet-kd"} else ["none"]
            for p in prunes:
                for q in ("float32", "ptq-int8"):
                    out += [record(ds, b, p, q, s) for s in seeds]
    return out


def reference() -> dict:
    return load_yaml(params.ROOT / "reports/reference/arxiv-2305.08075.yaml")


def build(records: list[dict], c: dict) -> tuple[pd.DataFrame, pd.DataFrame, list]:
    frame = results.results_frame(records, c)
    stats = report.annotate(C.variant_stats(frame), frame, c, {})
    return frame, stats, C.evaluate_claims(frame, c)


def document(records: list[dict], c: dict) -> str:
    frame, stats, claims = build(records, c)
    return markdown.document(frame, stats, claims, reference(), c, {}, provenance.rule_times([]), code="test",
                             packages={}, figure="figures/{dataset}-pareto.png")


@functools.lru_cache(maxsize=None)
def default_run_report() -> str:
    return document(default_run_records(), cfg())


def first_screen() -> str:
    return default_run_report().split("<details>", 1)[0]


def section(text: str, start: str, end: str | None = None) -> str:
    part = text.split(start, 1)[1]
    return part.split(end, 1)[0] if end else part


def table_rows(text: str) -> list[list[str]]:
    """The cells of every markdown table row in `text` (header rows included, rules left out)."""
    return [[c.strip() for c in line.strip().strip("|").split("|")] for line in text.splitlines()
            if line.startswith("|") and not set(line) <= set("|-: ")]


# ---- 1. recipes among the matrix's protocol family ----------------------------

def test_recipes_targets_and_the_front_are_chosen_among_the_converged_variants_only():
    md = first_screen()
    stats = build(default_run_records(), cfg())[1]
    for ds in ("mnist", "cifar10"):
        st = stats[stats["dataset"] == ds]
        # unfiltered, validation accuracy (seen in training by the twins) would pick a twin
        assert st.loc[st["val_accuracy"].idxmax(), "base"].endswith("-st")
        screen = section(md, f"\n## {ds}\n", "\n## ")
        chosen = re.findall(r"`([a-z0-9-]+)\+[a-z0-9+-]+`", screen)
        assert chosen and not [b for b in chosen if b.endswith("-st")], chosen
        assert "the matrix's protocol family, *converged*" in screen
        assert "Chosen on validation accuracy;" in screen      # none of the chosen saw its validation images


def test_the_matrix_family_filter_keeps_every_variant_where_the_params_resolve_no_protocols():
    st = pd.DataFrame({"dataset": ["mnist", "mnist", "cifar10"], "base": ["teacher", "teacher-st", "teacher"]})
    c = {"matrix": {"protocol": "converged"}, "train": {"name": "study"},
         "protocols": {"mnist": {"teacher": {"family": "converged"}, "teacher-st": {"family": "study"}}}}
    assert selection.in_matrix_family(st, c).tolist() == [True, False, True]   # cifar10: no protocols
    assert selection.in_matrix_family(st, {"train": {}}).all()
    assert selection.matrix_family({"train": {"name": "study"}}) == "study"    # no matrix.protocol: train's


# ---- 2. targets per architecture ----------------------------------------------

def test_targets_are_chosen_per_architecture_and_say_when_none_is_that_small():
    rows = table_rows(section(first_screen(), "\n## cifar10\n", "\n\n|  "))
    head, body = rows[0], rows[1:]
    assert head == ["architecture", "target", "recipe", "compression ×", "test % ± 95 % CI",
                    "loss vs teacher pp [95 % CI]"]
    by_arch = {}
    for r in body:
        by_arch.setdefault(r[0], []).append(r)
    assert list(by_arch) == [selection.STUDY_STACKS, "mobilenet"]
    # the MobileNet-style student is at most 900000 / 15000 = 60x smaller: nothing of it reaches 100x
    assert by_arch["mobilenet"][-1][1:3] == ["≥ 100×", overview.NONE_THIS_SMALL]
    assert all(r[2].startswith("`mobilenet-kd+") for r in by_arch["mobilenet"][:-1])
    assert all(not r[2].startswith("`mobilenet-kd+") for r in by_arch[selection.STUDY_STACKS])
    # every target appears once per architecture, merged where the same recipe won
    for arch_rows in by_arch.values():
        assert re.findall(r"\d+×", " ".join(r[1] for r in arch_rows)) == ["4×", "10×", "30×", "100×"]
    # its loss against the converged teacher with the interval (Welch: 3 student seeds, the teacher's 1)
    kd = next(r for r in by_arch[selection.STUDY_STACKS] if r[2].startswith("`student-"))
    assert re.fullmatch(r"-?\d+\.\d\d \[-?\d+\.\d\d, -?\d+\.\d\d\]", kd[5]), kd[5]


def test_targets_by_architecture_choose_on_validation_within_each_group():
    c = cfg()
    st = pd.DataFrame({"base": ["student-kd", "student-kd", "mobilenet-kd", "mobilenet-kd"],
                       "variant": ["student-kd+none+ptq-int8", "student-kd+global+ptq-int8",
                                   "mobilenet-kd+none+ptq-int8", "mobilenet-kd+global+ptq-int8"],
                       "compression_ratio": [20.0, 60.0, 5.0, 12.0], "val_accuracy": [0.9, 0.8, 0.7, 0.6]})
    got = {arch: {t: (r["variant"] if r is not None else None) for t, r in found}
           for arch, found in selection.targets_by_architecture(st, c, (4, 10, 50))}
    assert got == {selection.STUDY_STACKS: {4: "student-kd+none+ptq-int8", 10: "student-kd+none+ptq-int8",
                                            50: "student-kd+global+ptq-int8"},
                   "mobilenet": {4: "mobilenet-kd+none+ptq-int8", 10: "mobilenet-kd+global+ptq-int8", 50: None}}


# ---- 3. the protocol families of the run ----------------------------------------

def expected_settings(p: dict) -> str:
    """What the run summary should say of a protocol (read from the resolved params, which other
    work may retune: the test is of the summary, not of the numbers)."""
    augment = (f"shifts ≤ {p['shift']} px" + (", flips" if p["flip"] else "")) if p["augment"] else "no augmentation"
    return (f"{p['optimizer']}, rate {p['learning_rate']} ({p['schedule']}), batch {p['batch_size']}, "
            f"data {p['data']}, {augment}, {p['precision']}")


def expected_epochs(protocols: dict, bases: list[str]) -> str:
    groups = {}
    for b in bases:
        groups.setdefault(protocols[b]["epochs"], []).append(f"`{b}`")
    return ", ".join(f"{', '.join(bs)} ({e})" for e, bs in groups.items())


def test_the_run_summary_lists_each_family_per_dataset_with_its_settings_bases_epochs_and_kd():
    c = default_params()
    head, *body = table_rows(section(first_screen(), "Protocol families", "## Verdicts"))
    assert head == ["protocol family", "dataset", "protocol settings", "bases (epochs)", "KD"]
    rows = {(r[0], r[1]): r[2:] for r in body}
    assert list(rows) == [("converged (the matrix's)", "mnist"), ("converged (the matrix's)", "cifar10"),
                          ("study", "mnist"), ("study", "cifar10")]
    for ds in ("mnist", "cifar10"):
        protocols = c["protocols"][ds]
        converged = ROLES + (["mobilenet-kd"] if ds == "cifar10" else [])
        study = [f"{r}-st" for r in ROLES]
        assert rows[("converged (the matrix's)", ds)] == [
            expected_settings(protocols["teacher"]), expected_epochs(protocols, converged), "alpha 0.1, T 2, T²"]
        assert rows[("study", ds)] == [expected_settings(protocols["teacher-st"]), expected_epochs(protocols, study),
                                       "alpha 0.1, T 2, T²"]
    assert rows[("study", "cifar10")][0] == ("adam, rate 0.001 (constant), batch 32, data train+val, no augmentation, "
                                             "float32")   # the study's notebooks
    assert "Protocol:" not in first_screen()     # no longer the study's protocol alone


def test_a_familys_settings_name_the_bases_that_differ_and_a_sweep_once():
    c = cfg()
    frame = pd.DataFrame([{"dataset": ds, "base": b} for ds, per in c["protocols"].items() for b in per])
    row = next(r[1:] for r in table_rows("\n".join(run_summary.protocol_families(frame, c))) if r[:2] == ["study",
                                                                                                    "cifar10"])
    assert row[1].endswith("; data train: `teacher-study5`")   # the quantization notebook's 90 % split
    # most of the study's distilled bases run its notebooks' loss; the twins ours; the sweep is one item
    assert row[3] == ("alpha 0.1, T 40, no T²; T 2: `ta-st`, `student-kd-st`, `student-takd-st`; T 10: `seq-kd`; "
                      "T 2, T 5, T 10, T 20, T 30: `kd-study-t{2,5,10,20,30}`; T²: `ta-st`, `student-kd-st`, "
                      "`student-takd-st`")


# ---- 4. base models per protocol --------------------------------------------------

def test_base_models_pair_each_role_across_protocols_with_seeds_and_the_published_numbers():
    text = section(first_screen(), "## Base models per protocol", "\n- **")
    rows = table_rows(text)
    assert rows[0] == ["dataset", "protocol family", *ROLES, "mobilenet-kd"]
    cells = {(r[0], r[1]): dict(zip(rows[0][2:], r[2:])) for r in rows[1:]}
    assert list(cells) == [("mnist", "converged"), ("mnist", "study"), ("mnist", "study's published"),
                           ("cifar10", "converged"), ("cifar10", "study"), ("cifar10", "study's published")]
    assert cells[("mnist", "converged")]["teacher"] == "99.00 (1 seed)"
    assert cells[("mnist", "converged")]["student-scratch"] == "97.10 ± 0.10 (3 seeds)"   # 97.0, 97.1, 97.2
    assert cells[("mnist", "study")]["student-scratch"] == "96.10 ± 0.10 (3 seeds)"       # student-scratch-st
    assert cells[("mnist", "converged")]["mobilenet-kd"] == "—"
    assert cells[("cifar10", "converged")]["mobilenet-kd"] == "72.00 (1 seed)"
    # the reproduction rows that read teacher-st and student-scratch-st (distillation notebook)
    assert cells[("mnist", "study's published")]["teacher"] == "97.00 (distillation)"
    assert cells[("mnist", "study's published")]["student-scratch"] == "97.52 (quantization), 97.55 (distillation)"
    assert cells[("mnist", "study's published")]["student-kd"] == "—"   # its row reads student-kd-study
    assert "*study*: `teacher-st`, `ta-st`, `student-scratch-st`, `student-kd-st`, `student-takd-st`" in text


def test_the_teacher_against_the_scratch_student_is_one_line_per_dataset_and_protocol_after_the_verdicts():
    md = first_screen()
    assert md.index("## Verdicts") < md.index("## Base models per protocol") < md.index("## mnist")
    text = section(md, "## Base models per protocol", "## mnist")
    assert "does the teacher beat the scratch student beyond noise (one-sided test at α = 0.05)" in text
    lines = [line for line in text.splitlines() if line.startswith("- ")]
    assert [line.split("**")[1] for line in lines] == ["mnist · converged", "mnist · study", "cifar10 · converged",
                                                       "cifar10 · study"]
    # one teacher seed 2 pp above three scratch seeds 0.1 pp apart: beyond their prediction bound
    assert "**beats it beyond noise** (one-sided p 0.0" in lines[0]
    assert "one teacher run against the scratch students' one-sided 95 % prediction bound 97.44 %" in lines[0]
    assert lines[0].endswith("the TA, 98.50 (1 seed), lies between them.")


def test_the_teacher_beats_test_is_welch_over_two_seed_sets_and_a_prediction_bound_for_one_seed():
    welch = base_table.teacher_beats([99.0, 99.2, 99.1], [98.0, 98.2, 98.1], 0.05)
    assert welch.how == "Welch over both seed sets" and welch.p < 0.001 and welch.estimate == pytest.approx(1.0)
    # one teacher run inside the students' bound (98.1 + t(0.95, 2) · 0.1 · sqrt(4/3) = 98.44): not beyond noise
    inside = base_table.teacher_beats([98.4], [98.0, 98.2, 98.1], 0.05)
    assert inside.p > 0.05 and "98.44 %" in inside.how
    assert base_table.teacher_beats([98.5], [98.0, 98.2, 98.1], 0.05).p < 0.05
    # one scratch run below the teachers' lower bound
    low = base_table.teacher_beats([99.0, 99.2, 99.1], [98.0], 0.05)
    assert low.p < 0.05 and "one scratch run against the teachers'" in low.how
    from compressbench import stats as S
    assert base_table.teacher_beats([99.0], [98.0], 0.05, S.Spread(0.1, 4.0)).how.startswith("one seed each")
    assert math.isnan(base_table.teacher_beats([99.0], [98.0], 0.05).p)   # one seed each, no pool: untested


# ---- 5. the verdicts by protocol ------------------------------------------------

def test_the_verdict_columns_read_dataset_then_protocol_and_say_what_each_protocol_is():
    verdicts = section(first_screen(), "## Verdicts", "## Base models")
    assert table_rows(verdicts)[0] == ["claim", "mnist · converged", "mnist · study", "cifar10 · converged",
                                       "cifar10 · study"]
    assert "*converged*: the matrix's bases; *study*: their twins `teacher-st`" in verdicts
    details = section(default_run_report(), "## Claims of the study", "</details>")
    assert table_rows(details)[0][1:] == ["mnist · converged", "mnist · study", "cifar10 · converged",
                                          "cifar10 · study"]


def test_the_cells_a_claim_reads_under_the_study_protocol_are_named_by_its_twins():
    details = section(default_run_report(), "### C2:", "### C3:")
    study = section(details, "**mnist · study:", "**cifar10")
    converged = section(details, "**mnist · converged:", "**mnist · study")
    assert "Cells read (2 variants; the evidence above names each by its role): " \
           "`student-kd-st+none+float32`, `student-takd-st+none+float32`." in study
    assert "Cells read (2 variants): `student-kd+none+float32`, `student-takd+none+float32`." in converged


# ---- 6. the glossary ----------------------------------------------------------------

def readme_glossary() -> dict[str, str]:
    text = (params.ROOT / "README.md").read_text()
    part = text.split("\n## Glossary\n", 1)[1].split("\n## ", 1)[0]
    entries = re.split(r"\n- (?=\*\*)", "\n" + part.strip())
    out = {}
    for e in entries:
        m = re.match(r"\*\*(.+?)\*\*: (.*)", " ".join(e.split()), re.S)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def test_readme_and_the_reports_glossary_define_the_same_terms_in_the_same_words():
    assert readme_glossary() == {t: " ".join(d.split()) for t, d in glossary.GLOSSARY.items()}


def test_the_report_folds_the_glossary_after_the_first_screen_one_line_per_term():
    md = default_run_report()
    block = section(md, "<summary>Glossary", "</details>")
    assert md.index("<summary>Glossary") == md.index("<details>") + len("<details>\n")   # the first fold
    assert [line for line in block.splitlines() if line.startswith("- **")] == [
        f"- **{t}**: {d}" for t, d in glossary.GLOSSARY.items()]


def test_every_column_of_the_first_screens_tables_is_a_glossary_term():
    c = default_params()
    names = {"", "dataset", *c["matrix"]["datasets"], *c["prune"]["schemes"], "none", *c["claims"]["protocols"],
             *c["protocols"]["cifar10"]}
    terms = [alt.lower() for t in glossary.GLOSSARY for alt in t.split(" / ")]
    lines = first_screen().splitlines()
    headers = {h for line, rule in zip(lines, lines[1:]) if line.startswith("| ") and rule.startswith("|--")
               for h in table_rows(line)[0]} - names
    headers = {h for h in headers if " · " not in h}  # verdict keys: a dataset and a protocol family
    undefined = sorted(h for h in headers if not any(t in h.lower() for t in terms))
    assert not undefined
    assert len(headers) >= 15   # the tables were found


# ---- 7. pivots of what ran --------------------------------------------------------

def pivot_stats(rows) -> pd.DataFrame:
    return pd.DataFrame([{"base": b, "prune": p, "cluster": "none", "quant": q, "accuracy": a, "val_accuracy": a}
                         for b, p, q, a in rows])


def test_a_pivot_drops_the_rows_and_columns_where_nothing_ran():
    st = pivot_stats([("teacher", "none", "float32", 0.99), ("teacher", "global", "float32", 0.98),
                      ("student-kd", "none", "float32", 0.97), ("student-kd", "global", "ptq-int8", 0.96),
                      ("ta", "local-all", "ptq-fp16", 0.95)])      # not float32, not 8-bit: nothing shown
    lines = overview.pivots(st, {"base": ["teacher", "ta", "student-kd"], "prune": ["none", "local-all", "global"]},
                            {"ptq-int8"})
    grids = [table_rows(line) for line in lines if line.startswith("|")]
    assert [g[0] for g in grids] == [["base", "none", "global"]] * 2
    assert grids[0][1:] == [["teacher", "99.00", "98.00"], ["student-kd", "97.00", "—"]]
    assert grids[1][1:] == [["teacher", "—", "—"], ["student-kd", "—", "ptq-int8 96.00"]]


def test_a_pivot_more_than_half_empty_lists_the_cells_that_ran():
    # 3 bases x 5 pruning schemes, 6 cells ran: listed, both exports of a cell on its line
    st = pivot_stats([("teacher", "none", "float32", 0.99), ("ta", "local-all", "ptq-int8", 0.985),
                      ("student-kd", "none", "float32", 0.97), ("student-kd", "global", "float32", 0.96),
                      ("student-kd", "global", "ptq-int8", 0.955), ("student-kd", "finetune", "float32", 0.975),
                      ("student-kd", "nm-2-4", "float32", 0.95)])
    lines = overview.pivots(st, {"base": ["teacher", "ta", "student-kd"],
                                 "prune": ["none", "finetune", "local-all", "global", "nm-2-4", "filters"]},
                            {"ptq-int8"})
    assert not [line for line in lines if line.startswith("|")]
    assert [line for line in lines if line.startswith("- ")] == [
        "- `teacher`: none 99.00 / —",
        "- `ta`: local-all — / ptq-int8 98.50",
        "- `student-kd`: none 97.00 / —; finetune 97.50 / —; global 96.00 / ptq-int8 95.50; nm-2-4 95.00 / —"]


def test_what_ran_lists_a_grid_only_when_more_than_half_of_it_is_empty():
    full = {("a", "x"): "1", ("b", "y"): "2"}
    assert overview.what_ran([full], ["a", "b"], ["x", "y"]) == (["a", "b"], ["x", "y"], False)  # half: a table
    assert overview.what_ran([{("a", "x"): "1"}, {("b", "y"): "—"}], ["a", "b"], ["x", "y"]) == (["a"], ["x"], False)
    assert overview.what_ran([{("a", "x"): "1"}], ["a", "b"], ["x", "y", "z"]) == (["a"], ["x"], False)
    sparse = {("a", "x"): "1", ("b", "y"): "2", ("c", "z"): "3"}
    assert overview.what_ran([sparse], ["a", "b", "c"], ["x", "y", "z"])[2] is True


# ---- the screen as a whole ----------------------------------------------------------

def full_default_run_records() -> list[dict]:
    """One record per cell of the default params (matrix.cells: every scheme, sweep, seed and
    derived base), accuracy falling with compression so that the Pareto front is long."""
    out, c = [], default_params()
    for cell in matrix.cells(c):
        root = matrix.root(c, cell.base)
        pruned = 3 if cell.prune not in ("none", "finetune") else 1      # pruning's zeros compress
        q = {"float32": 1, "float32-ft": 1, "ptq-fp16": 2}.get(cell.quant, 4)
        gz = int(SIZE.get(root, 60_000) * 0.9 / pruned / q)
        noise = zlib.crc32(f"{cell.dataset}{cell.variant}{cell.seed}{cell.ft}".encode()) % 100 / 1e5
        acc = TOP[cell.dataset] - 0.002 * math.log2(1_000_000 * 0.9 / gz) - noise
        out.append({"dataset": cell.dataset, "seed": cell.seed, "ft_seed": cell.ft, "variant": cell.variant,
                    "base": cell.base, "prune": cell.prune, "cluster": cell.cluster, "quant": cell.quant,
                    "accuracy": acc, "val_accuracy": acc, "gzip_bytes": gz, "tflite_bytes": 2 * gz, "params": 1000,
                    "nonzero_params": 1000, "sparsity": 0.0, "efficiency": acc / (gz / 1e6), "latency_ms": 0.1})
    return out


def test_the_first_screen_is_deterministic_and_fits_150_lines_for_every_cell_of_the_default_run():
    records = full_default_run_records()
    assert len(records) > 350                                        # the whole default run
    md = document(records, cfg())
    first = md.split("<details>", 1)[0]
    assert document(records, cfg()) == md
    assert re.search(r"Pareto front on validation accuracy \((1[0-9]|\d+ of its)", first)   # a long front
    assert len(first.splitlines()) <= 150, len(first.splitlines())

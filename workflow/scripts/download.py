"""download: fetch and verify one dataset's raw files (mirror first, then URLs)."""
import json
import os
from pathlib import Path

from compressbench import data, params, runner

# A JSON file {"mnist": {file: md5}, "cifar10": {member: md5}} replacing the
# published checksums: for private mirrors of other data, and the tests' fixtures.
CHECKSUMS_ENV = "COMPRESSBENCH_CHECKSUMS"


def main(smk, threads):
    dataset = smk.wildcards.dataset
    tables = {}
    if os.environ.get(CHECKSUMS_ENV):
        tables = json.loads(Path(os.environ[CHECKSUMS_ENV]).read_text())
        runner.log.warning("checksums from %s, not the published ones", os.environ[CHECKSUMS_ENV])
    table = tables.get(dataset)
    data.download(dataset, Path(smk.output[0]), smk.config["data"]["sources"][dataset],
                  params.mirror(smk.config), **({"files": table} if dataset == "mnist" else {"members": table}))


runner.run(snakemake, main)  # noqa: F821 (injected by Snakemake)

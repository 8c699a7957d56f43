"""download: fetch and verify one dataset's raw files (mirror first, then URLs)."""
import dataclasses
import json
import os
from pathlib import Path

from compressbench import data, runner
from compressbench.catalog import datasets

# A JSON file {dataset: {file or archive member: md5}} replacing the catalog's
# checksums: for private mirrors of other data, and the tests' fixtures.
CHECKSUMS_ENV = "COMPRESSBENCH_CHECKSUMS"


def main(smk, threads):
    dataset = datasets.get(smk.wildcards.dataset, smk.config)
    if os.environ.get(CHECKSUMS_ENV):
        table = json.loads(Path(os.environ[CHECKSUMS_ENV]).read_text()).get(dataset.name)
        runner.log.warning("checksums from %s, not the catalog's", os.environ[CHECKSUMS_ENV])
        if table is not None:
            dataset = dataclasses.replace(dataset, source=dataset.source.with_checksums(table))
    data.download(dataset, Path(smk.output[0]), smk.config["data"]["sources"].get(dataset.name, []),
                  data.mirror(smk.config))


runner.run(snakemake, main)  # noqa: F821 (injected by Snakemake)

"""download: fetch and verify one dataset's raw files (mirror first, then URLs)."""
from pathlib import Path

from compressbench import data, params, runner


def main(smk, threads):
    data.download(smk.wildcards.dataset, Path(smk.output[0]),
                  smk.config["data"]["sources"][smk.wildcards.dataset], params.mirror(smk.config))


runner.run(snakemake, main)  # noqa: F821 (injected by Snakemake)

"""prepare: decode raw files into one array file with a seeded validation split."""
from pathlib import Path

from compressbench import data, runner


def main(smk, threads):
    facts = data.prepare(smk.wildcards.dataset, Path(smk.input.raw), Path(smk.output.data),
                         smk.params.val_size, smk.params.split_seed)
    runner.record(smk, smk.output.record, facts)
    runner.log.info("counts %s", facts["counts"])


runner.run(snakemake, main)  # noqa: F821 (injected by Snakemake)

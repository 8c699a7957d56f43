"""prepare: verify (a user's files), decode and check one dataset into one array file
with a seeded validation split."""
from pathlib import Path

from compressbench import data, runner
from compressbench.catalog import datasets


def main(smk, threads):
    dataset = datasets.from_facts(smk.wildcards.dataset, smk.params.dataset)
    raw = Path(smk.input.raw) if dataset.fetched else None
    facts = data.prepare(dataset, raw, Path(smk.output.data), smk.params.val_size, smk.params.split_seed,
                         dict(smk.params.slice))
    runner.record(smk, smk.output.record, facts)
    runner.log.info("counts %s", facts["counts"])


runner.run(snakemake, main)  # noqa: F821 (injected by Snakemake)

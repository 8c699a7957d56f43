"""train: one base model on the hard labels (teacher, scratch student)."""
from compressbench import runner


def main(smk, threads):
    from compressbench import bases, training

    bases.fit_and_save(smk, threads, training.train_supervised)


runner.run(snakemake, main)  # noqa: F821 (injected by Snakemake)

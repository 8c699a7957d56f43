"""train: one base model on the hard labels (teacher, scratch student)."""
from compressbench import runner


def main(smk, threads):
    from compressbench import bases, training

    bases.fit_and_save(smk.params.arch, dict(smk.wildcards.items()), dict(smk.params.protocol), smk.input.data,
                       runner.outputs(smk, *bases.OUTPUTS), training.train_supervised, facts=dict(smk.params.dataset), threads=threads,
                       write_record=runner.recorder(smk))


runner.run(snakemake, main)  # noqa: F821 (injected by Snakemake)

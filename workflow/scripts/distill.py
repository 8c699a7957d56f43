"""distill: one base model distilled from its teacher's logits (TA, KD and TAKD students)."""
from compressbench import runner


def main(smk, threads):
    from compressbench import bases, data, distill, io, matrix

    io.verify(smk.input.teacher_logits, matrix.record(smk.input.teacher_logits))
    teacher = data.load_logits(smk.input.teacher_logits)
    bases.fit_and_save(smk, threads, lambda model, arrays, **fit: distill.train_distilled(
        model, arrays, teacher, **distill.kd_keywords(smk.params.protocol), **fit))


runner.run(snakemake, main)  # noqa: F821 (injected by Snakemake)

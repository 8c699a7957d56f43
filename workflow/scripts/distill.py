"""distill: one base model distilled from its teacher (TA, KD and TAKD students): from
the teacher's stored logits, or, when the protocol augments, from the teacher model
run online on each augmented batch."""
from compressbench import runner


def main(smk, threads):
    from compressbench import bases, data, distill, io, models

    protocol = smk.params.protocol
    kd = distill.kd_keywords(protocol)
    if protocol["augment"]:
        def fit(model, arrays, **keywords):  # loaded once TensorFlow is configured for the job
            teacher = models.load(smk.input.teacher)
            return distill.train_distilled_online(model, arrays, teacher, **kd, **keywords)
    else:
        io.verify(smk.input.teacher, io.record_of(smk.input.teacher))
        logits = data.load_logits(smk.input.teacher)

        def fit(model, arrays, **keywords):
            return distill.train_distilled(model, arrays, logits, **kd, **keywords)
    bases.fit_and_save(smk.params.arch, dict(smk.wildcards.items()), dict(protocol), smk.input.data,
                       runner.outputs(smk, *bases.OUTPUTS), fit, facts=dict(smk.params.dataset), threads=threads,
                       write_record=runner.recorder(smk), distilled_from=smk.input.teacher)


runner.run(snakemake, main)  # noqa: F821 (injected by Snakemake)

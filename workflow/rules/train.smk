# Phases `train_baseline`, `teacher_assistant`, `student_distill`: the five base
# models. Every trainer writes its model, record, per-epoch history and log;
# teachers also write their logits once, for the students distilled from them.
# Written out, not generated in a loop: Snakemake evaluates `script:` when a job
# runs, so a loop variable there would bind to its last value for every rule.
from compressbench.catalog import architectures as A


def arch_files(w):
    """The work-tree files the job's architecture is built from (a factory's module, a
    saved model): inputs, so a changed one retrains the bases built from it."""
    return A.files(config["archs"][w.dataset][w.base])


def teacher(w):
    """What the job learns from: its teacher's stored logits, or (a protocol with
    augmentation: every batch is new images) the teacher model itself; of the job's
    seed where that teacher is trained with it, else of the first seed (matrix.teacher_seed)."""
    t = M.bases(config)[w.base].teacher
    seed = M.teacher_seed(config, w.dataset, w.seed, t)
    if config["protocols"][w.dataset][w.base]["augment"]:
        return M.base_model(config, w.dataset, seed, t)
    return M.base_logits(config, w.dataset, seed, t)


def critical_first(w):
    """Snakemake starts ready jobs by priority: the long chain (teacher -> TA -> TAKD
    student) first, then the longer trainings, so both cores stay busy to the end."""
    return 1000 * M.chain_below(config, w.base) + config["protocols"][w.dataset][w.base]["epochs"]


rule train_teacher:
    input:
        data=M.prepared("{dataset}"),
        arch=arch_files,
        code=R.RULES["train_teacher"].code_files,
    output:
        **R.RULES["train_teacher"].outputs,
    wildcard_constraints:
        base="|".join(R.bases_of("train_teacher", config)),
    params:
        **params_of("train_teacher"),
    log:
        R.RULES["train_teacher"].log,
    benchmark:
        R.RULES["train_teacher"].benchmark
    threads: 1
    priority: critical_first
    script:
        script_of("train_teacher")


rule train_student_scratch:
    input:
        data=M.prepared("{dataset}"),
        arch=arch_files,
        code=R.RULES["train_student_scratch"].code_files,
    output:
        **R.RULES["train_student_scratch"].outputs,
    wildcard_constraints:
        base="|".join(R.bases_of("train_student_scratch", config)),
    params:
        **params_of("train_student_scratch"),
    log:
        R.RULES["train_student_scratch"].log,
    benchmark:
        R.RULES["train_student_scratch"].benchmark
    threads: 1
    priority: critical_first
    script:
        script_of("train_student_scratch")


rule distill_ta:
    input:
        data=M.prepared("{dataset}"),
        arch=arch_files,
        teacher=teacher,
        code=R.RULES["distill_ta"].code_files,
    output:
        **R.RULES["distill_ta"].outputs,
    wildcard_constraints:
        base="|".join(R.bases_of("distill_ta", config)),
    params:
        **params_of("distill_ta"),
    log:
        R.RULES["distill_ta"].log,
    benchmark:
        R.RULES["distill_ta"].benchmark
    threads: 1
    priority: critical_first
    script:
        script_of("distill_ta")


rule distill_student:
    input:
        data=M.prepared("{dataset}"),
        arch=arch_files,
        teacher=teacher,
        code=R.RULES["distill_student"].code_files,
    output:
        **R.RULES["distill_student"].outputs,
    wildcard_constraints:
        base="|".join(R.bases_of("distill_student", config)),
    params:
        **params_of("distill_student"),
    log:
        R.RULES["distill_student"].log,
    benchmark:
        R.RULES["distill_student"].benchmark
    threads: 1
    priority: critical_first
    script:
        script_of("distill_student")


def base_models(phase):
    info = M.bases(config)
    return [M.base_model(config, ds, seed, b) for ds, seed, b in M.base_models(config) if info[b].phase == phase]


rule phase_train_baseline:
    input:
        base_models("train_baseline"),


rule phase_teacher_assistant:
    input:
        base_models("teacher_assistant"),


rule phase_student_distill:
    input:
        base_models("student_distill"),

# Phases `train_baseline`, `teacher_assistant`, `student_distill`: the five base
# models. Every trainer writes its model, metrics, per-epoch history and log;
# teachers also write their logits once, for the students distilled from them.

def trained(base, with_logits, phase=None):
    stem = f"models/{phase}/{{dataset}}/s{{seed}}/{base}" if phase else M.model_stem("{dataset}", "{seed}", base)
    out = dict(model=stem + ".keras", metrics=stem + ".json", history=stem + ".history.csv")
    if with_logits:
        out["logits"] = stem + ".logits.npz"
    return out


def train_log(phase, base, kind):
    return f"logs/{phase}/{{dataset}}/s{{seed}}/{base}.{kind}"


rule train_teacher:
    input:
        data=M.prepared("{dataset}"),
        code=code_of("train_teacher"),
    output:
        **trained("teacher", True),
    params:
        base="teacher",
        **params_of("train_teacher", base="teacher"),
    log:
        train_log("train_baseline", "teacher", "log"),
    benchmark:
        train_log("train_baseline", "teacher", "bench.tsv")
    threads: 1
    script:
        "../scripts/train.py"


rule train_student_scratch:
    input:
        data=M.prepared("{dataset}"),
        code=code_of("train_student_scratch"),
    output:
        **trained("student-scratch", False),
    params:
        base="student-scratch",
        **params_of("train_student_scratch", base="student-scratch"),
    log:
        train_log("train_baseline", "student-scratch", "log"),
    benchmark:
        train_log("train_baseline", "student-scratch", "bench.tsv")
    threads: 1
    script:
        "../scripts/train.py"


rule distill_ta:
    input:
        data=M.prepared("{dataset}"),
        teacher_logits=M.logits("{dataset}", "{seed}", "teacher"),
        code=code_of("distill_ta"),
    output:
        **trained("ta", True),
    params:
        base="ta",
        **params_of("distill_ta", base="ta"),
    log:
        train_log("teacher_assistant", "ta", "log"),
    benchmark:
        train_log("teacher_assistant", "ta", "bench.tsv")
    threads: 1
    script:
        "../scripts/train.py"


rule distill_student:
    input:
        data=M.prepared("{dataset}"),
        teacher_logits=lambda w: M.logits(w.dataset, w.seed, M.BASES[w.base].teacher),
        code=code_of("distill_student"),
    output:
        **trained("{base}", False, phase="distill"),
    wildcard_constraints:
        base="student-kd|student-takd",
    params:
        base=lambda w: w.base,
        **params_of("distill_student"),
    log:
        train_log("student_distill", "{base}", "log"),
    benchmark:
        train_log("student_distill", "{base}", "bench.tsv")
    threads: 1
    script:
        "../scripts/train.py"


def base_models(phase):
    bases = [b for b in M.needed_bases(config) if M.BASES[b].phase == phase]
    return [M.model(ds, seed, b) for ds in config["matrix"]["datasets"] for seed in config["seeds"] for b in bases]


rule phase_train_baseline:
    input:
        base_models("baseline"),


rule phase_teacher_assistant:
    input:
        base_models("ta"),


rule phase_student_distill:
    input:
        base_models("distill"),

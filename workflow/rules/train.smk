# Phases `train_baseline`, `teacher_assistant`, `student_distill`: the five base
# models. Every trainer writes its model, record, per-epoch history and log;
# teachers also write their logits once, for the students distilled from them.


def teacher_logits(w):
    return M.logits(w.dataset, w.seed, M.BASES[w.base].teacher)


# One rule per kind of base model (its own SLURM size); they differ only in the
# entries of the rule table and, for distillation, the teacher's logits.
for _name in ("train_teacher", "train_student_scratch", "distill_ta", "distill_student"):

    rule:
        name: _name
        input:
            data=M.prepared("{dataset}"),
            **({"teacher_logits": teacher_logits} if R.RULES[_name].script == "distill" else {}),
            code=R.RULES[_name].code_files,
        output:
            **R.RULES[_name].outputs,
        wildcard_constraints:
            base="|".join(R.bases_of(_name)),
        params:
            **params_of(_name),
        log:
            R.RULES[_name].log,
        benchmark:
            R.RULES[_name].benchmark
        threads: 1
        script:
            script_of(_name)


def base_models(phase):
    bases = [b for b in M.needed_bases(config) if M.BASES[b].phase == phase]
    return [M.model(ds, seed, b) for ds in config["matrix"]["datasets"] for seed in config["seeds"] for b in bases]


rule phase_train_baseline:
    input:
        base_models("train_baseline"),


rule phase_teacher_assistant:
    input:
        base_models("teacher_assistant"),


rule phase_student_distill:
    input:
        base_models("student_distill"),

"""One base model's training job (teacher, TA, students): build, fit, save the
model as deployed, its record, history and (for teachers) logits."""
from __future__ import annotations

from . import data, models, runner, training


def fit_and_save(smk, threads: int, fit) -> None:
    """Train the job's base model with `fit(model, arrays, **fit keywords, seed, label)` -> history."""
    w, p = smk.wildcards, smk.params
    base, seed, protocol = w.base, int(w.seed), dict(p.protocol)
    training.configure(seed, threads, protocol["precision"])
    arrays = data.load_prepared(smk.input.data)
    model = models.build(p.arch, p.dataset["input_shape"], p.dataset["num_classes"], name=base)
    with training.Timer() as timer:
        history = fit(model, arrays, **training.fit_keywords(protocol), seed=seed, label=f"{w.dataset}/{base}")
    model = models.clone(model, "float32")  # measured, distilled from and saved as deployed
    accuracy = training.accuracy(model, arrays["x_test"], arrays["y_test"])
    n_params, _ = models.count_params(model)
    runner.log.info("test accuracy %.4f, %d parameters, %.1f s", accuracy, n_params, timer.seconds)
    teaches = "logits" in smk.output.keys()  # teachers write their logits for their students
    if teaches:
        data.save_logits(smk.output.logits, train=training.predict_logits(model, arrays["x_train"]),
                         val=training.predict_logits(model, arrays["x_val"]))
    training.write_history(history, smk.output.history)
    models.save(model, smk.output.model)
    runner.record(smk, smk.output.record, {
        "dataset": w.dataset, "seed": seed, "base": base, "test_accuracy": round(accuracy, 6),
        "params": n_params, "epochs": int(len(history)), "wall_seconds": timer.seconds,
        "precision": protocol["precision"], "protocol": protocol, "distilled_from": smk.input.get("teacher_logits")},
        artefacts=[smk.output.model, *([smk.output.logits] if teaches else [])])

"""One base model's training (teacher, TA, students): build, fit, save the model as
deployed, its record, history and (for teachers) logits. Plain arguments: the
runner hands over the job's paths and params."""
from __future__ import annotations

from . import data, models, training
from .catalog import architectures


OUTPUTS = ("model", "record", "history", "logits")  # logits: teachers only


def fit_and_save(arch, job, protocol: dict, data_path: str, outputs: dict, fit, *, facts: dict, threads: int,
                 write_record, distilled_from: str | None = None) -> None:
    """Train the base model `job` names (its dataset, seed and base) with `fit(model, arrays,
    **fit keywords, seed, label)` -> history and write `outputs` (OUTPUTS: model, record,
    history and, for a teacher, logits); `write_record(path, fields, artefacts)` writes the
    record (the runner's, which adds the job's identity). `facts`: the dataset's catalog
    entry as plain values (input_shape, num_classes)."""
    dataset, base, seed = job["dataset"], job["base"], int(job["seed"])
    training.configure(seed, threads, protocol["precision"])
    arrays = data.load_prepared(data_path)
    model = architectures.build(arch, facts["input_shape"], facts["num_classes"], name=base)
    with training.Timer() as timer:
        history = fit(model, arrays, **training.fit_keywords(protocol), seed=seed, label=f"{dataset}/{base}")
    model = models.clone(model, "float32")  # measured, distilled from and saved as deployed
    accuracy = training.accuracy(model, arrays["x_test"], arrays["y_test"])
    n_params, _ = models.count_params(model)
    training.log.info("test accuracy %.4f, %d parameters, %.1f s", accuracy, n_params, timer.seconds)
    teaches = "logits" in outputs  # teachers write their logits for their students
    if teaches:
        data.save_logits(outputs["logits"], train=training.predict_logits(model, arrays["x_train"]),
                         val=training.predict_logits(model, arrays["x_val"]))
    training.write_history(history, outputs["history"])
    models.save(model, outputs["model"])
    write_record(outputs["record"], {
        "dataset": dataset, "seed": seed, "base": base, "test_accuracy": round(accuracy, 6),
        "params": n_params, "epochs": int(len(history)), "wall_seconds": timer.seconds,
        "precision": protocol["precision"], "protocol": protocol, "distilled_from": distilled_from},
        [outputs["model"], *([outputs["logits"]] if teaches else [])])

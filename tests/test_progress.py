"""The epoch line of every fit (compressbench.progress): written by training.ProgressLog,
read back by the benchmarks."""
import logging

import pytest

from compressbench import progress

LABELS = ["mnist/teacher", "cifar10/student-kd+global", "mnist/teacher+none+qat (prune-preserving)"]


@pytest.mark.parametrize("label", LABELS)
def test_an_epoch_line_parses_back_to_what_was_formatted(label):
    metrics = {"val_loss": 0.04421, "accuracy": 0.97091, "loss": 1.5, "val_accuracy": float("nan")}
    line = progress.format_epoch(label, 2, 5, metrics, 43.25)
    assert line.startswith(f"{label} epoch 2/5 accuracy=0.9709 loss=1.5000 val_accuracy=nan val_loss=0.0442 (")
    (e,) = progress.parse_epochs(line)
    assert (e.label, e.epoch, e.epochs) == (label, 2, 5)
    assert e.seconds == pytest.approx(43.2, abs=0.051)
    assert e.metrics.keys() == metrics.keys()
    for k, v in metrics.items():
        assert e.metrics[k] == pytest.approx(round(v, 4), nan_ok=True)


def test_epochs_are_read_from_a_job_log_among_its_other_lines():
    lines = [progress.format_epoch("mnist/ta", i, 3, {"loss": 0.1 * i}, 10.0 + i) for i in (1, 2, 3)]
    log = ("12:00:00 INFO distill_ta [dataset=mnist, seed=0, base=ta] start on AMD EPYC [avx2 fma] oneDNN=1\n"
           + "".join(f"12:00:{10 + i} INFO {line}\n" for i, line in enumerate(lines))
           + "12:01:40 INFO test accuracy 0.9880, 140.1 s\n12:01:41 INFO distill_ta [dataset=mnist] done\n")
    epochs = progress.parse_epochs(log)
    assert [(e.label, e.epoch) for e in epochs] == [("mnist/ta", 1), ("mnist/ta", 2), ("mnist/ta", 3)]
    assert progress.epoch_seconds(log) == pytest.approx(11 + 12 + 13)
    assert progress.parse_epochs("an epoch 1/2 without its seconds\n") == []


def test_an_epoch_without_metrics_still_round_trips():
    (e,) = progress.parse_epochs(progress.format_epoch("x", 1, 1, {}, 0.04))
    assert (e.label, e.metrics, e.seconds) == ("x", {}, 0.0)
    (old,) = progress.parse_epochs("x epoch 1/1  (2.5 s)")  # as lines without metrics used to be written
    assert (old.metrics, old.seconds) == ({}, 2.5)


def test_the_training_callback_writes_the_line_the_parser_reads(caplog):
    from compressbench import training

    cb = training.ProgressLog(4, "mnist/student-scratch")
    with caplog.at_level(logging.INFO, logger="compressbench"):
        cb.on_epoch_begin(0)
        cb.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.875})
    (e,) = progress.parse_epochs("\n".join(caplog.messages))
    assert (e.label, e.epoch, e.epochs, e.metrics) == ("mnist/student-scratch", 1, 4, {"accuracy": 0.875, "loss": 0.5})

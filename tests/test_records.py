"""Records (the JSON beside each artefact) name the job that wrote it and the
CPU, and hold content hashes that every job loading the artefact checks."""
import json
import logging
import re
from types import SimpleNamespace

import pytest

from compressbench import io, machine, matrix, runner


def job(tmp_path, rule="prune", **wildcards):
    return SimpleNamespace(rule=rule, wildcards=wildcards or {"dataset": "mnist", "seed": "0"}, threads=1,
                           log=[str(tmp_path / "job.log")])


def test_a_record_names_the_rule_the_job_the_cpu_and_the_hash_of_each_artefact(tmp_path):
    model = tmp_path / "teacher.keras"
    model.write_bytes(b"weights")
    runner.record(job(tmp_path), tmp_path / "teacher.json", {"test_accuracy": 0.9}, artefacts=[model])
    rec = json.loads((tmp_path / "teacher.json").read_text())
    assert rec["rule"] == "prune" and rec["wildcards"] == {"dataset": "mnist", "seed": "0"}
    assert rec["cpu"] == machine.cpu() and rec["threads"] == 1 and rec["test_accuracy"] == 0.9
    assert rec["sha256"] == {"teacher.keras": io.sha256(model)}


def test_the_cpu_names_its_model_the_flags_that_pick_kernels_and_onednn():
    assert re.fullmatch(r".+ \[[a-z0-9_ ]*\] oneDNN=\S+", machine.cpu())


def test_a_changed_artefact_fails_naming_the_file_its_rule_and_the_rebuild_command(tmp_path):
    tfl = tmp_path / "x+none+float32.tflite"
    tfl.write_bytes(b"model bytes")
    runner.record(job(tmp_path, rule="convert"), matrix.record(str(tfl)), {}, artefacts=[tfl])
    io.verify(tfl, matrix.record(str(tfl)))  # intact: passes
    tfl.write_bytes(b"model bytez")
    with pytest.raises(io.ArtefactError, match=rf"{re.escape(str(tfl))}: content differs from the sha256 in "
                                               r"x\+none\+float32.json .*rule convert.*snakemake --cores 1 --force"):
        io.verify(tfl, matrix.record(str(tfl)))


def test_an_artefact_without_a_record_is_not_checked(tmp_path):
    (tmp_path / "m.keras").write_bytes(b"x")
    io.verify(tmp_path / "m.keras", tmp_path / "m.json")


def test_a_teachers_logits_share_its_models_record_and_dots_in_folders_are_no_suffix():
    assert matrix.record("models/train_baseline/mnist/s0/teacher.logits.npz") == \
        "models/train_baseline/mnist/s0/teacher.json"
    assert matrix.record("runs/v1.2/tflite/mnist/s0/ta+none+float32.tflite") == \
        "runs/v1.2/tflite/mnist/s0/ta+none+float32.json"


@pytest.fixture
def root_logging():
    """runner.run reconfigures logging (and fd 2, which capfd restores): put the handlers back."""
    handlers = logging.getLogger().handlers[:]
    yield
    logging.getLogger().handlers[:] = handlers
    logging.getLogger("compressbench").handlers[:] = []
    logging.getLogger("compressbench").propagate = True


def test_a_failed_job_prints_one_line_and_keeps_the_traceback_in_its_log(tmp_path, capfd, root_logging):
    from compressbench.data import DataError

    def main(smk, threads):
        logging.getLogger("tensorflow").warning("some TensorFlow warning")  # the log's, not the terminal's
        raise DataError("data/prepared/mnist.npz: not a readable prepared dataset")

    with pytest.raises(SystemExit):
        runner.run(job(tmp_path, rule="evaluate"), main)
    err = capfd.readouterr().err
    assert "error in evaluate [dataset=mnist, seed=0]: data/prepared/mnist.npz: not a readable" in err
    assert "evaluate [dataset=mnist, seed=0] start on" in err  # the project's own lines
    assert "Traceback" not in err and "some TensorFlow warning" not in err
    log = (tmp_path / "job.log").read_text()
    assert "Traceback" in log and "some TensorFlow warning" in log


def test_an_error_from_outside_the_project_also_names_its_type():
    assert runner.describe(KeyError("x_val")) == "KeyError: 'x_val'"
    assert runner.describe(AssertionError()) == "AssertionError"
    assert runner.describe(io.ArtefactError("m.keras: damaged")) == "m.keras: damaged"


def test_a_signal_inside_a_c_modules_import_stops_the_job_without_a_traceback(tmp_path, capfd, root_logging):
    import signal

    def main(smk, threads):
        try:  # what a C extension's init makes of the Interrupted raised inside it
            raise runner.Interrupted(signal.SIGTERM)
        except runner.Interrupted as exc:
            raise ImportError("initialization failed") from exc

    with pytest.raises(SystemExit) as stopped:
        runner.run(job(tmp_path, rule="train_teacher"), main)
    assert stopped.value.code == 128 + signal.SIGTERM
    assert "error in" not in capfd.readouterr().err
    log = (tmp_path / "job.log").read_text()
    assert "stopped by SIGTERM" in log and "Traceback" not in log

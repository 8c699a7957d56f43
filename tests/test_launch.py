"""The launcher names the outputs Snakemake marks incomplete (its markers, decoded)."""
from base64 import urlsafe_b64encode

from compressbench import launch


def test_incomplete_outputs_are_read_from_snakemakes_markers_long_names_included(tmp_path):
    folder = tmp_path / launch.INCOMPLETE
    short = "models/train_baseline/mnist/s0/teacher.keras"
    long = "tflite/mnist/s0/f0/" + "x" * 300 + ".tflite"
    folder.mkdir(parents=True)
    (folder / urlsafe_b64encode(short.encode()).decode()).touch()
    encoded = urlsafe_b64encode(long.encode()).decode()  # Snakemake splits names past NAME_MAX
    (folder / ("@" + encoded[:254])).mkdir()
    (folder / ("@" + encoded[:254]) / encoded[254:]).touch()
    (folder / "migration_underway").touch()
    assert sorted(launch.incomplete_outputs(tmp_path)) == sorted([short, long])


def test_the_stop_message_names_the_signal_the_outputs_and_what_to_do():
    msg = launch.stopped_message("SIGTERM", [f"o{i}" for i in range(7)])
    assert msg.startswith("launch: stopped by SIGTERM; 7 outputs") and "o4 and 2 more" in msg
    assert msg.endswith("the same command reruns them")
    assert "nothing partial" in launch.stopped_message("SIGINT", [])


def test_a_run_whose_jobs_refused_their_cells_is_planned_again_without_them(monkeypatch, capsys):
    from compressbench import launch
    found = [[], ["r1"], ["r1", "r2"], ["r1", "r2"]]   # records before, after runs 1, 2 and 3
    codes = iter([1, 1, 0])
    monkeypatch.setattr(launch.refused, "records", lambda root=".": found.pop(0))
    calls = []
    monkeypatch.setattr(launch, "_run", lambda args, received, group: calls.append(args) or next(codes))
    assert launch.main(["--cores", "2"]) == 0
    assert len(calls) == 3 and capsys.readouterr().err.count("planning again without them") == 2
    # a dry run, or a failure that refused nothing, is not run again
    found[:] = [[], ["r1"]]
    calls.clear()
    monkeypatch.setattr(launch, "_run", lambda args, received, group: calls.append(args) or 1)
    assert launch.main(["--cores", "2", "-n"]) == 1 and len(calls) == 1

"""The pilots' convergence check (benchmarks/pilot_curves.py)."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("pilot_curves", ROOT / "benchmarks/pilot_curves.py")
curves = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(curves)


def pilot(model, planned, val, finished=True):
    return {"name": f"{model}-e{planned}", "model": model, "planned": planned, "val": val,
            "seconds": [1.0] * len(val), "summary": {"test_accuracy": 0.5} if finished else None}


def test_twice_the_epochs_adding_under_half_a_point_is_converged_and_over_is_not():
    rows = curves.checks([pilot("s", 10, [0.70, 0.78, 0.80]), pilot("s", 20, [0.79, 0.804, 0.8049]),
                          pilot("t", 10, [0.70, 0.78, 0.80]), pilot("t", 20, [0.79, 0.80, 0.8051])])
    assert [(r[0], r[-1]) for r in rows] == [("s", "converged"), ("t", "not converged")]
    assert rows[0][5] == "+0.49"


def test_an_unfinished_pilot_is_no_evidence_either_way():
    assert curves.checks([pilot("s", 10, [0.7, 0.8, 0.8]), pilot("s", 20, [0.7, 0.8, 0.9], finished=False)]) == []


def test_the_pilot_folder_name_gives_model_and_planned_epochs(tmp_path):
    folder = tmp_path / "cifar10-student-e40-wd0.05"
    folder.mkdir()
    (folder / "epochs.log").write_text(
        "20:00:01 INFO pilot cifar10/student e40 epoch 1/40 accuracy=0.5000 val_accuracy=0.5500 (23.0 s)\n")
    p = curves.read(folder)
    assert (p["model"], p["planned"], p["val"], p["summary"]) == ("cifar10-student-wd0.05", 40, [0.55], None)

"""The integer-only check: an int8-I/O export classifies like its float-I/O twin."""
import numpy as np

from test_quantize import trained  # noqa: F401 (a fixture: a small trained model)

from compressbench import integer_io


def logits_for(pred, classes=10):
    return np.eye(classes)[pred]


def test_identical_predictions_pass():
    y = np.arange(1000) % 10
    out = integer_io.check(logits_for(y), logits_for(y), y)
    assert out == {"int8io_agreement": 1.0, "int8io_accuracy_delta_pp": 0.0, "int8io_check": "pass"}


def test_a_disagreement_that_costs_accuracy_beyond_a_tenth_of_a_point_fails():
    y = np.arange(1000) % 10
    wrong = y.copy()
    wrong[:2] = (y[:2] + 1) % 10  # 2 of 1000: agreement 99.8 %, accuracy -0.2 pp
    out = integer_io.check(logits_for(wrong), logits_for(y), y)
    assert out["int8io_agreement"] == 0.998 and out["int8io_accuracy_delta_pp"] == -0.2
    assert out["int8io_check"] == "fail"


def test_disagreements_that_cancel_in_accuracy_still_fail_below_99_5_percent_agreement():
    y = np.zeros(1000, dtype=int)
    ref = y.copy()
    ref[:3] = 1                 # the float export wrong on 3 images
    got = y.copy()
    got[3:6] = 2                # the integer one wrong on 3 others: same accuracy, 99.4 % agreement
    out = integer_io.check(logits_for(got), logits_for(ref), y)
    assert out["int8io_accuracy_delta_pp"] == 0.0 and out["int8io_agreement"] == 0.994
    assert out["int8io_check"] == "fail"


def test_a_full_integer_ptq_export_classifies_like_its_float_io_twin(trained, tiny_data):
    from compressbench import quantize
    images = quantize.calibration_images(tiny_data["x_train"], 50, seed=0)
    int_io = quantize.convert(trained, "int8", quantize.representative_of(images))
    float_io = quantize.convert(trained, "int8", quantize.representative_of(images), float_io=True)
    out = integer_io.check_blobs(int_io, float_io, tiny_data["x_test"], tiny_data["y_test"], batch_size=50)
    # the same quantized graph: only the input's and output's int8 rounding could move a prediction
    assert out == {"int8io_agreement": 1.0, "int8io_accuracy_delta_pp": 0.0, "int8io_check": "pass"}
    assert len(int_io) != len(float_io)  # the twin carries its quantize / dequantize ops

"""Integer-only deployment checked end to end: an int8-I/O export must classify like
its float-I/O export of the same model (QAT's `<scheme>-int8io` against `<scheme>`, in
the evaluation; a full-integer post-training export against the same conversion with
float I/O, in its convert job): argmax agreement on at least 99.5 % of the test
images and accuracy within 0.1 pp.

>>> check(np.eye(3), np.eye(3), np.arange(3))["int8io_check"]
'pass'
"""
from __future__ import annotations

import numpy as np

MIN_AGREEMENT = 0.995   # share of test images whose argmax matches the float-I/O export's
MAX_DELTA_PP = 0.1      # accuracy difference allowed, percentage points


def check(int_logits: np.ndarray, float_logits: np.ndarray, y: np.ndarray) -> dict:
    """Agreement, accuracy difference (pp, int8 I/O minus float I/O) and pass/fail."""
    a, b = int_logits.argmax(1), float_logits.argmax(1)
    agreement = float(np.mean(a == b))
    delta = 100.0 * (float(np.mean(a == y)) - float(np.mean(b == y)))
    ok = agreement >= MIN_AGREEMENT and abs(delta) <= MAX_DELTA_PP
    return {"int8io_agreement": round(agreement, 6), "int8io_accuracy_delta_pp": round(delta, 4),
            "int8io_check": "pass" if ok else "fail"}


def check_blobs(int_tflite: bytes, float_tflite: bytes, x: np.ndarray, y: np.ndarray, batch_size: int = 1000) -> dict:
    """`check` of two .tflite given as bytes, on uint8 images `x`."""
    from ai_edge_litert.interpreter import Interpreter

    from .evaluate import predict
    logits = []
    for blob in (int_tflite, float_tflite):
        interp = Interpreter(model_content=blob)
        interp.allocate_tensors()
        logits.append(predict(interp, x, batch_size))
    return check(*logits, y)

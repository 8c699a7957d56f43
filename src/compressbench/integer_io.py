"""Integer-only deployment checked end to end: an int8-I/O export must classify like
its float-I/O export of the same model (QAT's `<scheme>-int8io` against `<scheme>`):
argmax agreement on at least 99.5 % of the test images and accuracy within 0.1 pp.

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

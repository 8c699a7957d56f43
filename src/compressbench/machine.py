"""The CPU a job ran on, named in every record: latencies (and, with bf16,
speed) depend on it. Imports no TensorFlow."""
from __future__ import annotations

import functools
import os
import platform

# The instruction-set features that decide which oneDNN kernels TensorFlow runs.
FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16")


@functools.cache
def cpu() -> str:
    """E.g. "AMD EPYC [avx2 fma] oneDNN=1": model name, relevant flags, oneDNN setting."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    name = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    present = " ".join(f for f in FLAGS if f in flags)
    return f"{name} [{present}] oneDNN={os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset')}"

"""What a .tflite holds, read from its flatbuffer (no interpreter, no TensorFlow):
the storage type of every weight, and a tensor-arena estimate.

The arena estimate is what a microcontroller runtime must reserve for
activations: the peak, over the ops in execution order, of the bytes of the
non-constant tensors live at once (a tensor lives from the op that writes it, or
the start for a graph input, to the last op that reads it, or the end for a
graph output). It is an estimate: TFLite Micro's planner may pack tensors less
tightly, and op scratch buffers and the runtime's own structures are not counted.
A weight-only scheme's dequantized kernels count: at run time they are float
tensors the interpreter allocates.

>>> arena_bytes(open("model.tflite", "rb").read())        # doctest: +SKIP
12544
"""
from __future__ import annotations

import math

# Bytes per element of each TFLite tensor type (schema TensorType names); INT4 packs two.
TYPE_BYTES = {"FLOAT32": 4, "FLOAT16": 2, "BFLOAT16": 2, "FLOAT64": 8, "INT64": 8, "UINT64": 8, "INT32": 4,
              "UINT32": 4, "INT16": 2, "UINT16": 2, "INT8": 1, "UINT8": 1, "BOOL": 1, "INT4": 0.5, "UINT4": 0.5,
              "COMPLEX64": 8, "COMPLEX128": 16}


def _model(blob: bytes):
    from ai_edge_litert.tools import flatbuffer_utils as fb
    return fb.convert_bytearray_to_object(bytearray(blob))


def _type_name(code: int) -> str:
    from ai_edge_litert.tools import flatbuffer_utils as fb
    return fb.type_to_name(code)


def _is_constant(model, tensor) -> bool:
    buf = model.buffers[tensor.buffer] if tensor.buffer < len(model.buffers) else None
    return bool(buf is not None and (buf.data is not None and len(buf.data) or getattr(buf, "size", 0)))


def tensor_bytes(tensor) -> int:
    """Bytes of one tensor at batch 1 (a dynamic dimension counts as 1)."""
    shape = [max(int(d), 1) for d in (tensor.shape if tensor.shape is not None else [])]
    return math.ceil(math.prod(shape) * TYPE_BYTES[_type_name(tensor.type)])


# Ops whose second input is a kernel (weights).
WEIGHTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "CONV_3D", "BATCH_MATMUL")


def weight_types(blob: bytes) -> dict[str, str]:
    """The kernel (second input) of every weighted op (WEIGHTED), by name, with its
    storage type: {"model/fc1/MatMul": "INT4", ...}; a kernel dequantized before its op
    (weight-only schemes) is read through its DEQUANTIZE."""
    from ai_edge_litert.tools import flatbuffer_utils as fb
    model = _model(blob)
    graph = model.subgraphs[0]
    producer = {o: op for op in graph.operators for o in op.outputs}
    out = {}
    for op in graph.operators:
        if fb.opcode_to_name(model, op.opcodeIndex) not in WEIGHTED or len(op.inputs) < 2 or op.inputs[1] < 0:
            continue
        i = op.inputs[1]
        if i in producer and fb.opcode_to_name(model, producer[i].opcodeIndex) == "DEQUANTIZE":
            i = producer[i].inputs[0]
        t = graph.tensors[i]
        if _is_constant(model, t):
            out[t.name.decode() if isinstance(t.name, bytes) else t.name] = _type_name(t.type)
    return out


def lifetimes(blob: bytes) -> dict[int, tuple[int, int]]:
    """Non-constant tensor index -> (first step, last step) it is live, ops numbered 0..n-1."""
    model = _model(blob)
    graph = model.subgraphs[0]
    n = len(graph.operators)
    live: dict[int, list[int]] = {i: [0, 0] for i in graph.inputs}
    for step, op in enumerate(graph.operators):
        for i in [*op.inputs, *op.outputs]:
            if i < 0 or _is_constant(model, graph.tensors[i]):
                continue
            span = live.setdefault(i, [step, step])
            span[1] = max(span[1], step)
    for i in graph.outputs:
        live[i][1] = max(n - 1, 0)
    return {int(i): (a, b) for i, (a, b) in live.items()}


def arena_bytes(blob: bytes) -> int:
    """The tensor-arena estimate: the peak bytes of tensors live at one op (module doc)."""
    graph = _model(blob).subgraphs[0]
    spans = lifetimes(blob)
    steps = max(len(graph.operators), 1)
    return max(sum(tensor_bytes(graph.tensors[i]) for i, (a, b) in spans.items() if a <= s <= b)
               for s in range(steps))

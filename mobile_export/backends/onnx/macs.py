"""MACs of one chunk, read back from a ``.onnx`` file (float or QDQ int8) with fvcore's rules.

Shapes come from ONNX shape inference on the saved model.  ``Conv``: output elements ×
input channels per group × kernel; ``MatMul``: output elements × the shared dimension;
``Gemm``: M·N·K.  Biases and elementwise ops are not counted, as fvcore does not count
them, so the total equals ``tqcodec.macs.chunk_macs`` of the same decoder.
"""
from __future__ import annotations

import math
from pathlib import Path

import onnx
from onnx import shape_inference

from ...errors import ArtifactError


def _shapes(model: onnx.ModelProto) -> dict[str, tuple[int, ...]]:
    shapes = {init.name: tuple(init.dims) for init in model.graph.initializer}
    for vi in [*model.graph.input, *model.graph.output, *model.graph.value_info]:
        dims = vi.type.tensor_type.shape.dim
        if dims and all(d.HasField("dim_value") for d in dims):
            shapes[vi.name] = tuple(d.dim_value for d in dims)
    return shapes


def node_macs(node, shapes: dict[str, tuple[int, ...]]) -> int:
    def shape(name: str) -> tuple[int, ...]:
        if name not in shapes:
            raise ArtifactError(f"ONNX node {node.name}: no static shape for {name!r}")
        return shapes[name]

    if node.op_type == "Conv":
        w = shape(node.input[1])
        return math.prod(shape(node.output[0])) * w[1] * math.prod(w[2:])
    if node.op_type == "MatMul":
        return math.prod(shape(node.output[0])) * shape(node.input[0])[-1]
    if node.op_type == "Gemm":
        trans_a = next((a.i for a in node.attribute if a.name == "transA"), 0)
        a = shape(node.input[0])
        return math.prod(shape(node.output[0])) * (a[0] if trans_a else a[1])
    return 0


def file_macs(path: Path) -> tuple[int, dict[str, int]]:
    """(MACs of one call, MACs per node name) of the model in ``path``."""
    try:
        model = shape_inference.infer_shapes(onnx.load(str(path)))
    except Exception as e:  # noqa: BLE001 - onnx raises DecodeError, ValidationError, … on a bad file
        raise ArtifactError(f"{path}: not a readable ONNX model ({type(e).__name__}: {str(e)[:200]})") from None
    shapes = _shapes(model)
    by_node = {n.name: node_macs(n, shapes) for n in model.graph.node if n.op_type in ("Conv", "MatMul", "Gemm")}
    return sum(by_node.values()), by_node

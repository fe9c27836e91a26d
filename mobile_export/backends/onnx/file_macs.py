"""MACs read back from a ``.onnx`` (float or QDQ): ``Conv``/``MatMul``/``Gemm`` nodes, shapes from ONNX
shape inference; a weight dequantized from an int8 initializer counts as int8."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from ...errors import ArtifactError
from ...file_macs import ArtifactGraph, MacOp, prod


def read(path: Path, manifest: dict | None = None) -> ArtifactGraph:
    """``Conv``/``MatMul``/``Gemm`` nodes of an ONNX model (float or QDQ), shapes from ONNX shape
    inference; a weight dequantized from an int8 initializer counts as int8."""
    import onnx
    from onnx import shape_inference

    try:
        model = shape_inference.infer_shapes(onnx.load(str(path)))
    except Exception as e:  # noqa: BLE001 - onnx raises DecodeError, ValidationError, … on a bad file
        raise ArtifactError(f"{path}: cannot read the ONNX model ({type(e).__name__}: {str(e)[:200]})") from None
    g = model.graph
    shapes = {i.name: tuple(i.dims) for i in g.initializer}
    init_names = {i.name for i in g.initializer}
    int8_inits = {i.name for i in g.initializer if i.data_type == onnx.TensorProto.INT8}
    for vi in [*g.input, *g.output, *g.value_info]:
        dims = vi.type.tensor_type.shape.dim
        if dims and all(d.HasField("dim_value") for d in dims):
            shapes[vi.name] = tuple(d.dim_value for d in dims)
    producer = {o: n for n in g.node for o in n.output}

    def int8(name: str) -> bool:
        n = producer.get(name)
        return n is not None and n.op_type == "DequantizeLinear" and (n.input[0] in int8_inits or (
            producer.get(n.input[0]) is not None and producer[n.input[0]].op_type == "QuantizeLinear"))

    def shape(name: str, node) -> tuple[int, ...]:
        if name not in shapes:
            raise ArtifactError(f"{path}: node {node.name}: no static shape for {name!r}")
        return shapes[name]

    mac_ops, other = [], Counter()
    for n in g.node:
        if n.op_type == "Conv":
            w, out = shape(n.input[1], n), shape(n.output[0], n)
            dtype = ("int8" if int8(n.input[0]) else "fp32") + "×" + ("int8" if int8(n.input[1]) else "fp32")
            mac_ops.append(MacOp("Conv", "conv", prod(out) * prod(w[1:]), w[0], w[1], prod(w[2:]), dtype=dtype))
        elif n.op_type in ("MatMul", "Gemm"):
            a, out = shape(n.input[0], n), shape(n.output[0], n)
            trans_a = next((x.i for x in n.attribute if x.name == "transA"), 0) if n.op_type == "Gemm" else 0
            k = a[0] if trans_a else a[-1]
            dtype = ("int8" if int8(n.input[0]) else "fp32") + "×" + ("int8" if int8(n.input[1]) else "fp32")
            weight = n.input[1] in init_names or getattr(producer.get(n.input[1]), "op_type", "") == "DequantizeLinear"
            kind = "fully_connected" if weight else "matmul"
            mac_ops.append(MacOp(n.op_type, kind, prod(out) * k, out[-1], k, 1, dtype=dtype))
        elif n.op_type not in ("Constant",):
            other[n.op_type] += 1
    codes = shapes.get(g.input[0].name) if g.input else None
    audio = shapes.get(g.output[0].name) if g.output else None
    return ArtifactGraph("onnx", f"ONNX model, opset {model.opset_import[0].version}", mac_ops, other, [],
                         codes, audio)

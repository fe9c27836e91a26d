"""MACs read back from an ``.mlpackage``: the ML program protobuf (``load_spec``): conv,
conv_transpose, linear and matmul, from the tensor types the program declares.
"""
from __future__ import annotations

import contextlib
import io
import json
from collections import Counter
from pathlib import Path

from ...errors import ArtifactError
from ...file_macs import ArtifactGraph, MacOp, prod, quiet_imports


_MIL_UNCOUNTED = {"lstm", "gru", "rnn", "einsum", "scaled_dot_product_attention", "cond", "while_loop",
                  "conv_quantized", "linear_quantized"}
_MIL_INT8_PRODUCERS = {"dequantize", "constexpr_affine_dequantize", "constexpr_blockwise_shift_scale",
                       "constexpr_lut_to_dense"}


def read(path: Path, manifest: dict | None = None) -> ArtifactGraph:
    quiet_imports()
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        from coremltools.models.utils import load_spec
        from coremltools.proto import MIL_pb2
    if not path.is_dir() or not (path / "Manifest.json").is_file():
        raise ArtifactError(f"{path}: not an ML package (no Manifest.json inside)")
    try:
        spec = load_spec(str(path))
    except Exception as e:
        raise ArtifactError(f"{path}: cannot read the Core ML package ({type(e).__name__}: {e})") from None
    if spec.WhichOneof("Type") != "mlProgram":
        raise ArtifactError(f"{path}: a Core ML {spec.WhichOneof('Type')!r} model, not an ML program")
    functions = spec.mlProgram.functions
    if "main" not in functions:
        raise ArtifactError(f"{path}: ML program without a 'main' function")
    func = functions["main"]
    block = func.block_specializations[func.opset]
    dtype_names = {v: k.lower() for k, v in MIL_pb2.DataType.items()}
    types: dict[str, tuple[tuple[int, ...], str]] = {}

    def tensor_type(vt) -> tuple[tuple[int, ...], str]:
        if vt.WhichOneof("type") != "tensorType":
            return (), vt.WhichOneof("type") or "?"
        tt = vt.tensorType
        dims = []
        for d in tt.dimensions:
            if d.WhichOneof("dimension") != "constant":
                raise ArtifactError(f"{path}: a tensor with a non-constant dimension ({d})")
            dims.append(int(d.constant.size))
        return tuple(dims), {"float16": "fp16", "float32": "fp32"}.get(dtype_names.get(tt.dataType, "?"),
                                                                       dtype_names.get(tt.dataType, "?"))

    for inp in func.inputs:
        types[inp.name] = tensor_type(inp.type)
    producer: dict[str, str] = {}
    consts: dict[str, object] = {}
    mac_ops, other, uncounted = [], Counter(), []

    def arg(op, name):
        """(variable name or None, immediate value or None) of an op's input."""
        if name not in op.inputs or not op.inputs[name].arguments:
            return None, None
        a = op.inputs[name].arguments[0]
        if a.WhichOneof("binding") == "name":
            return a.name, consts.get(a.name)
        return None, _immediate(a.value)

    def walk(blk, where):
        for op in blk.operations:
            for out in op.outputs:
                types[out.name] = tensor_type(out.type)
                producer[out.name] = op.type
            if op.type == "const":
                if "val" in op.attributes:
                    consts[op.outputs[0].name] = _immediate(op.attributes["val"])
                continue
            for sub in op.blocks:
                walk(sub, f"{where}/{op.type}")

            def dt(var):
                shape_dtype = types.get(var, ((), "?"))[1]
                return "int8" if producer.get(var) in _MIL_INT8_PRODUCERS else shape_dtype

            if op.type in ("conv", "conv_transpose", "linear", "matmul"):
                out_shape = types[op.outputs[0].name][0]
                x, _ = arg(op, "x")
                if op.type in ("conv", "conv_transpose", "linear"):
                    w, _ = arg(op, "weight")
                    ws = types[w][0]
                    if op.type == "conv":  # weight [C_out, C_in/groups, k…]
                        taps = prod(ws[2:])
                        _, groups = arg(op, "groups")
                        kind = "depthwise_conv" if groups and int(groups) > 1 and ws[1] == 1 else "conv"
                        mac_ops.append(MacOp("conv", kind, prod(out_shape) * ws[1] * taps, ws[0], ws[1], taps,
                                             f"{dt(x)}×{dt(w)}", where))
                    elif op.type == "conv_transpose":  # weight [C_in, C_out/groups, k…], over input positions
                        taps = prod(ws[2:])
                        xs = types[x][0]
                        _, groups = arg(op, "groups")
                        g = int(groups) if groups else 1
                        mac_ops.append(MacOp("conv_transpose", "transposed_conv", prod(xs) * ws[1] * taps,
                                             ws[1] * g, ws[0] // g, taps, f"{dt(x)}×{dt(w)}", where))
                    else:  # weight [D_out, D_in]
                        mac_ops.append(MacOp("linear", "fully_connected", prod(out_shape) * ws[1], ws[0], ws[1], 1,
                                             f"{dt(x)}×{dt(w)}", where))
                else:
                    y, _ = arg(op, "y")
                    xs = types[x][0]
                    _, tx = arg(op, "transpose_x")
                    k = xs[0] if len(xs) == 1 else (xs[-2] if tx else xs[-1])
                    mac_ops.append(MacOp("matmul", "matmul", prod(out_shape) * k, out_shape[-1] if out_shape else 1,
                                         k, 1, f"{dt(x)}×{dt(y)}", where))
            elif op.type in _MIL_UNCOUNTED:
                uncounted.append(op.type)
            else:
                other[op.type] += 1

    try:
        walk(block, "main")
        outputs = list(block.outputs)
        names = [o.name for o in func.inputs]
        codes = "codes" if "codes" in types else next(
            (n for n in names if types[n][1].startswith("int")), None)
        audio_name = next((o for o in spec.description.output if o.name == "audio"), None)
        audio_shape = None
        if audio_name is not None:
            audio_shape = tuple(int(d) for d in audio_name.type.multiArrayType.shape) or None
        if audio_shape is None and outputs:
            audio_shape = types.get(outputs[0], ((), ""))[0] or None
        codes_shape = types[codes][0] if codes else None
    except ArtifactError:
        raise
    except Exception as e:
        raise ArtifactError(f"{path}: cannot read the ML program ({type(e).__name__}: {e})") from None
    return ArtifactGraph("coreml", f"Core ML ML program ({func.opset}), function 'main'", mac_ops, other,
                         uncounted, codes_shape, audio_shape)


def _immediate(value):
    """A MIL ``Value``'s immediate scalar/small tensor (None when it lives in a blob file)."""
    if value.WhichOneof("value") != "immediateValue":
        return None
    imm = value.immediateValue
    if imm.WhichOneof("value") != "tensor":
        return None
    t = imm.tensor
    for kind in ("ints", "bools", "floats", "longInts", "doubles", "strings"):
        if t.HasField(kind):
            vals = list(getattr(t, kind).values)
            return vals[0] if len(vals) == 1 else vals
    return None

"""MACs read back from a ``.tflite``: the signature's subgraph in the flatbuffer
(``ai_edge_litert.schema_py_generated``), CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV,
FULLY_CONNECTED and BATCH_MATMUL from their tensors' shapes.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from ...errors import ArtifactError
from ...file_macs import ArtifactGraph, MacOp, prod


_TFL_UNCOUNTED = {"CONV_3D", "CONV_3D_TRANSPOSE", "LSTM", "UNIDIRECTIONAL_SEQUENCE_LSTM",
                  "BIDIRECTIONAL_SEQUENCE_LSTM", "UNIDIRECTIONAL_SEQUENCE_RNN", "BIDIRECTIONAL_SEQUENCE_RNN",
                  "RNN", "SVDF", "WHILE", "IF", "STABLEHLO_CONVOLUTION", "STABLEHLO_DOT_GENERAL",
                  "STABLEHLO_WHILE", "STABLEHLO_CASE", "EMBEDDING_LOOKUP_SPARSE"}


def read(path: Path, manifest: dict | None = None) -> ArtifactGraph:
    from ai_edge_litert import schema_py_generated as tfl

    buf = path.read_bytes()
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ArtifactError(f"{path}: not a LiteRT flatbuffer (no 'TFL3' file identifier)")
    try:
        model = tfl.Model.GetRootAsModel(buf, 0)
        n_subgraphs = model.SubgraphsLength()
    except Exception as e:  # a truncated/corrupted flatbuffer
        raise ArtifactError(f"{path}: cannot parse the LiteRT flatbuffer ({type(e).__name__}: {e})") from None
    if n_subgraphs == 0:
        raise ArtifactError(f"{path}: LiteRT flatbuffer without subgraphs")
    names = {v: k for k, v in vars(tfl.BuiltinOperator).items() if not k.startswith("_")}
    types = {v: k for k, v in vars(tfl.TensorType).items() if not k.startswith("_")}
    litert_io = (manifest or {}).get("litert_io") or {}
    signature = litert_io.get("signature", "serving_default")
    sg_index, sig_inputs, sig_outputs, found = 0, {}, {}, None
    try:
        for i in range(model.SignatureDefsLength()):
            sd = model.SignatureDefs(i)
            if sd.SignatureKey().decode() == signature or model.SignatureDefsLength() == 1:
                sg_index, found = sd.SubgraphIndex(), sd.SignatureKey().decode()
                sig_inputs = {sd.Inputs(j).Name().decode(): sd.Inputs(j).TensorIndex()
                              for j in range(sd.InputsLength())}
                sig_outputs = {sd.Outputs(j).Name().decode(): sd.Outputs(j).TensorIndex()
                               for j in range(sd.OutputsLength())}
                break
        sg = model.Subgraphs(sg_index)

        def shape(t: int) -> tuple[int, ...]:
            tensor = sg.Tensors(t)
            dims = tuple(int(tensor.Shape(i)) for i in range(tensor.ShapeLength()))
            if any(d < 0 for d in dims):
                raise ArtifactError(f"{path}: tensor {tensor.Name().decode()!r} has a dynamic shape {dims}")
            return dims

        dequantized_from: dict[int, int] = {}  # DEQUANTIZE output → its input (fp16/int8 weights widened)
        ops = []
        for i in range(sg.OperatorsLength()):
            op = sg.Operators(i)
            oc = model.OperatorCodes(op.OpcodeIndex())
            code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())  # the deprecated int8 field saturates at 127
            name = names.get(code, f"BUILTIN_{code}")
            if name == "CUSTOM":
                name = f"CUSTOM:{oc.CustomCode().decode(errors='replace')}"
            inputs = [op.Inputs(j) for j in range(op.InputsLength())]
            outputs = [op.Outputs(j) for j in range(op.OutputsLength())]
            ops.append((op, name, inputs, outputs))
            if name == "DEQUANTIZE":
                dequantized_from[outputs[0]] = inputs[0]

        def dtype(t: int) -> str:
            def short(i):
                name = types.get(sg.Tensors(i).Type(), "?").lower()
                return {"float32": "fp32", "float16": "fp16"}.get(name, name)
            return f"{short(dequantized_from[t])}→{short(t)}" if t in dequantized_from else short(t)

        mac_ops, other, uncounted = [], Counter(), []
        for op, name, inputs, outputs in ops:
            where = f"subgraph {sg_index}"
            if name == "CONV_2D":
                w = shape(inputs[1])  # [O, kh, kw, I/groups]
                mac_ops.append(MacOp(name, "conv", prod(shape(outputs[0])) * prod(w[1:]), w[0], w[3], w[1] * w[2],
                                     f"{dtype(inputs[0])}×{dtype(inputs[1])}", where))
            elif name == "DEPTHWISE_CONV_2D":
                w = shape(inputs[1])  # [1, kh, kw, C_out]
                mac_ops.append(MacOp(name, "depthwise_conv", prod(shape(outputs[0])) * w[1] * w[2], w[3], 1,
                                     w[1] * w[2], f"{dtype(inputs[0])}×{dtype(inputs[1])}", where))
            elif name == "TRANSPOSE_CONV":
                w, x = shape(inputs[1]), shape(inputs[2])  # inputs: output_shape, weights [O, kh, kw, I], input
                mac_ops.append(MacOp(name, "transposed_conv", prod(x) * w[0] * w[1] * w[2], w[0], w[3], w[1] * w[2],
                                     f"{dtype(inputs[2])}×{dtype(inputs[1])}", where))
            elif name == "FULLY_CONNECTED":
                w = shape(inputs[1])  # [O, I]
                rows = prod(shape(inputs[0])) // w[1]
                mac_ops.append(MacOp(name, "fully_connected", rows * w[0] * w[1], w[0], w[1], 1,
                                     f"{dtype(inputs[0])}×{dtype(inputs[1])}", where))
            elif name == "BATCH_MATMUL":
                x = shape(inputs[0])
                adj_x = False
                table = op.BuiltinOptions()
                if table is not None:
                    opts = tfl.BatchMatMulOptions()
                    opts.Init(table.Bytes, table.Pos)
                    adj_x = bool(opts.AdjX())
                k = x[-2] if adj_x else x[-1]
                out = shape(outputs[0])
                mac_ops.append(MacOp(name, "matmul", prod(out) * k, out[-1], k, 1,
                                     f"{dtype(inputs[0])}×{dtype(inputs[1])}", where))
            elif name in _TFL_UNCOUNTED or name.startswith("CUSTOM:"):
                uncounted.append(name)
            else:
                other[name] += 1
        codes = sig_inputs.get((litert_io.get("inputs") or {}).get("codes", "codes"))
        audio = sig_outputs.get((litert_io.get("outputs") or {}).get("audio", "audio"))
        if codes is None:  # no signature names: the one int32 input
            ints = [sg.Inputs(i) for i in range(sg.InputsLength())
                    if sg.Tensors(sg.Inputs(i)).Type() == tfl.TensorType.INT32]
            codes = ints[0] if len(ints) == 1 else None
        codes_shape = shape(codes) if codes is not None else None
        audio_shape = shape(audio) if audio is not None else None
    except ArtifactError:
        raise
    except Exception as e:
        raise ArtifactError(f"{path}: cannot parse the LiteRT flatbuffer ({type(e).__name__}: {e})") from None
    return ArtifactGraph("litert", f"LiteRT flatbuffer, subgraph {sg_index}"
                         + (f" (signature {found!r})" if found else " (no signature)"), mac_ops, other,
                         uncounted, codes_shape, audio_shape)

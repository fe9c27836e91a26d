"""Multiply-accumulates per second of audio, counted from an exported artifact itself.

``python -m profiling.macs --artifact FILE [--artifact FILE2 ...] [--json]``

A count of the PyTorch module says nothing about the file that ships, so each reader
here walks what was serialised:

* ``.pte`` (ExecuTorch): the program flatbuffer (``deserialize_pte_binary``); each
  XNNPACK delegate's payload is parsed as an XNNPACK graph (its header, then the
  flatbuffer decoded with the backend's ``schema.fbs`` by the ``flatc`` that ships with
  executorch) and its Conv2d / DepthwiseConv2d / ConvTranspose2d / FullyConnected /
  BatchMatrixMultiply nodes are counted from their value shapes; kernel calls left on
  the portable kernels (conv, linear, mm, bmm, addmm) are counted from the execution
  plan's tensor shapes.  Every delegate *call* in the plan counts once.
* ``.tflite`` (LiteRT): the flatbuffer (``ai_edge_litert.schema_py_generated``): the
  signature's subgraph, CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV, FULLY_CONNECTED and
  BATCH_MATMUL from their tensors' shapes.
* ``.mlpackage`` (Core ML): the ML program protobuf read back from the package
  (``coremltools.models.utils.load_spec``): conv, conv_transpose, linear and matmul,
  from the tensor types the program declares for each op's inputs and outputs.

Rules (fvcore's, so the counts are comparable): a convolution costs its output
positions × input channels per group × kernel taps, a transposed convolution its input
positions × output channels per group × taps, a linear/matmul M·N·K.  Biases and
elementwise ops are not MACs (they are listed as "other ops").  An op that does MACs
but has no rule here (a fused LSTM, attention, einsum, control flow, an opaque
delegate) is reported as uncounted and fails the check: it is never silently 0.

Per second of audio: ``MACs per chunk × sample_rate / samples_per_chunk``, where
``samples_per_chunk = chunk_frames · hop``; K and the samples per chunk are read from the
artifact's ``codes`` input and ``audio`` output and checked against the manifest
(``<stem>.manifest.json``), which names the config.

The reference is ``profiling.macs``: fvcore on the offline decoder of that config
(``deployable_copy(TQCodec(config)).decoder`` over one second of frames).  The
streaming decoder that every backend exports (``mobile_export.streaming``) is counted
too, per conv/linear *call*, and each MAC op of the artifact is matched to one of those
calls (by output channels, input channels per group, taps and MACs), so any difference
is located: either between the streaming rewrite and the offline decoder (per layer),
or between the artifact and the streaming decoder (named ops).  Agreement means within
2 % of the reference; a larger difference passes only when every MAC of it is accounted
for by a recognised structural cause (listed with numbers in the output).
"""
from __future__ import annotations

import contextlib
import importlib.resources
import io
import json
import logging
import math
import re
import subprocess
import sys
import tempfile
import warnings
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from mobile_export.artifact import manifest_path
from mobile_export.manifest import file_sha256, read_manifest
from tqcodec.configs import CodecConfig, get_config
from tqcodec.macs import count_macs, deployable_copy
from tqcodec.model import TQCodec
from tqcodec.prune import prune

from . import budget

AGREEMENT_TOLERANCE = 0.02  # relative, artifact vs the fvcore reference
SUFFIXES = {".pte": "executorch", ".tflite": "litert", ".mlpackage": "coreml", ".onnx": "onnx"}
KIND_LABELS = {"conv": "convolution", "depthwise_conv": "depthwise convolution",
               "transposed_conv": "transposed convolution", "fully_connected": "linear / fully connected",
               "matmul": "matmul / batch matmul", "attention": "attention (QKᵀ and AV)"}


class ArtifactError(Exception):
    """The file cannot be read as the artifact its name says: one line for the user."""


@dataclass
class MacOp:
    """One multiply-accumulate op of an artifact, as serialised."""
    op: str  # the backend's op name: CONV_2D, XNNFullyConnected, conv, aten::convolution.out, …
    kind: str  # conv | depthwise_conv | transposed_conv | fully_connected | matmul | attention
    macs: int  # per call of the program (one chunk)
    out_channels: int | None = None  # weight-bearing ops: O, I per group, kernel taps (the matching key)
    in_channels: int | None = None
    taps: int | None = None
    dtype: str = ""  # "int8×int8", "fp32×fp32", "fp16×fp16", …: activation × weight as stored
    where: str = ""  # subgraph / delegate
    layer: str = ""  # the streaming decoder module this op was matched to

    @property
    def int8(self) -> bool:
        return self.dtype.startswith("int8") and self.dtype.endswith("int8")

    def key(self) -> tuple:
        return (self.out_channels, self.in_channels, self.taps, self.macs)

    def describe(self) -> str:
        if self.out_channels is None:
            return f"{self.op} ({self.macs:,} MACs)"
        return f"{self.op} {self.in_channels}→{self.out_channels} ×{self.taps} taps ({self.macs:,} MACs)"

    def to_dict(self) -> dict:
        return {"op": self.op, "kind": self.kind, "macs": self.macs, "out_channels": self.out_channels,
                "in_channels_per_group": self.in_channels, "taps": self.taps, "dtype": self.dtype,
                "where": self.where, "layer": self.layer}


@dataclass
class ArtifactGraph:
    """What a reader found in the file."""
    backend: str
    description: str
    mac_ops: list[MacOp]
    other_ops: Counter
    uncounted: list[str]  # ops that may do MACs and have no rule here
    codes_shape: tuple[int, ...] | None  # the program's ``codes`` input
    audio_shape: tuple[int, ...] | None  # the program's ``audio`` output


# ----------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------
def _prod(xs) -> int:
    return math.prod(int(x) for x in xs)


def _quiet_imports() -> None:
    for name in ("coremltools", "torchao", "absl", "torch.utils._pytree", "executorch"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="coremltools")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*register_constant.*")


# ----------------------------------------------------------------------------------------
# LiteRT (.tflite)
# ----------------------------------------------------------------------------------------
_TFL_UNCOUNTED = {"CONV_3D", "CONV_3D_TRANSPOSE", "LSTM", "UNIDIRECTIONAL_SEQUENCE_LSTM",
                  "BIDIRECTIONAL_SEQUENCE_LSTM", "UNIDIRECTIONAL_SEQUENCE_RNN", "BIDIRECTIONAL_SEQUENCE_RNN",
                  "RNN", "SVDF", "WHILE", "IF", "STABLEHLO_CONVOLUTION", "STABLEHLO_DOT_GENERAL",
                  "STABLEHLO_WHILE", "STABLEHLO_CASE", "EMBEDDING_LOOKUP_SPARSE"}


def read_tflite(path: Path, manifest: dict | None = None) -> ArtifactGraph:
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
                mac_ops.append(MacOp(name, "conv", _prod(shape(outputs[0])) * _prod(w[1:]), w[0], w[3], w[1] * w[2],
                                     f"{dtype(inputs[0])}×{dtype(inputs[1])}", where))
            elif name == "DEPTHWISE_CONV_2D":
                w = shape(inputs[1])  # [1, kh, kw, C_out]
                mac_ops.append(MacOp(name, "depthwise_conv", _prod(shape(outputs[0])) * w[1] * w[2], w[3], 1,
                                     w[1] * w[2], f"{dtype(inputs[0])}×{dtype(inputs[1])}", where))
            elif name == "TRANSPOSE_CONV":
                w, x = shape(inputs[1]), shape(inputs[2])  # inputs: output_shape, weights [O, kh, kw, I], input
                mac_ops.append(MacOp(name, "transposed_conv", _prod(x) * w[0] * w[1] * w[2], w[0], w[3], w[1] * w[2],
                                     f"{dtype(inputs[2])}×{dtype(inputs[1])}", where))
            elif name == "FULLY_CONNECTED":
                w = shape(inputs[1])  # [O, I]
                rows = _prod(shape(inputs[0])) // w[1]
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
                mac_ops.append(MacOp(name, "matmul", _prod(out) * k, out[-1], k, 1,
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


# ----------------------------------------------------------------------------------------
# ExecuTorch (.pte)
# ----------------------------------------------------------------------------------------
_ET_MAC_KERNELS = {"convolution", "_convolution", "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d",
                   "linear", "mm", "bmm", "addmm", "matmul", "baddbmm"}
# words in a kernel's name that suggest MACs: such a kernel without a rule fails the check
_ET_MAC_WORDS = {"conv", "convolution", "linear", "matmul", "mm", "bmm", "addmm", "baddbmm", "lstm", "gru", "rnn",
                 "attention", "einsum", "sdpa"}


def _xnn_dtype(name: str) -> str:
    """'xnn_datatype_qcint8' → 'int8' (per-tensor, per-channel and dynamic int8 alike), else 'fp32', 'fp16', …"""
    name = name.removeprefix("xnn_datatype_")
    return "int8" if "int8" in name else name


def _xnnpack_graph(blob: bytes) -> dict:
    """An XNNPACK delegate payload → the XNNGraph as a dict (flatc with the backend's schema)."""
    import executorch.backends.xnnpack.serialization as xnn_serialization
    from executorch.exir._serialize._flatbuffer import _get_flatc_path

    if blob[4:8] == b"XH00":
        from executorch.backends.xnnpack.serialization.xnnpack_graph_serialize import XNNHeader

        header = XNNHeader.from_bytes(blob[:XNNHeader.EXPECTED_LENGTH])
        if not header.is_valid() or header.flatbuffer_offset + header.flatbuffer_size > len(blob):
            raise ArtifactError("XNNPACK delegate payload with an invalid header")
        flat = blob[header.flatbuffer_offset:header.flatbuffer_offset + header.flatbuffer_size]
    else:  # payloads before the XNNPACK header existed: the flatbuffer alone
        flat = blob
    schema = importlib.resources.files(xnn_serialization).joinpath("schema.fbs").read_bytes()
    with tempfile.TemporaryDirectory() as d:
        Path(d, "schema.fbs").write_bytes(schema)
        Path(d, "graph.bin").write_bytes(flat)
        r = subprocess.run([_get_flatc_path(), "--json", "--strict-json", "--defaults-json", "--raw-binary",
                            "-o", d, str(Path(d, "schema.fbs")), "--", str(Path(d, "graph.bin"))],
                           capture_output=True, text=True)
        if r.returncode != 0 or not Path(d, "graph.json").is_file():
            why = (r.stderr or r.stdout).strip().splitlines()
            raise ArtifactError(f"XNNPACK delegate payload does not decode ({why[0] if why else 'flatc failed'})")
        text = Path(d, "graph.json").read_text()
    # flatc writes non-finite floats (clamp bounds) bare: inf, -inf, nan
    text = re.sub(r"(:\s*)(-?)inf\b", lambda m: f"{m.group(1)}{m.group(2)}Infinity", text)
    text = re.sub(r"(:\s*)nan\b", r"\1NaN", text)
    return json.loads(text)


def _count_xnnpack(graph: dict, where: str, mac_ops: list, other: Counter) -> None:
    values = {}
    for v in graph.get("xvalues", []):
        u = v["xvalue_union"]
        t = u.get("tensor_value", u)  # XNNQuantizedTensorValue wraps an XNNTensorValue
        values[t["id_out"]] = (tuple(int(d) for d in t.get("dims", [])), _xnn_dtype(t.get("datatype", "")))

    def dims(i):
        return values[i][0]

    def dt(*ids):
        return "×".join(values[i][1] for i in ids)

    for node in graph.get("xnodes", []):
        kind, n = node["xnode_union_type"], node["xnode_union"]
        if kind in ("XNNConv2d", "XNNDepthwiseConv2d", "XNNConvTranspose2d"):
            taps = n["kernel_height"] * n["kernel_width"]
            gic, goc, groups = n["group_input_channels"], n["group_output_channels"], n["groups"]
            if kind == "XNNConvTranspose2d":  # over input positions
                macs = _prod(dims(n["input1_id"])) * goc * taps
                mac_ops.append(MacOp(kind, "transposed_conv", macs, goc * groups, gic, taps,
                                     dt(n["input1_id"], n["filter_id"]), where))
            else:  # over output positions (depthwise: one input channel per group)
                macs = _prod(dims(n["output_id"])) * gic * taps
                mac_ops.append(MacOp(kind, "depthwise_conv" if kind == "XNNDepthwiseConv2d" else "conv", macs,
                                     goc * groups, gic, taps, dt(n["input1_id"], n["filter_id"]), where))
        elif kind == "XNNFullyConnected":
            x, out = dims(n["input1_id"]), dims(n["output_id"])
            mac_ops.append(MacOp(kind, "fully_connected", _prod(out) * x[-1], out[-1], x[-1], 1,
                                 dt(n["input1_id"], n["filter_id"]), where))
        elif kind == "XNNBatchMatrixMultiply":
            x, out = dims(n["input1_id"]), dims(n["output_id"])
            mac_ops.append(MacOp(kind, "matmul", _prod(out) * x[-1], out[-1], x[-1], 1,
                                 dt(n["input1_id"], n["input2_id"]), where))
        elif kind == "XNNScaledDotProductAttention":
            q, v = dims(n["query_id"]), dims(n["value_id"])  # [B, H, L, D], [B, H, S, Dv]
            mac_ops.append(MacOp(kind, "attention", _prod(q) * v[-2] + _prod(q[:-1]) * v[-2] * v[-1],
                                 dtype=dt(n["query_id"], n["key_id"]), where=where))
        else:
            other[kind] += 1


def read_pte(path: Path, manifest: dict | None = None) -> ArtifactGraph:
    from executorch.exir._serialize._program import deserialize_pte_binary

    data = path.read_bytes()
    if len(data) < 8 or data[4:6] != b"ET":
        raise ArtifactError(f"{path}: not an ExecuTorch program (no 'ET..' file identifier)")
    try:
        program = deserialize_pte_binary(data).program
    except Exception as e:
        raise ArtifactError(f"{path}: cannot parse the ExecuTorch program ({type(e).__name__}: {e})") from None
    plans = {p.name: p for p in program.execution_plan}
    if not plans:
        raise ArtifactError(f"{path}: ExecuTorch program without methods")
    plan = plans.get("forward") or next(iter(plans.values()))
    try:
        def value(i):
            return plan.values[i].val

        def sizes(i) -> tuple[int, ...]:
            return tuple(int(s) for s in value(i).sizes)

        def scalar(i) -> str:
            return {"FLOAT": "fp32", "HALF": "fp16", "CHAR": "int8", "BYTE": "uint8", "INT": "int32"}.get(
                value(i).scalar_type.name, value(i).scalar_type.name.lower())

        mac_ops, other, uncounted = [], Counter(), []
        graphs: dict[int, dict] = {}
        n_delegate_calls = 0
        for chain in plan.chains:
            for instr in chain.instructions:
                args = instr.instr_args
                kind = type(args).__name__
                if kind == "DelegateCall":
                    d = plan.delegates[args.delegate_index]
                    n_delegate_calls += 1
                    where = f"{d.id} delegate {args.delegate_index}"
                    if "xnnpack" not in d.id.lower():
                        uncounted.append(f"{d.id} delegate (payload not understood)")
                        continue
                    if args.delegate_index not in graphs:
                        ref = d.processed
                        if ref.location.name != "INLINE":
                            raise ArtifactError(f"{path}: delegate {args.delegate_index} payload not inline "
                                                "after deserialisation")
                        graphs[args.delegate_index] = _xnnpack_graph(
                            bytes(program.backend_delegate_data[ref.index].data))
                    _count_xnnpack(graphs[args.delegate_index], where, mac_ops, other)
                elif kind == "KernelCall":
                    op = plan.operators[args.op_index]
                    full = f"{op.name}.{op.overload}" if op.overload else op.name
                    base = op.name.split("::")[-1]
                    a = list(args.args)
                    where = "portable kernels"
                    if op.name.startswith("aten::") and base in _ET_MAC_KERNELS:
                        out = sizes(a[-1])
                        if base in ("convolution", "_convolution", "conv1d", "conv2d", "conv_transpose1d",
                                    "conv_transpose2d"):
                            x, w = sizes(a[0]), sizes(a[1])
                            transposed = base.startswith("conv_transpose") or (
                                base in ("convolution", "_convolution") and len(a) > 7
                                and bool(getattr(value(a[6]), "bool_val", False)))
                            taps = _prod(w[2:])
                            if transposed:  # weight [C_in, C_out/groups, k…]
                                groups = x[1] // w[0] if w[0] else 1
                                mac_ops.append(MacOp(full, "transposed_conv", _prod(x) * w[1] * taps,
                                                     w[1] * groups, x[1] // max(groups, 1), taps,
                                                     f"{scalar(a[0])}×{scalar(a[1])}", where))
                            else:  # weight [C_out, C_in/groups, k…]; depthwise: one input channel per group
                                kind = "depthwise_conv" if w[1] == 1 and x[1] > 1 else "conv"
                                mac_ops.append(MacOp(full, kind, _prod(out) * w[1] * taps, w[0], w[1], taps,
                                                     f"{scalar(a[0])}×{scalar(a[1])}", where))
                        elif base == "linear":
                            w = sizes(a[1])
                            mac_ops.append(MacOp(full, "fully_connected", _prod(out) * w[-1], w[0], w[-1], 1,
                                                 f"{scalar(a[0])}×{scalar(a[1])}", where))
                        else:  # mm, bmm, matmul: (a, b, out); addmm, baddbmm: (self, a, b, beta, alpha, out)
                            lhs = a[1] if base in ("addmm", "baddbmm") else a[0]
                            rhs = a[2] if base in ("addmm", "baddbmm") else a[1]
                            k = sizes(lhs)[-1]
                            mac_ops.append(MacOp(full, "matmul", _prod(out) * k, out[-1], k, 1,
                                                 f"{scalar(lhs)}×{scalar(rhs)}", where))
                    elif _ET_MAC_WORDS & set(re.split(r"[_\d]+", base.lower())):
                        uncounted.append(full)
                    else:
                        other[full] += 1
                else:  # MoveCall, JumpFalseCall, FreeCall: no arithmetic; control flow is flagged
                    if kind == "JumpFalseCall":
                        uncounted.append("JumpFalseCall (control flow: ops may run more or less than once)")
                    other[kind] += 1

        def io_shape(i):
            v = value(i)
            return sizes(i) if hasattr(v, "sizes") else None

        codes_shape = io_shape(plan.inputs[0]) if plan.inputs else None
        audio_shape = io_shape(plan.outputs[0]) if plan.outputs else None
    except ArtifactError:
        raise
    except Exception as e:
        raise ArtifactError(f"{path}: cannot read the ExecuTorch program ({type(e).__name__}: {e})") from None
    return ArtifactGraph("executorch", f"ExecuTorch program, method {plan.name!r}, {n_delegate_calls} delegate "
                         f"call(s) ({', '.join(sorted({d.id for d in plan.delegates})) or 'none'})",
                         mac_ops, other, uncounted, codes_shape, audio_shape)


# ----------------------------------------------------------------------------------------
# ONNX (.onnx)
# ----------------------------------------------------------------------------------------
def read_onnx(path: Path, manifest: dict | None = None) -> ArtifactGraph:
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
            mac_ops.append(MacOp("Conv", "conv", _prod(out) * _prod(w[1:]), w[0], w[1], _prod(w[2:]), dtype=dtype))
        elif n.op_type in ("MatMul", "Gemm"):
            a, out = shape(n.input[0], n), shape(n.output[0], n)
            trans_a = next((x.i for x in n.attribute if x.name == "transA"), 0) if n.op_type == "Gemm" else 0
            k = a[0] if trans_a else a[-1]
            dtype = ("int8" if int8(n.input[0]) else "fp32") + "×" + ("int8" if int8(n.input[1]) else "fp32")
            weight = n.input[1] in init_names or getattr(producer.get(n.input[1]), "op_type", "") == "DequantizeLinear"
            kind = "fully_connected" if weight else "matmul"
            mac_ops.append(MacOp(n.op_type, kind, _prod(out) * k, out[-1], k, 1, dtype=dtype))
        elif n.op_type not in ("Constant",):
            other[n.op_type] += 1
    codes = shapes.get(g.input[0].name) if g.input else None
    audio = shapes.get(g.output[0].name) if g.output else None
    return ArtifactGraph("onnx", f"ONNX model, opset {model.opset_import[0].version}", mac_ops, other, [],
                         codes, audio)


# ----------------------------------------------------------------------------------------
# Core ML (.mlpackage)
# ----------------------------------------------------------------------------------------
_MIL_UNCOUNTED = {"lstm", "gru", "rnn", "einsum", "scaled_dot_product_attention", "cond", "while_loop",
                  "conv_quantized", "linear_quantized"}
_MIL_INT8_PRODUCERS = {"dequantize", "constexpr_affine_dequantize", "constexpr_blockwise_shift_scale",
                       "constexpr_lut_to_dense"}


def read_mlpackage(path: Path, manifest: dict | None = None) -> ArtifactGraph:
    _quiet_imports()
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
                        taps = _prod(ws[2:])
                        _, groups = arg(op, "groups")
                        kind = "depthwise_conv" if groups and int(groups) > 1 and ws[1] == 1 else "conv"
                        mac_ops.append(MacOp("conv", kind, _prod(out_shape) * ws[1] * taps, ws[0], ws[1], taps,
                                             f"{dt(x)}×{dt(w)}", where))
                    elif op.type == "conv_transpose":  # weight [C_in, C_out/groups, k…], over input positions
                        taps = _prod(ws[2:])
                        xs = types[x][0]
                        _, groups = arg(op, "groups")
                        g = int(groups) if groups else 1
                        mac_ops.append(MacOp("conv_transpose", "transposed_conv", _prod(xs) * ws[1] * taps,
                                             ws[1] * g, ws[0] // g, taps, f"{dt(x)}×{dt(w)}", where))
                    else:  # weight [D_out, D_in]
                        mac_ops.append(MacOp("linear", "fully_connected", _prod(out_shape) * ws[1], ws[0], ws[1], 1,
                                             f"{dt(x)}×{dt(w)}", where))
                else:
                    y, _ = arg(op, "y")
                    xs = types[x][0]
                    _, tx = arg(op, "transpose_x")
                    k = xs[0] if len(xs) == 1 else (xs[-2] if tx else xs[-1])
                    mac_ops.append(MacOp("matmul", "matmul", _prod(out_shape) * k, out_shape[-1] if out_shape else 1,
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


READERS = {"onnx": read_onnx, "executorch": read_pte, "litert": read_tflite, "coreml": read_mlpackage}


# ----------------------------------------------------------------------------------------
# the reference: fvcore on the offline decoder (profiling.macs) and on the streaming one
# ----------------------------------------------------------------------------------------
@dataclass
class RefCall:
    layer: str  # streaming decoder module path
    kind: str
    macs: int
    out_channels: int
    in_channels: int
    taps: int

    def key(self) -> tuple:
        return (self.out_channels, self.in_channels, self.taps, self.macs)


@dataclass
class Reference:
    config: str
    chunk_frames: int
    offline_macs: int
    offline_seconds: float
    offline_layers: "OrderedDict[str, int]"  # offline decoder layer → MACs over offline_seconds
    streaming_macs_per_chunk: int  # fvcore on the StreamingDecoder, one chunk
    streaming_layers: "OrderedDict[str, int]"  # offline layer name → streaming MACs per chunk of its counterpart
    layer_names: dict  # offline layer → (streaming module, description)
    calls: list[RefCall]  # every conv/linear call of the streaming decoder, in call order
    samples_per_chunk: int
    sample_rate: int
    codebook_size: int
    n_codebooks: int

    @property
    def gmacs_per_s(self) -> float:
        return self.offline_macs / self.offline_seconds / 1e9

    @property
    def streaming_gmacs_per_s(self) -> float:
        return self.streaming_macs_per_chunk * self.sample_rate / self.samples_per_chunk / 1e9


_REFERENCES: dict[tuple, Reference] = {}


def reference(config, chunk_frames: int) -> Reference:
    """fvcore counts for ``config`` (a ``CodecConfig``): the offline decoder over one second of
    frames exactly as ``profiling.macs.analyse_model`` counts it, and the streaming decoder's
    conv/linear calls for one chunk of ``chunk_frames``.  Cached per (config, K)."""
    key = (json.dumps(config.to_dict(), sort_keys=True), chunk_frames)
    if key in _REFERENCES:
        return _REFERENCES[key]

    model = TQCodec(config).eval()  # untrained: MACs do not depend on the weights
    frames = round(1.0 * config.frame_rate)  # analyse_model(seconds=1)
    seconds = frames * config.hop_length / config.sample_rate
    offline = deployable_copy(model)
    with torch.no_grad():
        off_total, off_by = count_macs(offline.decoder, (torch.zeros(1, config.quantized_dim, frames),))
    off_layers = OrderedDict((k, v) for k, v in off_by.items() if k.count(".") == 1 and k.startswith("model.") and v)

    dec = prune(model, {}).streaming(chunk_frames)
    example = (torch.zeros(dec.input_spec().shape, dtype=torch.int32), *dec.init_state())
    with torch.no_grad():
        st_total, st_by = count_macs(dec, example)
    calls: list[RefCall] = []

    def hook(name):
        def record(mod, inputs, output):
            if isinstance(mod, nn.Conv1d):
                taps = mod.kernel_size[0]
                calls.append(RefCall(name, "conv", output.numel() * (mod.in_channels // mod.groups) * taps,
                                     mod.out_channels, mod.in_channels // mod.groups, taps))
            else:
                calls.append(RefCall(name, "fully_connected", output.numel() * mod.in_features, mod.out_features,
                                     mod.in_features, 1))
        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in dec.named_modules()
               if isinstance(m, (nn.Conv1d, nn.Linear))]
    try:
        with torch.no_grad():
            dec(*example)
    finally:
        for h in handles:
            h.remove()

    # offline layer ↔ streaming module (the same walk as StreamingDecoder.__init__)
    names: dict[str, tuple[str, str]] = {}
    stage = res = 0
    for i, layer in enumerate(offline.decoder.model):
        lname = f"model.{i}"
        tname = type(layer).__name__
        if hasattr(layer, "lstm"):
            names[lname] = ("lstm", "LSTM → gate matmuls (input projection batched over the chunk, recurrent "
                                    "matmul per frame)")
        elif hasattr(layer, "convtr"):
            names[lname] = (f"upsamplers.{stage}", "ConvTranspose1d → polyphase conv (kernel 2, stride·C_out "
                                                   "channels) + pixel shuffle")
            stage, res = stage + 1, 0
        elif tname == "SEANetResnetBlock":
            names[lname] = (f"res_blocks.{stage - 1}.{res}", "residual block: stateful dilated conv + 1×1 conv")
            res += 1
        elif hasattr(layer, "conv"):
            names[lname] = ("conv_in" if i == 0 else "conv_out", "causal conv with its left context as state")
    st_layers = OrderedDict((k, st_by.get(names[k][0], 0) if k in names else 0) for k in off_layers)
    ref = Reference(config.name, chunk_frames, off_total, seconds, off_layers, st_total, st_layers, names, calls,
                    dec.samples_per_chunk, config.sample_rate, config.codebook_size, config.n_codebooks)
    _REFERENCES[key] = ref
    return ref


# ----------------------------------------------------------------------------------------
# counting one artifact
# ----------------------------------------------------------------------------------------
@dataclass
class ArtifactReport:
    path: Path
    graph: ArtifactGraph
    manifest: dict | None
    manifest_path: Path | None
    chunk_frames: int | None
    samples_per_chunk: int | None
    sample_rate: int
    shape_source: str
    reference: Reference | None = None
    problems: list[str] = field(default_factory=list)  # failed checks (exit 1)
    notes: list[str] = field(default_factory=list)
    explained: list[dict] = field(default_factory=list)  # structural differences, with MACs per chunk
    unmatched_artifact: list[MacOp] = field(default_factory=list)
    unmatched_reference: list[RefCall] = field(default_factory=list)

    @property
    def macs_per_chunk(self) -> int:
        return sum(op.macs for op in self.graph.mac_ops)

    @property
    def chunks_per_s(self) -> float:
        return self.sample_rate / self.samples_per_chunk

    @property
    def gmacs_per_s(self) -> float:
        return self.macs_per_chunk * self.chunks_per_s / 1e9

    def per_s(self, macs_per_chunk: float) -> float:
        return macs_per_chunk * self.chunks_per_s / 1e9

    @property
    def int8_share(self) -> float:
        int8 = sum(op.macs for op in self.graph.mac_ops if op.int8)
        return int8 / self.macs_per_chunk if self.macs_per_chunk else 0.0

    @property
    def relative_difference(self) -> float | None:
        if self.reference is None:
            return None
        return self.gmacs_per_s / self.reference.gmacs_per_s - 1

    @property
    def unexplained_relative_difference(self) -> float | None:
        """The difference left once recognised structural causes are taken out."""
        if self.reference is None:
            return None
        explained = sum(e["gmacs_per_s"] for e in self.explained)
        return (self.gmacs_per_s - explained) / self.reference.gmacs_per_s - 1

    @property
    def agrees(self) -> bool:
        return self.reference is not None and abs(self.relative_difference) <= AGREEMENT_TOLERANCE

    @property
    def agrees_after_explanation(self) -> bool:
        return self.reference is not None and abs(self.unexplained_relative_difference) <= AGREEMENT_TOLERANCE

    def by_op(self) -> "OrderedDict[str, dict]":
        out: OrderedDict[str, dict] = OrderedDict()
        for op in sorted(self.graph.mac_ops, key=lambda o: o.op):
            e = out.setdefault(op.op, {"kind": op.kind, "count": 0, "macs_per_chunk": 0, "int8_macs_per_chunk": 0})
            e["count"] += 1
            e["macs_per_chunk"] += op.macs
            e["int8_macs_per_chunk"] += op.macs if op.int8 else 0
        for e in out.values():
            e["gmacs_per_s"] = self.per_s(e["macs_per_chunk"])
            e["share"] = e["macs_per_chunk"] / self.macs_per_chunk if self.macs_per_chunk else 0.0
        return out

    def by_layer(self) -> "OrderedDict[str, int]":
        out: OrderedDict[str, int] = OrderedDict()
        for op in self.graph.mac_ops:
            top = op.layer or "(unmatched)"
            out[top] = out.get(top, 0) + op.macs
        return out

    @property
    def passed(self) -> bool:
        return not self.problems


def _load_manifest(path: Path) -> tuple[dict | None, Path | None, list[str]]:

    notes = []
    try:
        mpath = manifest_path(path)
    except FileNotFoundError:
        return None, None, notes
    try:
        manifest = read_manifest(mpath)
    except (OSError, ValueError) as e:
        raise ArtifactError(f"{mpath}: unreadable manifest ({e})") from None
    if manifest.get("artifact") not in (None, path.name):
        notes.append(f"{mpath.name} describes {manifest.get('artifact')!r}, not {path.name}: ignored")
        return None, None, notes
    sha = manifest.get("artifact_sha256")
    if sha and sha != file_sha256(path):
        notes.append(f"{mpath.name}: artifact_sha256 differs from the file (manifest from another build?); "
                     "counts come from the file, the config from the manifest")
    return manifest, mpath, notes


def _config_from_manifest(manifest: dict):

    if manifest.get("config_detail"):
        return CodecConfig.from_dict(manifest["config_detail"])
    return get_config(manifest["config"])


def _match(report: ArtifactReport) -> None:
    """Pair each artifact MAC op with one streaming-decoder call: exact (O, I, taps, MACs) first,
    then MACs alone; both lists are in execution order, so equal keys pair in order."""
    ref = report.reference
    pending = list(range(len(ref.calls)))
    unmatched: list[MacOp] = []
    for keyfn_a, keyfn_r in ((lambda o: o.key(), lambda c: c.key()), (lambda o: o.macs, lambda c: c.macs)):
        buckets: dict = {}
        for i in pending:
            buckets.setdefault(keyfn_r(ref.calls[i]), []).append(i)
        todo = [op for op in report.graph.mac_ops if not op.layer]
        used = set()
        for op in todo:
            queue = buckets.get(keyfn_a(op))
            if queue:
                i = queue.pop(0)
                op.layer = ref.calls[i].layer
                used.add(i)
        pending = [i for i in pending if i not in used]
        unmatched = [op for op in report.graph.mac_ops if not op.layer]
    report.unmatched_artifact = unmatched
    report.unmatched_reference = [ref.calls[i] for i in pending]


def _explain(report: ArtifactReport) -> None:
    """Attribute the artifact-vs-reference difference to named causes, with numbers."""
    ref = report.reference
    # 1. streaming rewrite vs offline decoder, layer by layer (per second of audio)
    chunk_s = report.samples_per_chunk / report.sample_rate
    for lname, off in ref.offline_layers.items():
        off_per_s = off / ref.offline_seconds / 1e9
        st_per_s = ref.streaming_layers.get(lname, 0) / chunk_s / 1e9
        if abs(st_per_s - off_per_s) > 1e-12 * max(1.0, off_per_s):
            module, how = ref.layer_names.get(lname, ("?", "?"))
            report.explained.append({
                "cause": f"streaming rewrite of {lname} as {module}: {how}",
                "gmacs_per_s": st_per_s - off_per_s,
                "offline_gmacs_per_s": off_per_s, "streaming_gmacs_per_s": st_per_s})
    # 2. artifact vs streaming decoder: ops the lowering added or removed.  Recognised:
    #    the codebook gather lowered as a one-hot matmul (reduction over the codebook rows).
    rows = {ref.codebook_size, ref.codebook_size * ref.n_codebooks}
    lookups = [op for op in report.unmatched_artifact
               if op.kind in ("fully_connected", "matmul") and op.in_channels in rows]
    if lookups:
        report.explained.append({
            "cause": "codebook lookup lowered as a one-hot matmul (reduction over the codebook rows): "
                     + ", ".join(op.describe() for op in lookups),
            "gmacs_per_s": report.per_s(sum(op.macs for op in lookups))})
    # the rest of the unmatched ops stays unexplained (and is listed)


def read_artifact(path, manifest: dict | None = None) -> ArtifactGraph:
    """The MAC ops (and the other ops) of one artifact, read from the file alone."""
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path}: no such file")
    backend = SUFFIXES.get(path.suffix.lower())
    if backend is None:
        raise ArtifactError(f"{path}: unknown artifact type {path.suffix!r} (expected .pte, .tflite, .onnx or "
                            ".mlpackage)")
    if (backend == "coreml") != path.is_dir():
        raise ArtifactError(f"{path}: a {path.suffix} must be a {'folder' if backend == 'coreml' else 'file'}")
    _quiet_imports()
    return READERS[backend](path, manifest)


def analyse_artifact(path) -> ArtifactReport:
    """Count one artifact and check it against the reference and the budget."""

    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path}: no such file")
    manifest, mpath, notes = _load_manifest(path)
    graph = read_artifact(path, manifest)
    if not graph.mac_ops:
        raise ArtifactError(f"{path}: no conv/linear/matmul op found (not a decoder program?)")

    problems: list[str] = []
    # chunk size from the program itself, checked against the manifest
    K = graph.codes_shape[-1] if graph.codes_shape and len(graph.codes_shape) == 3 else None
    samples = _prod(graph.audio_shape) if graph.audio_shape else None
    sr = int((manifest or {}).get("sample_rate") or 44100)
    src = []
    if manifest:
        mk, ms = manifest.get("chunk_frames"), manifest.get("samples_per_chunk") or (
            manifest.get("chunk_frames", 0) * manifest.get("hop", 0))
        if K is not None and mk is not None and K != mk:
            problems.append(f"the program's codes input {list(graph.codes_shape)} has K={K}, the manifest says "
                            f"chunk_frames={mk}")
        if samples is not None and ms and samples != ms:
            problems.append(f"the program's audio output {list(graph.audio_shape)} has {samples} samples, the "
                            f"manifest says {ms} per chunk")
        K = K if K is not None else mk
        samples = samples if samples is not None else ms
        src.append(f"K from the codes input {list(graph.codes_shape)}" if graph.codes_shape else "K from the manifest")
        src.append(f"samples from the audio output {list(graph.audio_shape)}" if graph.audio_shape
                   else "samples from the manifest")
        src.append(f"checked against {mpath.name}")
    else:
        src.append("K and samples from the program's codes input and audio output; no manifest: "
                   "sample rate assumed 44100 Hz")
    if not K or not samples:
        raise ArtifactError(f"{path}: cannot tell the chunk size (no 'codes' input / 'audio' output and no manifest)")
    report = ArtifactReport(path, graph, manifest, mpath, int(K), int(samples), sr, "; ".join(src),
                            problems=problems, notes=notes)

    if graph.uncounted:
        c = Counter(graph.uncounted)
        problems.append("ops that may do MACs and have no rule here (not counted): "
                        + ", ".join(f"{k}×{v}" for k, v in c.items()))
    if manifest is None:
        problems.append("no manifest beside the artifact: its config is unknown, so the fvcore reference "
                        "cannot be computed")
    else:
        try:
            cfg = _config_from_manifest(manifest)
        except (KeyError, ValueError, TypeError) as e:
            raise ArtifactError(f"{mpath}: cannot build the config it names ({e})") from None
        report.reference = reference(cfg, report.chunk_frames)
        outside = report.reference.streaming_macs_per_chunk - sum(c.macs for c in report.reference.calls)
        if outside:
            report.notes.append(f"fvcore counts {outside:,} MACs per chunk of the streaming decoder outside its "
                                "conv/linear modules; they have no call to match")
        if report.reference.samples_per_chunk != report.samples_per_chunk:
            problems.append(f"config {cfg.name} at K={report.chunk_frames} makes {report.reference.samples_per_chunk} "
                            f"samples per chunk, the artifact {report.samples_per_chunk}")
        _match(report)
        _explain(report)
        rel = report.relative_difference
        if not report.agrees:
            if report.agrees_after_explanation and report.explained:
                report.notes.append(f"{100 * rel:+.2f} % vs the reference, within {100 * AGREEMENT_TOLERANCE:g} % "
                                    "once the structural causes listed are taken out")
            else:
                problems.append(f"{report.gmacs_per_s:.4f} GMAC/s is {100 * rel:+.2f} % from the fvcore reference "
                                f"{report.reference.gmacs_per_s:.4f} (tolerance ±{100 * AGREEMENT_TOLERANCE:g} %), "
                                f"{100 * report.unexplained_relative_difference:+.2f} % without a structural "
                                "explanation")
    if report.gmacs_per_s > budget.BUDGET_HARD_GMACS:
        problems.append(f"{report.gmacs_per_s:.3f} GMAC/s is over the {budget.BUDGET_HARD_GMACS:g} GMAC/s hard bound")
    return report


# ----------------------------------------------------------------------------------------
# output
# ----------------------------------------------------------------------------------------
def to_json(r: ArtifactReport) -> dict:

    ref = r.reference
    d = {
        "artifact": str(r.path),
        "format": r.graph.backend,
        "read_from": r.graph.description,
        "manifest": str(r.manifest_path) if r.manifest_path else None,
        "precision": (r.manifest or {}).get("precision"),
        "config": ref.config if ref else (r.manifest or {}).get("config"),
        "chunk_frames": r.chunk_frames,
        "samples_per_chunk": r.samples_per_chunk,
        "hop": r.samples_per_chunk // r.chunk_frames,
        "sample_rate": r.sample_rate,
        "shape_source": r.shape_source,
        "macs_per_chunk": r.macs_per_chunk,
        "gmacs_per_s": r.gmacs_per_s,
        "int8_mac_share": r.int8_share,
        "by_op": r.by_op(),
        "by_layer_gmacs_per_s": {k: r.per_s(v) for k, v in r.by_layer().items()},
        "other_ops": dict(sorted(r.graph.other_ops.items())),
        "uncounted_ops": dict(Counter(r.graph.uncounted)),
        "ops": [op.to_dict() for op in r.graph.mac_ops],
        "reference": None if ref is None else {
            "method": "fvcore (profiling.macs.count_macs) on the offline decoder of the manifest's config, "
                      f"{round(ref.offline_seconds * ref.sample_rate / (r.samples_per_chunk // r.chunk_frames))} "
                      "frames (one second), weight norm folded; LSTM handle; no biases or elementwise ops",
            "gmacs_per_s": ref.gmacs_per_s,
            "streaming_decoder_gmacs_per_s": ref.streaming_gmacs_per_s,
            "streaming_decoder_macs_per_chunk": ref.streaming_macs_per_chunk,
            "offline_layers_gmacs_per_s": {k: v / ref.offline_seconds / 1e9 for k, v in ref.offline_layers.items()},
        },
        "relative_difference": r.relative_difference,
        "agrees_within_2pct": r.agrees,
        "structural_differences": r.explained,
        "unexplained_relative_difference": r.unexplained_relative_difference,
        "matching": None if ref is None else {
            "artifact_mac_ops": len(r.graph.mac_ops),
            "reference_calls": len(ref.calls),
            "matched": len(r.graph.mac_ops) - len(r.unmatched_artifact),
            "unmatched_artifact_ops": [op.to_dict() for op in r.unmatched_artifact],
            "unmatched_reference_calls": [vars(c) for c in r.unmatched_reference],
        },
        "budget_gmacs_per_s": budget.BUDGET_TARGET_GMACS,
        "hard_budget_gmacs_per_s": budget.BUDGET_HARD_GMACS,
        "within_hard_bound": r.gmacs_per_s <= budget.BUDGET_HARD_GMACS,
        "vs_target": r.gmacs_per_s / budget.BUDGET_TARGET_GMACS - 1,
        "counted": "conv (incl. depthwise/transposed), fully connected/linear, matmul; not biases or elementwise ops",
        "notes": r.notes,
        "problems": r.problems,
        "passed": r.passed,
    }
    return d


def format_report(r: ArtifactReport) -> str:

    ref = r.reference
    prec = (r.manifest or {}).get("precision")
    lines = [f"{r.path}",
             f"  {r.graph.description}" + (f"; {prec}" if prec else "") + (f"; config {ref.config}" if ref else ""),
             f"  chunk: {r.chunk_frames} frames = {r.samples_per_chunk} samples at {r.sample_rate} Hz "
             f"({r.chunks_per_s:.3f} chunks/s); {r.shape_source}",
             f"  {'op':<34s} {'kind':<16s} {'count':>5s} {'MACs/chunk':>14s} {'GMAC/s':>8s} {'share':>7s} {'int8':>6s}"]
    for name, e in r.by_op().items():
        lines.append(f"  {name:<34s} {e['kind']:<16s} {e['count']:5d} {e['macs_per_chunk']:14,d} "
                     f"{e['gmacs_per_s']:8.4f} {100 * e['share']:6.1f}% "
                     f"{100 * e['int8_macs_per_chunk'] / e['macs_per_chunk']:5.1f}%")
    lines.append(f"  {'total':<34s} {'':<16s} {len(r.graph.mac_ops):5d} {r.macs_per_chunk:14,d} "
                 f"{r.gmacs_per_s:8.4f} {'':>7s} {100 * r.int8_share:5.1f}%")
    if r.graph.other_ops:
        lines.append("  other ops (no MACs): " + ", ".join(f"{k}×{v}" for k, v in r.graph.other_ops.most_common()))
    if ref is not None:
        matched = len(r.graph.mac_ops) - len(r.unmatched_artifact)
        lines.append(f"  reference (fvcore, offline decoder, profiling.macs): {ref.gmacs_per_s:.4f} GMAC/s; streaming "
                     f"decoder (fvcore, K={r.chunk_frames}): {ref.streaming_gmacs_per_s:.4f} GMAC/s")
        lines.append(f"  artifact vs reference: {100 * r.relative_difference:+.3f} % "
                     f"({r.gmacs_per_s - ref.gmacs_per_s:+.5f} GMAC/s); {matched} of {len(r.graph.mac_ops)} MAC ops "
                     f"matched one-to-one to the streaming decoder's {len(ref.calls)} conv/linear calls")
        for e in r.explained:
            lines.append(f"    structural: {e['cause']}: {e['gmacs_per_s']:+.5f} GMAC/s")
        for op in r.unmatched_artifact:
            lines.append(f"    in the artifact only: {op.describe()} [{op.where}] = {r.per_s(op.macs):.5f} GMAC/s")
        for c in r.unmatched_reference:
            lines.append(f"    in the reference only: {c.layer} {c.kind} {c.in_channels}→{c.out_channels} ×{c.taps} "
                         f"({c.macs:,} MACs) = {r.per_s(c.macs):.5f} GMAC/s")
    g = r.gmacs_per_s
    lines.append(f"  budget: {g:.3f} GMAC/s {'WITHIN' if g <= budget.BUDGET_HARD_GMACS else 'OVER'} the "
                 f"{budget.BUDGET_HARD_GMACS:g} GMAC/s hard bound; {100 * (g / budget.BUDGET_TARGET_GMACS - 1):+.1f} % vs the "
                 f"{budget.BUDGET_TARGET_GMACS} target")
    for n in r.notes:
        lines.append(f"  note: {n}")
    lines.append("  PASS" if r.passed else "  FAIL: " + "; ".join(r.problems))
    return "\n".join(lines)


def main(paths: list[str], as_json: bool = False) -> int:
    """The ``--artifact`` mode of ``python -m profiling.macs``: 0 all pass, 1 a check failed,
    2 a user error (missing file, unknown type, unreadable artifact)."""
    for p in paths:  # cheap checks first: no half-finished output for a typo
        path = Path(p)
        if not path.exists():
            print(f"error: {p}: no such file", file=sys.stderr)
            return 2
        if path.suffix.lower() not in SUFFIXES:
            print(f"error: {p}: unknown artifact type {path.suffix!r} (expected .pte, .tflite or .mlpackage)",
                  file=sys.stderr)
            return 2
    reports = []
    for p in paths:
        try:
            reports.append(analyse_artifact(p))
        except ArtifactError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    if as_json:
        print(json.dumps({"artifacts": [to_json(r) for r in reports], "budget_gmacs_per_s": budget.BUDGET_TARGET_GMACS,
                          "hard_budget_gmacs_per_s": budget.BUDGET_HARD_GMACS,
                          "passed": all(r.passed for r in reports)}, indent=2))
    else:
        print("\n\n".join(format_report(r) for r in reports))
    return 0 if all(r.passed for r in reports) else 1

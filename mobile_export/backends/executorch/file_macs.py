"""MACs read back from a ``.pte``: the program flatbuffer (``deserialize_pte_binary``);
each XNNPACK delegate's payload parsed as an XNNPACK graph (its header, then the flatbuffer
decoded with the backend's ``schema.fbs`` by the ``flatc`` that ships with executorch), its
Conv2d / DepthwiseConv2d / ConvTranspose2d / FullyConnected / BatchMatrixMultiply nodes
counted from their value shapes; kernel calls left on the portable kernels from the
execution plan's tensor shapes.  Every delegate *call* in the plan counts once.
"""
from __future__ import annotations

import importlib.resources
import json
import re
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

from ...errors import ArtifactError
from ...file_macs import ArtifactGraph, MacOp, prod


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
                macs = prod(dims(n["input1_id"])) * goc * taps
                mac_ops.append(MacOp(kind, "transposed_conv", macs, goc * groups, gic, taps,
                                     dt(n["input1_id"], n["filter_id"]), where))
            else:  # over output positions (depthwise: one input channel per group)
                macs = prod(dims(n["output_id"])) * gic * taps
                mac_ops.append(MacOp(kind, "depthwise_conv" if kind == "XNNDepthwiseConv2d" else "conv", macs,
                                     goc * groups, gic, taps, dt(n["input1_id"], n["filter_id"]), where))
        elif kind == "XNNFullyConnected":
            x, out = dims(n["input1_id"]), dims(n["output_id"])
            mac_ops.append(MacOp(kind, "fully_connected", prod(out) * x[-1], out[-1], x[-1], 1,
                                 dt(n["input1_id"], n["filter_id"]), where))
        elif kind == "XNNBatchMatrixMultiply":
            x, out = dims(n["input1_id"]), dims(n["output_id"])
            mac_ops.append(MacOp(kind, "matmul", prod(out) * x[-1], out[-1], x[-1], 1,
                                 dt(n["input1_id"], n["input2_id"]), where))
        elif kind == "XNNScaledDotProductAttention":
            q, v = dims(n["query_id"]), dims(n["value_id"])  # [B, H, L, D], [B, H, S, Dv]
            mac_ops.append(MacOp(kind, "attention", prod(q) * v[-2] + prod(q[:-1]) * v[-2] * v[-1],
                                 dtype=dt(n["query_id"], n["key_id"]), where=where))
        else:
            other[kind] += 1


def read(path: Path, manifest: dict | None = None) -> ArtifactGraph:
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
                            taps = prod(w[2:])
                            if transposed:  # weight [C_in, C_out/groups, k…]
                                groups = x[1] // w[0] if w[0] else 1
                                mac_ops.append(MacOp(full, "transposed_conv", prod(x) * w[1] * taps,
                                                     w[1] * groups, x[1] // max(groups, 1), taps,
                                                     f"{scalar(a[0])}×{scalar(a[1])}", where))
                            else:  # weight [C_out, C_in/groups, k…]; depthwise: one input channel per group
                                kind = "depthwise_conv" if w[1] == 1 and x[1] > 1 else "conv"
                                mac_ops.append(MacOp(full, kind, prod(out) * w[1] * taps, w[0], w[1], taps,
                                                     f"{scalar(a[0])}×{scalar(a[1])}", where))
                        elif base == "linear":
                            w = sizes(a[1])
                            mac_ops.append(MacOp(full, "fully_connected", prod(out) * w[-1], w[0], w[-1], 1,
                                                 f"{scalar(a[0])}×{scalar(a[1])}", where))
                        else:  # mm, bmm, matmul: (a, b, out); addmm, baddbmm: (self, a, b, beta, alpha, out)
                            lhs = a[1] if base in ("addmm", "baddbmm") else a[0]
                            rhs = a[2] if base in ("addmm", "baddbmm") else a[1]
                            k = sizes(lhs)[-1]
                            mac_ops.append(MacOp(full, "matmul", prod(out) * k, out[-1], k, 1,
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

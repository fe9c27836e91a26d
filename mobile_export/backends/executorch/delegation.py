"""How much of a lowered ExecuTorch program's arithmetic XNNPACK runs, and how much in int8.

The share is measured in multiply-accumulates, not in node counts: a reshape left on the
portable CPU kernels costs nothing, a convolution left there costs everything.  MACs are
counted from each node's tensor shapes with fvcore's rules (convolutions over output
positions, transposed convolutions over input positions, linear/matmul as M·N·K; no
biases, no elementwise ops), so the total matches ``tqcodec.macs.count_macs``.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

import torch

_OP = re.compile(r"(?:aten|quantized_decomposed|dim_order_ops)\.([A-Za-z0-9_]+)\.")
MAC_OPS = {"convolution", "conv1d", "conv2d", "linear", "addmm", "mm", "bmm"}


def op_name(node: torch.fx.Node) -> str:
    """'convolution', 'linear', 'dequantize_per_tensor', … for ATen and edge-dialect nodes."""
    if node.op != "call_function":
        return ""
    m = _OP.search(str(node.target))
    return m.group(1) if m else getattr(node.target, "__name__", "")


def _shape(n: torch.fx.Node) -> tuple[int, ...]:
    """A node's output shape; q/dq graphs leave folded weights and their dequantize unannotated."""
    if "val" in n.meta:
        return tuple(n.meta["val"].shape)
    if n.op == "get_attr":
        return tuple(functools.reduce(getattr, n.target.split("."), n.graph.owning_module).shape)
    if op_name(n).startswith(("dequantize", "quantize")):
        return _shape(n.args[0])
    raise ValueError(f"no shape known for node {n.name}")


def node_macs(node: torch.fx.Node) -> int:
    """Multiply-accumulates of one conv/linear/matmul node (0 for anything else)."""
    name = op_name(node)
    if name not in MAC_OPS:
        return 0
    out = _shape(node)
    if name in ("convolution", "conv1d", "conv2d"):
        w = _shape(node.args[1])
        transposed = name == "convolution" and len(node.args) > 6 and bool(node.args[6])
        if transposed:  # weight [C_in, C_out/g, k…]: every input position hits every tap once
            return math.prod(_shape(node.args[0])) * w[1] * math.prod(w[2:])
        return math.prod(out) * w[1] * math.prod(w[2:])
    if name == "linear":
        return math.prod(out) * _shape(node.args[1])[1]
    a, b = (node.args[1], node.args[2]) if name == "addmm" else (node.args[0], node.args[1])
    return math.prod(out) * _shape(a)[-1]


def _is_int8(node: torch.fx.Node) -> bool:
    """A MAC op whose activation and weight both come from dequantize ops runs in int8."""
    def from_dq(arg) -> bool:
        return isinstance(arg, torch.fx.Node) and op_name(arg).startswith("dequantize")
    if op_name(node) == "addmm":
        return from_dq(node.args[1]) and from_dq(node.args[2])
    return from_dq(node.args[0]) and from_dq(node.args[1])


@dataclass
class MacShares:
    total: int
    delegated: int
    int8: int
    delegates: int
    outside_ops: dict[str, int]  # compute-free ops left on the portable kernels, by name

    @property
    def delegated_share(self) -> float:
        return self.delegated / self.total if self.total else 1.0

    @property
    def int8_share(self) -> float:
        return self.int8 / self.total if self.total else 0.0

    def to_dict(self) -> dict:
        return {
            "macs_per_chunk": self.total,
            "delegated_mac_share": round(self.delegated_share, 6),
            "int8_mac_share": round(self.int8_share, 6),
            "delegated_subgraphs": self.delegates,
            "ops_outside_delegate": self.outside_ops,
            "method": "MACs of conv/linear/matmul nodes from tensor shapes (fvcore rules, no biases or "
                      "elementwise ops); delegated = inside XnnpackBackend subgraphs; int8 = activation and "
                      "weight both dequantized from int8",
        }


def mac_shares(program) -> MacShares:
    """Shares for a lowered edge program (``to_edge_transform_and_lower(...).exported_program()``).

    Also takes a plain graph module (e.g. ``convert_pt2e``'s q/dq graph): nothing is then
    delegated, but the int8 share is already known before the slow lowering.
    """
    gm = getattr(program, "graph_module", program)
    total = delegated = int8 = delegates = 0
    outside: dict[str, int] = {}
    for node in gm.graph.nodes:
        if node.op != "call_function":
            continue
        if "executorch_call_delegate" in str(node.target):
            delegates += 1
            lowered = getattr(gm, node.args[0].target)
            for inner in lowered.original_module.graph.nodes:
                m = node_macs(inner)
                total += m
                delegated += m
                int8 += m if m and _is_int8(inner) else 0
            continue
        name = op_name(node)
        if not name or name == "getitem":
            continue
        m = node_macs(node)
        total += m
        int8 += m if m and _is_int8(node) else 0
        outside[name] = outside.get(name, 0) + 1
    return MacShares(total, delegated, int8, delegates, outside)

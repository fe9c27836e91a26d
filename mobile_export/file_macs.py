"""What a backend reads back from its own artifact file for MAC counting: the ops, as serialised.

Each backend's ``file_macs`` module walks its format (``.pte``, ``.tflite``, ``.mlpackage``,
``.onnx``) into an ``ArtifactGraph`` of ``MacOp``s with fvcore's rules, so the counts are
comparable: a convolution costs its output positions × input channels per group × kernel
taps, a transposed convolution its input positions × output channels per group × taps, a
linear/matmul M·N·K.  Biases and elementwise ops are not MACs (listed as other ops); an op
that does MACs but has no rule (a fused LSTM, attention, einsum, control flow, an opaque
delegate) is listed as uncounted, never silently 0.  ``profiling.artifact_macs`` matches
them against the streaming decoder and the budget.
"""
from __future__ import annotations

import logging
import math
import warnings
from collections import Counter
from dataclasses import dataclass


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


def prod(xs) -> int:
    return math.prod(int(x) for x in xs)


def quiet_imports() -> None:
    for name in ("coremltools", "torchao", "absl", "torch.utils._pytree", "executorch"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="coremltools")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*register_constant.*")

"""Static int8 for XNNPACK: PT2E with ``XNNPACKQuantizer``, symmetric per-channel weights.

Activations get one per-tensor scale each, and the decoder's state tensors are activations
too (they enter through ``cat`` and leave through slices).  Their ranges depend on where
in a piece of music the decoder is, so calibration streams the real-music codes chunk by
chunk *with state carried from zeros*, exactly as the phone runs it — one chunk of random
codes from zero state would see neither the LSTM's settled h/c nor the convolutions'
filled context.

The LSTM's matmuls (input projection and recurrent weights: all of its MACs) are int8;
its cell arithmetic — gate slices, sigmoid/tanh, the ``f·c + i·g`` update and ``o·tanh(c)``
— stays fp32 inside the delegate (``is_lstm_cell_arith``).  In int8 the cell state is
re-quantised to 8 bits at every frame and the error compounds through the recurrence: on
the trained tq64 decoder all-int8 gives 13.6 dB against float, int8 matmuls with fp32
cell arithmetic 34.3 dB (4 s of music per excerpt, q/dq graph in PyTorch).  This is the
usual split for int8 LSTMs (TFLite keeps the cell state in 16 bits for the same reason).

Mixed precision: ``keep_float`` names module groups (``StreamingDecoder`` submodule paths,
e.g. ``conv_out`` or ``res_blocks.2.0``, or ``ROOT`` for the top-level ops) whose ops are
left unannotated, so they stay fp32 (still inside the XNNPACK delegate).
``mobile_export.sensitivity`` measures the dB each group buys back when kept in float
(``simulate`` here is its ExecuTorch side), so that a failing build keeps only the groups
that buy back the most.
"""
from __future__ import annotations

import logging
from typing import Callable, Iterable

import numpy as np
import torch

from tqcodec.macs import chunk_macs
from tqcodec.metrics import snr_db
from tqcodec.streaming import in_modules, traced_module_path as module_path

from ...calibration import chunks_covering, positional_step, stream_codes

logging.getLogger("torchao").setLevel(logging.ERROR)  # "Failed to load <cuda .so>" on CPU-only hosts

from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (  # noqa: E402
    XNNPACKQuantizer,
    get_symmetric_quantization_config,
)
from executorch.backends.xnnpack.quantizer.xnnpack_quantizer_utils import propagate_annotation  # noqa: E402
from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e  # noqa: E402
from torchao.quantization.pt2e.quantizer.quantizer import Q_ANNOTATION_KEY  # noqa: E402

ROOT = "<root>"  # the decoder's own ops, outside every submodule (ELUs before upsamplers, skip add, …)


def in_group(node: torch.fx.Node, group: str) -> bool:
    """Is the node an op of module ``group`` (a path like ``res_blocks.2.0``, or ``ROOT``)?"""
    path = module_path(node)
    if group == ROOT:
        return path == ""
    return in_modules(path, (group,))


LSTM_MATMULS = ("input_proj", "recurrent")  # GateLSTMLayer's Linear modules


def is_lstm_cell_arith(node: torch.fx.Node) -> bool:
    """An op of a ``GateLSTMLayer`` outside its two matmuls (see the module docstring)."""
    parts = module_path(node).split(".")
    return len(parts) >= 2 and parts[0] == "lstm" and not (len(parts) > 2 and parts[2] in LSTM_MATMULS)


class ModuleScopedQuantizer(XNNPACKQuantizer):
    """``XNNPACKQuantizer`` (symmetric int8, per-channel weights) with per-module exclusions.

    In executorch 1.5.1 the ``cat`` annotator ignores ``set_filter_function``, so a filter
    alone would still quantize every state concatenation.  Instead every pattern is
    annotated, then annotations of ops that ``quantize_node`` rejects are dropped before
    shared specs are propagated (their weights then get no observer either).  The LSTM's
    cell arithmetic is always left fp32 this way.
    """

    def __init__(self, quantize_node: Callable[[torch.fx.Node], bool] | None = None):
        super().__init__()
        self.set_global(get_symmetric_quantization_config(is_per_channel=True))
        self.quantize_node = quantize_node

    def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        model = self._annotate_for_quantization_config(model)
        for node in model.graph.nodes:
            if node.op != "call_function":
                continue
            if is_lstm_cell_arith(node) or (self.quantize_node is not None and not self.quantize_node(node)):
                node.meta.pop(Q_ANNOTATION_KEY, None)
        propagate_annotation(model)
        return model


def make_quantizer(keep_float: Iterable[str] = ()) -> ModuleScopedQuantizer:
    """``keep_float``: module groups whose ops stay fp32 (mixed precision)."""
    skip = tuple(keep_float)
    if not skip:
        return ModuleScopedQuantizer()
    return ModuleScopedQuantizer(lambda n: not any(in_group(n, g) for g in skip))


def quantize(graph_module: torch.fx.GraphModule, decoder, codes: torch.Tensor, keep_float: Iterable[str] = (),
             calibration_seconds: float | None = None, desc: str | None = "calibrate") -> torch.fx.GraphModule:
    """prepare_pt2e → stream real-music codes through it (state carried) → convert_pt2e.

    ``graph_module`` is an exported program's ``.module()`` (it is modified in place);
    ``codes`` [N, n_q, F] are the calibration excerpts; the result is the q/dq graph
    (run it in PyTorch to simulate the int8 artifact, or export it again to lower it).
    """
    prepared = prepare_pt2e(graph_module, make_quantizer(keep_float))
    chunks = chunks_covering(calibration_seconds, decoder.config.frame_rate, decoder.chunk_frames)
    for _ in stream_codes(positional_step(prepared), decoder.init_state, codes, decoder.chunk_frames, chunks, desc,
                          channels=decoder.channels):
        pass
    return convert_pt2e(prepared)


def simulated_snr(quantized, decoder, codes: torch.Tensor, max_chunks: int | None) -> float:
    """SNR (dB) of the q/dq graph run in PyTorch against the float decoder, state carried."""
    def audio(module):
        return np.concatenate([y.reshape(-1).numpy() for *_, y in stream_codes(
            positional_step(module), decoder.init_state, codes, decoder.chunk_frames, max_chunks,
            channels=decoder.channels)])
    return snr_db(audio(decoder), audio(quantized))


def simulator(export_fn: Callable[[], torch.fx.GraphModule], decoder, codes: torch.Tensor, seconds: float):
    """``keep_float → simulated SNR``, for ``mobile_export.sensitivity``: calibrate and score on the first
    ``seconds`` of each excerpt.  ``export_fn()`` returns a fresh exported graph (prepare modifies it)."""
    chunks = chunks_covering(seconds, decoder.config.frame_rate, decoder.chunk_frames)

    def simulate(keep: tuple[str, ...]) -> float:
        return simulated_snr(quantize(export_fn(), decoder, codes, keep, seconds, desc=None), decoder, codes, chunks)
    return simulate


def decoder_groups(decoder) -> dict[str, int]:
    """The decoder's layers as quantization groups → MACs per chunk: ``ROOT`` (elementwise
    only), conv_in, each LSTM layer, each upsampler and residual block, conv_out."""
    _, by_module = chunk_macs(decoder)
    groups = {ROOT: 0, "conv_in": by_module.get("conv_in", 0)}
    groups.update({f"lstm.{i}": by_module.get(f"lstm.{i}", 0) for i in range(len(decoder.lstm))})
    for s, stage in enumerate(decoder.res_blocks):
        groups[f"upsamplers.{s}"] = by_module.get(f"upsamplers.{s}", 0)
        groups.update({f"res_blocks.{s}.{r}": by_module.get(f"res_blocks.{s}.{r}", 0) for r in range(len(stage))})
    groups["conv_out"] = by_module.get("conv_out", 0)
    return groups

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
left unannotated, so they stay fp32 (still inside the XNNPACK delegate).  ``sensitivity``
measures each layer's own int8 noise (per-layer SNR: that layer alone in int8) so that
only the layers that cost the most dB are kept in float.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import torch

logging.getLogger("torchao").setLevel(logging.ERROR)  # "Failed to load <cuda .so>" on CPU-only hosts

from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (  # noqa: E402
    XNNPACKQuantizer,
    get_symmetric_quantization_config,
)
from executorch.backends.xnnpack.quantizer.xnnpack_quantizer_utils import propagate_annotation  # noqa: E402
from torchao.quantization.pt2e.quantizer.quantizer import Q_ANNOTATION_KEY  # noqa: E402
from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e  # noqa: E402


from .streaming import in_modules, traced_module_path as module_path  # noqa: E402

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


def make_quantizer(keep_float: Iterable[str] = (), only: Iterable[str] | None = None) -> ModuleScopedQuantizer:
    """``keep_float``: module groups whose ops stay fp32 (mixed precision).  ``only``:
    quantize these groups' ops and nothing else (per-layer noise analysis)."""
    skip, keep = tuple(keep_float), None if only is None else tuple(only)
    if not skip and keep is None:
        return ModuleScopedQuantizer()

    def quantize_node(n: torch.fx.Node) -> bool:
        if any(in_group(n, g) for g in skip):
            return False
        return keep is None or any(in_group(n, g) for g in keep)

    return ModuleScopedQuantizer(quantize_node)


def stream_chunks(module, decoder, codes: torch.Tensor, max_chunks: int | None = None, progress=None):
    """Run ``module(codes, *state)`` over codes [N, n_q, F] chunk by chunk, state carried per excerpt.

    Yields (excerpt index, chunk start, audio chunk).  ``progress`` is an optional tqdm bar
    advanced once per chunk.
    """
    K = decoder.chunk_frames
    usable = codes.shape[-1] // K * K
    per_excerpt = usable // K if max_chunks is None else min(usable // K, max_chunks)
    with torch.no_grad():
        for i in range(codes.shape[0]):
            state = decoder.init_state()
            for c in range(per_excerpt):
                start = c * K
                out = module(codes[i:i + 1, :, start:start + K].to(torch.int32), *state)
                state = list(out[1:])
                if progress is not None:
                    progress.update(1)
                yield i, start, out[0]


def calibration_chunks(decoder, codes: torch.Tensor, seconds: float | None) -> int | None:
    """Chunks per excerpt that cover ``seconds`` of each excerpt (None: all of it)."""
    if seconds is None:
        return None
    return max(1, math.ceil(seconds * decoder.config.frame_rate / decoder.chunk_frames))


def quantize(graph_module: torch.fx.GraphModule, decoder, codes: torch.Tensor, keep_float: Iterable[str] = (),
             calibration_seconds: float | None = None, desc: str | None = "calibrate",
             only: Iterable[str] | None = None) -> torch.fx.GraphModule:
    """prepare_pt2e → stream real-music codes through it (state carried) → convert_pt2e.

    ``graph_module`` is an exported program's ``.module()`` (it is modified in place);
    ``codes`` [N, n_q, F] are the calibration excerpts; the result is the q/dq graph
    (run it in PyTorch to simulate the int8 artifact, or export it again to lower it).
    """
    prepared = prepare_pt2e(graph_module, make_quantizer(keep_float, only))
    chunks = calibration_chunks(decoder, codes, calibration_seconds)
    bar = _bar(desc, codes.shape[0] * (chunks or codes.shape[-1] // decoder.chunk_frames))
    try:
        for _ in stream_chunks(prepared, decoder, codes, chunks, bar):
            pass
    finally:
        if bar is not None:
            bar.close()
    return convert_pt2e(prepared)


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    noise = float(np.sum((reference - estimate) ** 2))
    return min(200.0, 10 * math.log10(float(np.sum(reference ** 2)) / noise)) if noise > 0 else 200.0


def simulated_snr(quantized, decoder, codes: torch.Tensor, max_chunks: int | None, desc: str | None = None) -> float:
    """SNR (dB) of the q/dq graph run in PyTorch against the float decoder, state carried."""
    total = codes.shape[0] * (max_chunks or codes.shape[-1] // decoder.chunk_frames)
    bar = _bar(desc, total)
    ref = [y.reshape(-1).numpy() for *_, y in stream_chunks(decoder, decoder, codes, max_chunks)]
    est = [y.reshape(-1).numpy() for *_, y in stream_chunks(quantized, decoder, codes, max_chunks, bar)]
    if bar is not None:
        bar.close()
    return snr_db(np.concatenate(ref), np.concatenate(est))


def decoder_groups(decoder) -> dict[str, int]:
    """The decoder's layers as quantization groups → MACs per chunk: ``ROOT`` (elementwise
    only), conv_in, each LSTM layer, each upsampler and residual block, conv_out."""
    from profiling.macs import count_macs

    _, by_module = count_macs(decoder, (torch.zeros(decoder.input_spec().shape, dtype=torch.int32),
                                        *decoder.init_state()))
    groups = {ROOT: 0, "conv_in": by_module.get("conv_in", 0)}
    groups.update({f"lstm.{i}": by_module.get(f"lstm.{i}", 0) for i in range(len(decoder.lstm))})
    for s, stage in enumerate(decoder.res_blocks):
        groups[f"upsamplers.{s}"] = by_module.get(f"upsamplers.{s}", 0)
        groups.update({f"res_blocks.{s}.{r}": by_module.get(f"res_blocks.{s}.{r}", 0) for r in range(len(stage))})
    groups["conv_out"] = by_module.get("conv_out", 0)
    return groups


@dataclass
class LayerCost:
    """One layer's int8 noise: the SNR vs float when it alone is int8, and its MAC share."""

    group: str
    snr_db_alone: float
    noise_share: float  # of the summed isolated noise powers
    mac_share: float

    def to_dict(self) -> dict:
        return {"layer": self.group, "snr_db_int8_alone": round(self.snr_db_alone, 2),
                "noise_share": round(self.noise_share, 4), "mac_share": round(self.mac_share, 5)}


def sensitivity(export_fn, decoder, codes: torch.Tensor, groups: dict[str, int], seconds: float,
                progress: bool = True, keep_float: Iterable[str] = ()) -> tuple[float, list[LayerCost]]:
    """Per-layer SNR: each group quantized alone (everything else fp32), SNR vs float.

    ``export_fn()`` returns a fresh exported graph module (prepare modifies its input).
    Calibration and evaluation use the first ``seconds`` of each excerpt (a cheap proxy;
    the artifact itself is verified in full).  Returns the SNR with everything but
    ``keep_float`` in int8 and the layers, noisiest (lowest SNR, most dB cost) first.
    """
    chunks = calibration_chunks(decoder, codes, seconds)
    base = simulated_snr(quantize(export_fn(), decoder, codes, tuple(keep_float), seconds, desc=None), decoder,
                         codes, chunks)
    items = list(groups)
    if progress:
        from tqdm import tqdm
        items = tqdm(items, desc="per-layer SNR", unit="layer", leave=False)
    alone = {}
    for g in items:
        q = quantize(export_fn(), decoder, codes, (), seconds, desc=None, only=(g,))
        alone[g] = simulated_snr(q, decoder, codes, chunks)
    noise = {g: 10 ** (-v / 10) for g, v in alone.items()}
    total_noise, total_macs = sum(noise.values()) or 1.0, sum(groups.values()) or 1
    costs = [LayerCost(g, alone[g], noise[g] / total_noise, groups[g] / total_macs) for g in groups]
    costs.sort(key=lambda c: c.snr_db_alone)
    return base, costs


def _bar(desc: str | None, total: int):
    if not desc:
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="chunk", leave=False)

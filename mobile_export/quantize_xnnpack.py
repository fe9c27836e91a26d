"""Static int8 for XNNPACK: PT2E with ``XNNPACKQuantizer``, symmetric per-channel weights.

Activations get one per-tensor scale each, and the decoder's state tensors are activations
too (they enter through ``cat`` and leave through slices).  Their ranges depend on where
in a piece of music the decoder is, so calibration streams the real-music codes chunk by
chunk *with state carried from zeros*, exactly as the phone runs it — one chunk of random
codes from zero state would see neither the LSTM's settled h/c nor the convolutions'
filled context.

Mixed precision: ``keep_float`` names modules (``StreamingDecoder`` submodule paths, e.g.
``conv_out`` or ``res_blocks.2.0.conv_b``) whose ops are left unannotated, so they stay
fp32 (still inside the XNNPACK delegate).  ``sensitivity`` measures how many dB each
candidate costs in int8 so that only the layers that pay for it are kept in float.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import torch

logging.getLogger("torchao").setLevel(logging.ERROR)  # "Failed to load <cuda .so>" on CPU-only hosts

from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (  # noqa: E402
    XNNPACKQuantizer,
    get_symmetric_quantization_config,
)
from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e  # noqa: E402


def module_path(node: torch.fx.Node) -> str:
    """Innermost ``nn.Module`` path a traced node came from ('' when none is recorded)."""
    stack = node.meta.get("nn_module_stack") or {}
    return list(stack.values())[-1][0] if stack else ""


def _in_any(node: torch.fx.Node, prefixes: frozenset[str]) -> bool:
    path = module_path(node)
    return any(path == p or path.startswith(p + ".") for p in prefixes)


def make_quantizer(keep_float: Iterable[str] = ()) -> XNNPACKQuantizer:
    """Symmetric int8, per-channel weights; ops inside ``keep_float`` modules stay float.

    The annotators ask the filter about every node of a pattern (op, weight, bias); weight
    and bias ``get_attr`` nodes carry no module stack, so only the op decides.
    """
    quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
    skip = frozenset(keep_float)
    if skip:
        quantizer.set_filter_function(lambda n: not _in_any(n, skip))
    return quantizer


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
             calibration_seconds: float | None = None, desc: str | None = "calibrate") -> torch.fx.GraphModule:
    """prepare_pt2e → stream real-music codes through it (state carried) → convert_pt2e.

    ``graph_module`` is an exported program's ``.module()`` (it is modified in place);
    ``codes`` [N, n_q, F] are the calibration excerpts; the result is the q/dq graph
    (run it in PyTorch to simulate the int8 artifact, or export it again to lower it).
    """
    prepared = prepare_pt2e(graph_module, make_quantizer(keep_float))
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


@dataclass
class LayerCost:
    """What keeping one module in float buys: dB recovered, and the MACs it would move out of int8."""

    module: str
    snr_db_if_float: float
    gain_db: float
    mac_share: float

    def to_dict(self) -> dict:
        return {"module": self.module, "snr_db_if_float": round(self.snr_db_if_float, 2),
                "gain_db": round(self.gain_db, 2), "mac_share": round(self.mac_share, 5)}


def sensitivity(export_fn, decoder, codes: torch.Tensor, candidates: dict[str, float], seconds: float,
                baseline_keep: Iterable[str] = (), progress: bool = True) -> tuple[float, list[LayerCost]]:
    """Per-layer sensitivity: for each candidate module, the SNR with it (alone) kept in float.

    ``export_fn()`` returns a fresh exported graph module (prepare modifies its input);
    ``candidates`` maps module path → its share of MACs.  Calibration and evaluation use
    the first ``seconds`` of each excerpt (a cheap proxy; the artifact is verified in full).
    Returns the all-int8 SNR and the costs, largest gain first.
    """
    chunks = calibration_chunks(decoder, codes, seconds)
    base_keep = tuple(baseline_keep)
    base = simulated_snr(quantize(export_fn(), decoder, codes, base_keep, seconds, desc=None),
                         decoder, codes, chunks)
    items = list(candidates.items())
    if progress:
        from tqdm import tqdm
        items = tqdm(items, desc="per-layer sensitivity", unit="layer", leave=False)
    costs = []
    for name, share in items:
        q = quantize(export_fn(), decoder, codes, base_keep + (name,), seconds, desc=None)
        s = simulated_snr(q, decoder, codes, chunks)
        costs.append(LayerCost(name, s, s - base, share))
    costs.sort(key=lambda c: -c.gain_db)
    return base, costs


def _bar(desc: str | None, total: int):
    if not desc:
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="chunk", leave=False)

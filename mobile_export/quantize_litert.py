"""Static int8 for LiteRT: PT2E with litert-torch's ``PT2EQuantizer``, symmetric per-channel.

What is annotated, and why:

* only the MAC ops — ``conv`` and ``linear`` (weights per-channel int8, input and output
  activations per-tensor int8, histogram-calibrated: litert-torch's static config).
  Its default list also annotates ``add``, ``mul``, ``cat`` and sigmoid/tanh (fixed 1/256
  scale): that would put the LSTM cell state through 8 bits at every step for no MACs,
  and a quantised ``cat`` turns every state input into an int8 tensor at the model
  boundary.  Elementwise ops therefore stay float between the int8 layers.
* ``keep_float`` names ``StreamingDecoder`` submodules (``conv_out``,
  ``res_blocks.2.0.conv_b``, …) left unannotated, chosen with ``sensitivity``.

Calibration streams the real-music codes chunk by chunk with state carried from zeros,
exactly as the phone runs the model: the state tensors are activations too, and one chunk
from zero state would see neither the LSTM's settled h/c nor the convolutions' context.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import torch

logging.getLogger("torchao").setLevel(logging.ERROR)  # "Failed to load <cuda .so>" on CPU-only hosts

from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config  # noqa: E402
from litert_torch.quantize.pt2e_quantizer_utils import OP_TO_ANNOTATOR, propagate_annotation  # noqa: E402
from torchao.quantization.pt2e import move_exported_model_to_eval  # noqa: E402
from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e  # noqa: E402

from .streaming import in_modules, traced_module_path  # noqa: E402

ANNOTATED_OPS = ("linear", "conv")


def _in_any(node: torch.fx.Node, prefixes: frozenset[str]) -> bool:
    return in_modules(traced_module_path(node), prefixes)


class LiteRTInt8Quantizer(PT2EQuantizer):
    """``PT2EQuantizer`` restricted to conv/linear, minus the ``keep_float`` modules.

    The annotators ask the filter about every node of a pattern (op, weight, bias); weight
    and bias ``get_attr`` nodes carry no module stack, so only the op decides.
    """

    def __init__(self, keep_float: Iterable[str] = ()):
        super().__init__()
        self.set_global(get_symmetric_quantization_config(is_per_channel=True))
        self.keep_float = frozenset(keep_float)

    def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        keep = self.keep_float
        for op in ANNOTATED_OPS:
            OP_TO_ANNOTATOR[op](model, self.global_config, lambda n: not _in_any(n, keep))
        propagate_annotation(model)
        return model


def stream_chunks(module: Callable, decoder, codes: torch.Tensor, max_chunks: int | None = None, progress=None):
    """Run a ``SignatureModule``-shaped callable over codes [N, n_q, F], state carried per excerpt.

    ``module(codes=…, **state) -> {"audio": …, "next_<state>": …}``.  Yields audio chunks.
    """
    K = decoder.chunk_frames
    names = [s.name for s in decoder.state_specs()]
    per_excerpt = codes.shape[-1] // K
    if max_chunks is not None:
        per_excerpt = min(per_excerpt, max_chunks)
    with torch.no_grad():
        for i in range(codes.shape[0]):
            state = dict(zip(names, decoder.init_state()))
            for c in range(per_excerpt):
                out = module(codes=codes[i:i + 1, :, c * K:(c + 1) * K].to(torch.int32), **state)
                state = {n: out[f"next_{n}"] for n in names}
                if progress is not None:
                    progress.update(1)
                yield out["audio"]


def calibration_chunks(decoder, seconds: float | None) -> int | None:
    """Chunks per excerpt covering ``seconds`` of each excerpt (None: all of it)."""
    if seconds is None:
        return None
    return max(1, math.ceil(seconds * decoder.config.frame_rate / decoder.chunk_frames))


def quantize(graph_module: torch.fx.GraphModule, decoder, codes: torch.Tensor, keep_float: Iterable[str] = (),
             calibration_seconds: float | None = None, desc: str | None = "calibrate"
             ) -> tuple[torch.fx.GraphModule, LiteRTInt8Quantizer]:
    """prepare_pt2e → stream real-music codes (state carried) → convert_pt2e(fold_quantize=False).

    ``graph_module`` is ``torch.export.export(SignatureModule, …).module()`` (modified in
    place).  Returns the q/dq graph (run it in PyTorch to simulate the artifact, or hand it
    to ``litert_torch.convert``) and the quantizer, which the converter needs too.
    """
    quantizer = LiteRTInt8Quantizer(keep_float)
    prepared = prepare_pt2e(graph_module, quantizer)
    chunks = calibration_chunks(decoder, calibration_seconds)
    bar = _bar(desc, codes.shape[0] * (chunks or codes.shape[-1] // decoder.chunk_frames))
    try:
        for _ in stream_chunks(prepared, decoder, codes, chunks, bar):
            pass
    finally:
        if bar is not None:
            bar.close()
    return move_exported_model_to_eval(convert_pt2e(prepared, fold_quantize=False)), quantizer


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    noise = float(np.sum((reference - estimate) ** 2))
    return min(200.0, 10 * math.log10(float(np.sum(reference ** 2)) / noise)) if noise > 0 else 200.0


def simulated_snr(quantized, reference, decoder, codes: torch.Tensor, max_chunks: int | None) -> float:
    """SNR (dB) of the q/dq graph run in PyTorch against the float ``SignatureModule``."""
    ref = [y.reshape(-1).numpy() for y in stream_chunks(reference, decoder, codes, max_chunks)]
    est = [y.reshape(-1).numpy() for y in stream_chunks(quantized, decoder, codes, max_chunks)]
    return snr_db(np.concatenate(ref), np.concatenate(est))


def quantizable_layers(decoder) -> list[str]:
    """Paths of the decoder's conv/linear modules (the candidates for ``keep_float``)."""
    return [name for name, m in decoder.named_modules() if isinstance(m, (torch.nn.Conv1d, torch.nn.Linear))]


@dataclass
class LayerCost:
    """What keeping one module in float buys: dB recovered, and the MACs it moves out of int8."""

    module: str
    snr_db_if_float: float
    gain_db: float
    mac_share: float

    def to_dict(self) -> dict:
        return {"module": self.module, "snr_db_if_float": round(self.snr_db_if_float, 2),
                "gain_db": round(self.gain_db, 2), "mac_share": round(self.mac_share, 5)}


def sensitivity(export_fn: Callable[[], torch.fx.GraphModule], reference, decoder, codes: torch.Tensor,
                candidates: dict[str, float], seconds: float, baseline_keep: Iterable[str] = (),
                progress: bool = True) -> tuple[float, list[LayerCost]]:
    """For each candidate module, the simulated SNR with it (alone, on top of ``baseline_keep``) in float.

    ``export_fn()`` returns a fresh exported graph module (prepare modifies its input);
    ``candidates`` maps module path → MAC share.  Calibration and scoring use the first
    ``seconds`` of each excerpt — a cheap proxy; the artifact itself is verified in full.
    Returns the baseline SNR and the costs, largest gain first.
    """
    chunks = calibration_chunks(decoder, seconds)
    base_keep = tuple(baseline_keep)
    q, _ = quantize(export_fn(), decoder, codes, base_keep, seconds, desc=None)
    base = simulated_snr(q, reference, decoder, codes, chunks)
    items = list(candidates.items())
    if progress:
        from tqdm import tqdm
        items = tqdm(items, desc="per-layer sensitivity", unit="layer", leave=False)
    costs = []
    for name, share in items:
        q, _ = quantize(export_fn(), decoder, codes, base_keep + (name,), seconds, desc=None)
        s = simulated_snr(q, reference, decoder, codes, chunks)
        costs.append(LayerCost(name, s, s - base, share))
    costs.sort(key=lambda c: -c.gain_db)
    return base, costs


def _bar(desc: str | None, total: int):
    if not desc:
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="chunk", leave=False)

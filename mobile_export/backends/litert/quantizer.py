"""Static int8 for LiteRT: PT2E with litert-torch's ``PT2EQuantizer``, symmetric per-channel.

What is annotated, and why:

* only the MAC ops — ``conv`` and ``linear`` (weights per-channel int8, input and output
  activations per-tensor int8, histogram-calibrated: litert-torch's static config).
  Its default list also annotates ``add``, ``mul``, ``cat`` and sigmoid/tanh (fixed 1/256
  scale): that would put the LSTM cell state through 8 bits at every step for no MACs,
  and a quantised ``cat`` turns every state input into an int8 tensor at the model
  boundary.  Elementwise ops therefore stay float between the int8 layers.
* ``keep_float`` names ``StreamingDecoder`` submodules (``conv_out``,
  ``res_blocks.2.0.conv_b``, …) left unannotated (``mobile_export.sensitivity`` measures
  what each buys back).

Calibration streams the real-music codes chunk by chunk with state carried from zeros,
exactly as the phone runs the model: the state tensors are activations too, and one chunk
from zero state would see neither the LSTM's settled h/c nor the convolutions' context.
"""
from __future__ import annotations

import logging
from typing import Callable, Iterable

import numpy as np
import torch

from tqcodec.metrics import snr_db
from tqcodec.streaming import in_modules, traced_module_path

from ...calibration import chunks_covering, stream_codes

logging.getLogger("torchao").setLevel(logging.ERROR)  # "Failed to load <cuda .so>" on CPU-only hosts

from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config  # noqa: E402
from litert_torch.quantize.pt2e_quantizer_utils import OP_TO_ANNOTATOR, propagate_annotation  # noqa: E402
from torchao.quantization.pt2e import move_exported_model_to_eval  # noqa: E402
from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e  # noqa: E402

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


def signature_step(module: Callable, state_names: list[str]):
    """A ``SignatureModule``-shaped callable (``module(codes=…, **state) -> {"audio", "next_<state>"}``)
    as a ``calibration.stream_codes`` step."""
    def step(codes, state):
        out = module(codes=codes, **dict(zip(state_names, state)))
        return out["audio"], [out[f"next_{n}"] for n in state_names]
    return step


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
    chunks = chunks_covering(calibration_seconds, decoder.config.frame_rate, decoder.chunk_frames)
    names = [s.name for s in decoder.state_specs()]
    for _ in stream_codes(signature_step(prepared, names), decoder.init_state, codes, decoder.chunk_frames, chunks,
                          desc, channels=decoder.channels):
        pass
    return move_exported_model_to_eval(convert_pt2e(prepared, fold_quantize=False)), quantizer


def simulated_snr(quantized, reference, decoder, codes: torch.Tensor, max_chunks: int | None) -> float:
    """SNR (dB) of the q/dq graph run in PyTorch against the float ``SignatureModule``."""
    names = [s.name for s in decoder.state_specs()]

    def audio(module):
        return np.concatenate([y.reshape(-1).numpy() for *_, y in stream_codes(
            signature_step(module, names), decoder.init_state, codes, decoder.chunk_frames, max_chunks,
            channels=decoder.channels)])
    return snr_db(audio(reference), audio(quantized))


def simulator(export_fn: Callable[[], torch.fx.GraphModule], reference, decoder, codes: torch.Tensor, seconds: float):
    """``keep_float → simulated SNR`` for ``mobile_export.sensitivity`` (first ``seconds`` of each excerpt)."""
    chunks = chunks_covering(seconds, decoder.config.frame_rate, decoder.chunk_frames)

    def simulate(keep: tuple[str, ...]) -> float:
        q, _ = quantize(export_fn(), decoder, codes, keep, seconds, desc=None)
        return simulated_snr(q, reference, decoder, codes, chunks)
    return simulate


def quantizable_layers(decoder) -> list[str]:
    """Paths of the decoder's conv/linear modules (the candidates for ``keep_float``)."""
    return [name for name, m in decoder.named_modules() if isinstance(m, (torch.nn.Conv1d, torch.nn.Linear))]

"""litert-torch conversion of the streaming decoder: named signature, float state, int8 codebook.

LiteRT quirks handled here, not in the model:

* signature names: the decoder is wrapped so its inputs are keyword arguments with our
  names and its outputs a dict (``audio``, ``next_<state>``), which litert-torch uses as
  the signature's input/output names; the manifest records the mapping anyway.
* float state at the boundary: the converter turns a model input whose only consumer is
  a quantize op (directly or through concat/slice) into an int8 input, and likewise an
  output produced by one.  Multiplying each state input and output by ``1 + 2⁻²³`` (a
  float op it neither folds nor quantises; relative change 1.2e-7) keeps every state
  tensor float32, so apps pass ``next_*`` straight back in and nothing re-quantises.
* whatever still arrives int8 at the boundary is (de)quantised by ``LiteRTChunkRunner``
  with the scale and zero point from the signature's details.
* the codebook table: the PT2E quantizer has no pattern for a gather, so int8 exports
  store the table as int8 rows with one float scale per row (symmetric) and gather both
  (GATHER int8 → CAST → MUL): 2.6 → 0.66 MB for tq64, for ~0.1 dB.
"""
from __future__ import annotations

import copy
import logging
import types

import torch
from torch import nn

from tqcodec.streaming import StreamingDecoder

from .quantizer import quantize

PRECISIONS = ("int8", "fp32")
STATE_NUDGE = 1.0 + 2.0 ** -23  # see the module docstring: keeps state float32 at the boundary


class SignatureModule(nn.Module):
    """The decoder with named inputs (codes, *state) and a dict of named outputs."""

    def __init__(self, decoder: StreamingDecoder, float_state_boundary: bool):
        super().__init__()
        self.decoder = decoder
        self.state_names = [s.name for s in decoder.state_specs()]
        self.float_state_boundary = float_state_boundary

    def forward(self, codes: torch.Tensor, **state: torch.Tensor) -> dict[str, torch.Tensor]:
        inputs = [state[n] for n in self.state_names]
        if self.float_state_boundary:
            inputs = [s * STATE_NUDGE for s in inputs]
        audio, *new_state = self.decoder(codes, *inputs)
        if self.float_state_boundary:
            new_state = [s * STATE_NUDGE for s in new_state]
        return {"audio": audio, **{f"next_{n}": s for n, s in zip(self.state_names, new_state)}}

    def sample_kwargs(self, codes: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        d = self.decoder
        if codes is None:
            codes = torch.zeros(d.input_spec().shape, dtype=torch.int32)
        return {"codes": codes.to(torch.int32), **dict(zip(self.state_names, d.init_state()))}


def _int8_table_rows(self: StreamingDecoder, flat: torch.Tensor) -> torch.Tensor:
    """``StreamingDecoder.table_rows`` over int8 rows × per-row scales (see ``int8_codebook``)."""
    return self.table_q[flat].to(torch.float32) * self.table_scale[flat]


def int8_codebook(decoder: StreamingDecoder) -> StreamingDecoder:
    """A copy of ``decoder`` whose codebook table is int8 with one symmetric scale per row."""
    d = copy.deepcopy(decoder)
    table = d.table
    scale = table.abs().amax(1, keepdim=True).clamp_min(1e-12) / 127
    d.register_buffer("table_q", torch.round(table / scale).to(torch.int8))
    d.register_buffer("table_scale", scale)
    del d.table
    d.table_rows = types.MethodType(_int8_table_rows, d)
    return d


def convert(decoder: StreamingDecoder, precision: str, music=None, keep_float=None,
            calibration_seconds: float | None = None, progress: bool = True):
    """Convert to a ``litert_torch`` model (``.export(path)`` writes the flatbuffer).

    ``keep_float``: module paths left in float (None: ``decoder.output_stage()``)."""
    import litert_torch

    litert_torch.config.show_progress = False
    logging.getLogger("absl").setLevel(logging.ERROR)
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: LiteRT export supports {', '.join(PRECISIONS)}")
    target = int8_codebook(decoder) if precision == "int8" else decoder
    sig = SignatureModule(target, float_state_boundary=precision == "int8").eval()
    example = music.codes[:decoder.channels, :, :decoder.chunk_frames] if music is not None else None
    kwargs = sig.sample_kwargs(example)
    if precision == "fp32":
        return litert_torch.convert(sig, sample_kwargs=kwargs)
    if music is None:
        raise ValueError("int8 export needs calibration music")
    from litert_torch.quantize.quant_config import QuantConfig

    graph = torch.export.export(sig, (), kwargs).module()
    keep = decoder.resolve_keep_float(keep_float)
    qdq, quantizer = quantize(graph, decoder, music.codes, keep, calibration_seconds,
                              desc="calibrate" if progress else None)
    return litert_torch.convert(qdq, sample_kwargs=kwargs, quant_config=QuantConfig(pt2e_quantizer=quantizer))

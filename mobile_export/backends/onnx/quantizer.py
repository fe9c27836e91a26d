"""Static int8 (QDQ) with ONNX Runtime's own tools, calibrated by the shared streaming calibrator.

``onnxruntime.quantization.quantize_static`` inserts QuantizeLinear/DequantizeLinear pairs
around the MAC ops only (``Conv``, ``MatMul``, ``Gemm``; weights int8 symmetric
per-channel, activations uint8 per-tensor (asymmetric) from min/max ranges), so — as on every backend —
the LSTM's matmuls are int8 while its cell arithmetic (sigmoid, tanh, the c and h updates)
stays float, and the layers in ``keep_float`` (by default the output stage) are left out
by node name.

Why uint8 activations (U8S8) and QDQ: ONNX Runtime's CPU provider fuses U8S8 QDQ (per-channel weights
included) into QLinearConv / QLinearMatMul / QGemm, but leaves the S8S8 per-channel pattern unfused for
these Conv1d/MatMul nodes (each weight DequantizeLinear then runs on every call: 80-100 ms per chunk
instead of ~6).  QDQ stays the format because it is what vendor NPU execution providers take, and it
runs as fast as QOperator here (table at ``VARIANTS``).  The speed also needs ``graph.fold_weight_identities``
(the LSTM's recurrent weight read as an initializer by every unrolled step).
The ``CalibrationDataReader`` feeds every chunk of the real-music codes with
the state the float decoder carried into it, exactly as the phone would run the model.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

from tqcodec.streaming import StreamingDecoder, in_modules

from ...calibration import positional_step, stream_codes
from .graph import io_names, node_module_path

MAC_OPS = ("Conv", "MatMul", "Gemm")
# (format, activation type, weights per channel); weights are always int8 symmetric.  Measured on tq64, ONNX
# Runtime 1.32, 1 thread, ms of CPU per 16-frame chunk, median of 30 alternating calls in one process (float 8.9):
# QDQ uint8 act + per-channel 5.8 | QDQ uint8 per-tensor 5.6 | QOperator uint8 per-channel 5.7 | QDQ int8 (S8S8)
# per-channel 103 (ONNX Runtime's CPU provider does not fuse S8S8 per-channel QDQ around these Conv1d/MatMul:
# every DequantizeLinear runs on every call); SNR vs float 37.8-37.9 dB for all.
VARIANTS = {
    "qdq_u8s8_pc": dict(format=QuantFormat.QDQ, activation=QuantType.QUInt8, per_channel=True),
    "qdq_u8s8_pt": dict(format=QuantFormat.QDQ, activation=QuantType.QUInt8, per_channel=False),
    "qdq_s8s8_pc": dict(format=QuantFormat.QDQ, activation=QuantType.QInt8, per_channel=True),
    "qop_u8s8_pc": dict(format=QuantFormat.QOperator, activation=QuantType.QUInt8, per_channel=True),
}
DEFAULT_VARIANT = "qdq_u8s8_pc"
CALIBRATION_STRIDE = 16


def chunk_feeds(decoder: StreamingDecoder, codes, max_chunks: int | None, desc: str | None) -> Iterator[dict]:
    """Every chunk's inputs {codes, *state} as the float decoder streams the codes, state carried."""
    names, _ = io_names(decoder)
    step = positional_step(decoder)

    def recording(chunk, state):
        feed = {"codes": chunk.numpy().astype(np.int32),
                **{n: np.ascontiguousarray(s.numpy(), dtype=np.float32) for n, s in zip(names[1:], state)}}
        feeds.append(feed)
        return step(chunk, state)

    feeds: list[dict] = []
    for _ in stream_codes(recording, decoder.init_state, codes, decoder.chunk_frames, max_chunks, desc,
                          channels=decoder.channels):
        yield feeds.pop()


class StreamingCalibrationReader(CalibrationDataReader):
    """ONNX Runtime's calibration input: the chunks of ``chunk_feeds``, one per ``get_next``.

    With a strided min/max, ONNX Runtime asks for consecutive ranges in order (``set_range``);
    the stream is continued, never restarted, so the state stays carried across ranges.
    """

    def __init__(self, decoder: StreamingDecoder, codes, max_chunks: int | None, desc: str | None):
        self._feeds = chunk_feeds(decoder, codes, max_chunks, desc)
        per_excerpt = codes.shape[-1] // decoder.chunk_frames
        self._count = codes.shape[0] * (per_excerpt if max_chunks is None else min(per_excerpt, max_chunks))
        self._left: int | None = None

    def __len__(self) -> int:
        return self._count

    def set_range(self, start_index: int, end_index: int) -> None:
        self._left = end_index - start_index

    def get_next(self) -> dict | None:
        if self._left is not None:
            if self._left <= 0:
                return None
            self._left -= 1
        return next(self._feeds, None)


def float_nodes(model_path: Path, keep_float: Iterable[str]) -> list[str]:
    """Names of the MAC nodes inside the ``keep_float`` modules (left out of quantization)."""
    keep = tuple(keep_float)
    model = onnx.load(str(model_path))
    return [n.name for n in model.graph.node if n.op_type in MAC_OPS and in_modules(node_module_path(n.name), keep)]


def quantize(float_path: Path, out_path: Path, decoder: StreamingDecoder, codes, keep_float: Iterable[str] = (),
             max_chunks: int | None = None, desc: str | None = "calibrate", variant: str | None = None) -> list[str]:
    """Write the QDQ int8 model of ``float_path`` to ``out_path``; returns the MAC nodes kept float.

    ``variant`` (a ``VARIANTS`` key, for A/B measurement only; the export uses the default): the
    ``qop_*`` files are QLinearConv/MatMulInteger-style, which ``file_macs`` does not read."""
    logging.getLogger("root").setLevel(logging.ERROR)  # quantize_static logs its pre-processing advice
    excluded = float_nodes(float_path, keep_float)
    reader = StreamingCalibrationReader(decoder, codes, max_chunks, desc)
    # min/max merged every few chunks: ONNX Runtime otherwise keeps every intermediate tensor of every
    # chunk in memory; the stride must divide the chunk count
    stride = max(d for d in range(1, CALIBRATION_STRIDE + 1) if len(reader) % d == 0)
    v = VARIANTS[variant or DEFAULT_VARIANT]
    quantize_static(
        str(float_path), str(out_path), reader,
        quant_format=v["format"], op_types_to_quantize=list(MAC_OPS), per_channel=v["per_channel"],
        activation_type=v["activation"], weight_type=QuantType.QInt8, nodes_to_exclude=excluded,
        calibrate_method=CalibrationMethod.MinMax,
        extra_options={"MatMulConstBOnly": True, "WeightSymmetric": True, "CalibStridedMinMax": stride})
    return excluded

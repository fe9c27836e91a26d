"""ONNX Runtime: ``.onnx`` models (int8 QDQ or fp32) run by ``onnxruntime.InferenceSession``.

``graph`` (torch.onnx export with explicit state), ``quantizer`` (ONNX Runtime's static
QDQ quantizer fed by the shared streaming calibrator), ``runner`` (an inference session,
one chunk at a time), ``export`` (the backend's part of the pipeline), ``file_macs`` (an
``.onnx`` read back into MAC ops).
"""
from __future__ import annotations

from .. import Backend
from .runner import OnnxChunkRunner

BACKEND = Backend("onnx", "onnxruntime", ".onnx", ("int8", "fp32"), ("onnx", "onnxruntime"), "onnxruntime",
                  OnnxChunkRunner, __name__)

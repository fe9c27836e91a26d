"""LiteRT: ``.tflite`` flatbuffers (int8 or fp32) run by ai-edge-litert.

``convert`` (the signature module, float state at the boundary, int8 codebook; litert-torch),
``quantizer`` (PT2E with litert-torch's quantizer, conv/linear only), ``runner`` (the
interpreter, one chunk at a time), ``export`` (the backend's part of the pipeline),
``file_macs`` (a ``.tflite`` read back into MAC ops).
"""
from __future__ import annotations

from .. import Backend
from .runner import LiteRTChunkRunner

BACKEND = Backend("litert", "litert", ".tflite", ("int8", "fp32"), ("litert-torch", "ai-edge-litert"),
                  "ai-edge-litert", LiteRTChunkRunner, __name__)

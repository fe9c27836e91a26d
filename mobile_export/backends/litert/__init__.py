"""LiteRT: ``.tflite`` flatbuffers (int8 or fp32) run by ai-edge-litert.

``convert`` (the signature module, float state at the boundary, int8 codebook; litert-torch),
``quantizer`` (PT2E with litert-torch's quantizer, conv/linear only), ``runner`` (the
interpreter, one chunk at a time), ``export`` (the backend's part of the pipeline).  MACs
are read back from a ``.tflite`` by ``profiling.artifact_macs``.
"""
from __future__ import annotations

from pathlib import Path

from .. import Backend
from .runner import LiteRTChunkRunner


class LiteRTBackend(Backend):
    name = "litert"
    format = "litert"
    suffix = ".tflite"
    precisions = ("int8", "fp32")
    packages = ("litert-torch", "ai-edge-litert")
    runtime = "ai-edge-litert"

    def runner(self, path: Path, manifest: dict, threads: int = 1):
        return LiteRTChunkRunner(path, manifest, threads)


BACKEND = LiteRTBackend()

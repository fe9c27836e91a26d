"""ONNX Runtime: ``.onnx`` models (int8 QDQ or fp32) run by ``onnxruntime.InferenceSession``.

``graph`` (torch.onnx export with explicit state), ``quantizer`` (ONNX Runtime's static
QDQ quantizer fed by the shared streaming calibrator), ``runner`` (an inference session,
one chunk at a time), ``macs`` (MACs read back from the file), ``export`` (the backend's
part of the pipeline).
"""
from __future__ import annotations

from pathlib import Path

from .. import Backend
from .runner import OnnxChunkRunner


class OnnxBackend(Backend):
    name = "onnx"
    format = "onnxruntime"
    suffix = ".onnx"
    precisions = ("int8", "fp32")
    packages = ("onnx", "onnxruntime")
    runtime = "onnxruntime"

    def runner(self, path: Path, manifest: dict, threads: int = 1):
        return OnnxChunkRunner(path, manifest, threads)


BACKEND = OnnxBackend()

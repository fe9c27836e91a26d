"""Core ML: ``.mlpackage`` ML programs (int8 or fp16), verified with a NumPy MIL interpreter off Apple.

``convert`` (per-layer int8 activations, tracing, ``ct.convert``, int8 weights, atomic save),
``mil_interpreter`` (runs the saved ML program on any platform), ``runner`` (the interpreter
or Core ML itself, one chunk at a time), ``export`` (the backend's part of the pipeline).
MACs are read back from an ``.mlpackage`` by ``profiling.artifact_macs``.
"""
from __future__ import annotations

from pathlib import Path

from .. import Backend
from .runner import CoreMLChunkRunner, MILChunkRunner


class CoreMLBackend(Backend):
    name = "coreml"
    format = "coreml"
    suffix = ".mlpackage"
    precisions = ("int8", "fp16")
    packages = ("coremltools",)
    runtime = "Core ML (macOS/iOS) or the NumPy MIL interpreter"
    supports_weights_only = True
    supports_sensitivity = False

    def runner(self, path: Path, manifest: dict, threads: int = 1, native: bool = False):
        """The NumPy MIL interpreter, or Core ML itself (``native``: macOS only)."""
        return CoreMLChunkRunner(path, manifest) if native else MILChunkRunner(path, manifest)


BACKEND = CoreMLBackend()

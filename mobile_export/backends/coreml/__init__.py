"""Core ML: ``.mlpackage`` ML programs (int8 or fp16), verified with a NumPy MIL interpreter off Apple.

``convert`` (per-layer int8 activations, tracing, ``ct.convert``, int8 weights, atomic save),
``mil_interpreter`` (runs the saved ML program on any platform), ``runner`` (the interpreter
or Core ML itself, one chunk at a time), ``export`` (the backend's part of the pipeline),
``file_macs`` (an ``.mlpackage`` read back into MAC ops).
"""
from __future__ import annotations

from .. import Backend
from .runner import open_runner

BACKEND = Backend("coreml", "coreml", ".mlpackage", ("int8", "fp16"), ("coremltools",),
                  "Core ML (macOS/iOS) or the NumPy MIL interpreter", open_runner, __name__,
                  supports_weights_only=True, supports_sensitivity=False)

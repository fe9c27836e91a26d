"""ExecuTorch with the XNNPACK delegate: ``.pte`` programs (int8 or fp32).

``graph`` (torch.export and XNNPACK's graph passes, lowering), ``quantizer`` (PT2E with
``XNNPACKQuantizer``), ``delegation`` (MAC shares of a lowered program), ``runner`` (the
runtime, one chunk at a time), ``export`` (the backend's part of the pipeline).  MACs are
read back from a ``.pte`` by ``profiling.artifact_macs``.
"""
from __future__ import annotations

from pathlib import Path

from .. import Backend
from .runner import ExecuTorchChunkRunner


class ExecuTorchBackend(Backend):
    name = "executorch"
    format = "executorch-xnnpack"
    suffix = ".pte"
    precisions = ("int8", "fp32")
    packages = ("executorch", "torchao")
    runtime = "executorch.runtime"

    def runner(self, path: Path, manifest: dict, threads: int = 1):
        return ExecuTorchChunkRunner(path, manifest, threads)


BACKEND = ExecuTorchBackend()

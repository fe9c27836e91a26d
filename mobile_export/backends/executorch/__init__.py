"""ExecuTorch with the XNNPACK delegate: ``.pte`` programs (int8 or fp32).

``graph`` (torch.export and XNNPACK's graph passes, lowering), ``quantizer`` (PT2E with
``XNNPACKQuantizer``), ``delegation`` (MAC shares of a lowered program), ``runner`` (the
runtime, one chunk at a time), ``export`` (the backend's part of the pipeline), ``file_macs``
(a ``.pte`` read back into MAC ops).
"""
from __future__ import annotations

from .. import Backend
from .runner import ExecuTorchChunkRunner

BACKEND = Backend("executorch", "executorch-xnnpack", ".pte", ("int8", "fp32"), ("executorch", "torchao"),
                  "executorch.runtime", ExecuTorchChunkRunner, __name__)

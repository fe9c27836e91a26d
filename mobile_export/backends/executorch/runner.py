"""Run a decoder ``.pte`` one chunk at a time with ExecuTorch's own runtime."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ...artifact import check_pte_header
from ...errors import ArtifactError

METHOD = "forward"


def set_runtime_threads(threads: int) -> None:
    """ExecuTorch's CPU threadpool (XNNPACK uses it) is process-wide; resize it once."""
    from executorch.extension.pybindings import portable_lib

    if portable_lib._threadpool_get_thread_count() != threads:
        portable_lib._unsafe_reset_threadpool(threads)


class ExecuTorchChunkRunner:
    """``run_chunk(codes int32 [1, n_q, K], state) -> (audio float32 [samples], new state)``.

    ``manifest`` gives the state layout.  Open artifacts from outside through
    ``runners.open_runner`` (every check of ``artifact.open_artifact`` first); this class
    itself still checks the flatbuffer header, because ExecuTorch's loader aborts the
    process (SIGABRT) on garbage instead of raising.
    """

    def __init__(self, pte_path, manifest: dict, threads: int = 1):
        from executorch.runtime import Runtime

        pte_path = Path(pte_path)
        with open(pte_path, "rb") as f:
            check_pte_header(f.read(64), pte_path.stat().st_size, pte_path)
        self.manifest = manifest
        self.state_specs = manifest["state"]
        self.codes_shape = tuple(manifest["inputs"][0]["shape"])
        set_runtime_threads(threads)
        try:
            self._program = Runtime.get().load_program(pte_path)
            self._method = self._program.load_method(METHOD)
        except Exception as e:  # noqa: BLE001 - the runtime's own errors are RuntimeError/ValueError mixes
            raise ArtifactError(f"{pte_path}: ExecuTorch cannot load it ({type(e).__name__}: {e})") from None
        meta = self._method.metadata
        if meta.num_inputs() != 1 + len(self.state_specs):
            raise ArtifactError(f"{pte_path}: program takes {meta.num_inputs()} inputs, the manifest describes "
                                f"{1 + len(self.state_specs)}")

    def init_state(self) -> list[np.ndarray]:
        return [np.zeros(s["shape"], dtype=s["dtype"]) for s in self.state_specs]

    def run_chunk(self, codes: np.ndarray, state: list) -> tuple[np.ndarray, list[np.ndarray]]:
        codes = np.ascontiguousarray(codes, dtype=np.int32).reshape(self.codes_shape)
        inputs = [torch.from_numpy(codes)] + [torch.from_numpy(np.ascontiguousarray(s, dtype=np.float32))
                                              for s in state]
        out = self._method.execute(inputs)
        return out[0].numpy().reshape(-1), [t.numpy() for t in out[1:]]

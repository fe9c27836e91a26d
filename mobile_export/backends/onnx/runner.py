"""Run a decoder ``.onnx`` one chunk at a time with ``onnxruntime.InferenceSession``."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import ArtifactError


def session(path: Path, threads: int = 1):
    """A CPU ``InferenceSession`` with ``threads`` intra-op threads (one inter-op: one chunk at a time)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


class OnnxChunkRunner:
    """``run_chunk(codes int32 [1, n_q, K], state) -> (audio float32 [samples], new state)``."""

    def __init__(self, path, manifest: dict, threads: int = 1):
        path = Path(path)
        try:
            self.session = session(path, threads)
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own Fail/InvalidGraph/… types
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
            raise ArtifactError(f"{path}: ONNX Runtime cannot load it ({first})") from None
        self.state_specs = manifest["state"]
        self.state_names = [s["name"] for s in self.state_specs]
        expected = ["codes", *self.state_names]
        got = [i.name for i in self.session.get_inputs()]
        if got != expected:
            raise ArtifactError(f"{path}: model inputs {got}, the manifest describes {expected}")
        self.outputs = ["audio", *(f"next_{n}" for n in self.state_names)]

    def init_state(self) -> list[np.ndarray]:
        return [np.zeros(s["shape"], dtype=np.float32) for s in self.state_specs]

    def run_chunk(self, codes: np.ndarray, state: list) -> tuple[np.ndarray, list[np.ndarray]]:
        feeds = {"codes": np.ascontiguousarray(codes, dtype=np.int32),
                 **{n: np.ascontiguousarray(s, dtype=np.float32) for n, s in zip(self.state_names, state)}}
        audio, *new_state = self.session.run(self.outputs, feeds)
        return audio.reshape(-1), new_state

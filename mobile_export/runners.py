"""Run an exported decoder artifact chunk by chunk, from its file and manifest alone.

Used by ``python -m tqcodec decode --artifact FILE`` and the profilers: the manifest
(``<artifact>.manifest.json`` or ``manifest.json`` beside it) says the chunk size and
the state layout; the backend runner executes one chunk.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .manifest import read_manifest
from .verify import stream


def manifest_path(artifact) -> Path:
    p = Path(artifact)
    for cand in (p.with_name(p.name + ".manifest.json"), p.with_suffix(".manifest.json"), p.parent / "manifest.json"):
        if cand.is_file():
            return cand
    raise FileNotFoundError(f"{p}: no manifest found beside the artifact (expected {p.name}.manifest.json "
                            "or manifest.json)")


class ArtifactDecoder:
    """Wraps a backend runner with the manifest-driven chunking the apps also do."""

    def __init__(self, runner, manifest: dict):
        self.runner, self.manifest = runner, manifest
        self.chunk_frames = int(manifest["chunk_frames"])
        self.hop = int(manifest["hop"])

    def decode_channels(self, codes: np.ndarray) -> np.ndarray:
        """codes [C, n_q, F] → float32 [C, F·hop]; each channel has its own state."""
        out = []
        for ch in codes:
            frames = ch.shape[-1]
            padded = np.pad(ch, ((0, 0), (0, (-frames) % self.chunk_frames)))
            audio = stream(self.runner.run_chunk, self.runner.init_state(), torch.from_numpy(padded),
                           self.chunk_frames, progress="decode")
            out.append(audio[: frames * self.hop])
        return np.stack(out)


def load_runner(artifact) -> ArtifactDecoder:
    path = Path(artifact)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such artifact")
    manifest = read_manifest(manifest_path(path))
    suffix = path.suffix.lower()
    if suffix == ".pte":
        from .executorch import ExecuTorchChunkRunner
        runner = ExecuTorchChunkRunner(path, manifest)
    elif suffix == ".tflite":
        from .litert import LiteRTChunkRunner
        runner = LiteRTChunkRunner(path, manifest)
    elif suffix == ".mlpackage":
        raise ValueError(f"{path}: Core ML packages cannot run on this platform (macOS/iOS only)")
    else:
        raise ValueError(f"{path}: unknown artifact type {suffix!r} (expected .pte or .tflite)")
    return ArtifactDecoder(runner, manifest)

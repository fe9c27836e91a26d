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

    def decode_channels(self, codes: np.ndarray, progress: str | None = "decode") -> np.ndarray:
        """codes [C, n_q, F] → float32 [C, F·hop]; each channel has its own state."""
        out = []
        for ch in codes:
            frames = ch.shape[-1]
            padded = np.pad(ch, ((0, 0), (0, (-frames) % self.chunk_frames)))
            audio = stream(self.runner.run_chunk, self.runner.init_state(), torch.from_numpy(padded),
                           self.chunk_frames, progress=progress)
            out.append(audio[: frames * self.hop])
        return np.stack(out)


def load_runner(artifact, coreml: str = "auto") -> ArtifactDecoder:
    """A decoder for ``artifact`` (.pte, .tflite or .mlpackage) driven by its manifest.

    ``coreml``: how to run an ``.mlpackage``: ``"coreml"`` (Core ML itself, macOS only),
    ``"interpreter"`` (this project's NumPy MIL interpreter: the same program, any platform,
    slower) or ``"auto"`` (Core ML on macOS, the interpreter elsewhere).
    """
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
        import platform

        from .coreml import CoreMLChunkRunner, MILChunkRunner
        if coreml not in ("auto", "coreml", "interpreter"):
            raise ValueError(f"coreml={coreml!r}: expected auto, coreml or interpreter")
        on_mac = platform.system() == "Darwin"
        if coreml == "coreml" and not on_mac:
            raise ValueError(f"{path}: Core ML runs on macOS/iOS only (use the MIL interpreter here)")
        runner = CoreMLChunkRunner(path, manifest) if (coreml == "coreml" or (coreml == "auto" and on_mac)) \
            else MILChunkRunner(path, manifest)
    else:
        raise ValueError(f"{path}: unknown artifact type {suffix!r} (expected .pte, .tflite or .mlpackage)")
    return ArtifactDecoder(runner, manifest)

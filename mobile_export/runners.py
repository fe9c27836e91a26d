"""Run an exported decoder artifact chunk by chunk, from its file and manifest alone.

The one way to open a runner: ``open_runner`` checks the artifact (``artifact.open_artifact``:
manifest schema and config, size, header, SHA-256) before its backend's runtime sees a
byte.  ``load_runner`` adds the manifest-driven chunking the apps also do; it is what
``python -m tqcodec decode --artifact FILE`` (entry point ``tqcodec.artifact_decoders``)
and the profilers use.
"""
from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
import torch

from .artifact import CheckedArtifact, manifest_path, open_artifact
from .backends import backend_for_format
from .errors import ArtifactError
from .verify import stream

__all__ = ["ArtifactDecoder", "load_runner", "manifest_path", "open_runner"]


def open_runner(artifact, threads: int = 1, coreml: str = "auto", manifest=None):
    """(checked artifact, chunk runner) for ``artifact`` (.pte, .tflite, .mlpackage or .onnx).

    ``coreml``: how to run an ``.mlpackage``: ``"coreml"`` (Core ML itself, macOS only),
    ``"interpreter"`` (this project's NumPy MIL interpreter: the same program, any platform,
    slower) or ``"auto"`` (Core ML on macOS, the interpreter elsewhere).
    """
    checked = open_artifact(artifact, manifest)
    backend = backend_for_format(checked.format)
    if checked.format == "coreml":
        if coreml not in ("auto", "coreml", "interpreter"):
            raise ValueError(f"coreml={coreml!r}: expected auto, coreml or interpreter")
        on_mac = platform.system() == "Darwin"
        if coreml == "coreml" and not on_mac:
            raise ArtifactError(f"{checked.path}: Core ML runs on macOS/iOS only (use the MIL interpreter here)")
        use_coreml = coreml == "coreml" or (coreml == "auto" and on_mac)
        return checked, backend.runner(checked.path, checked.manifest, threads, native=use_coreml)
    try:
        runner = backend.runner(checked.path, checked.manifest, threads)
    except ArtifactError:
        raise
    except Exception as e:  # noqa: BLE001 - a runtime's own error on a file that passed every check
        raise ArtifactError(f"{checked.path}: {backend.runtime} cannot load it ({type(e).__name__}: {e})") from None
    return checked, runner


class ArtifactDecoder:
    """Wraps a backend runner with the manifest-driven chunking the apps also do."""

    def __init__(self, runner, checked: CheckedArtifact):
        self.runner, self.checked, self.manifest = runner, checked, checked.manifest
        self.chunk_frames = int(self.manifest["chunk_frames"])
        self.hop = int(self.manifest["hop"])
        self.n_codebooks = int(self.manifest["n_codebooks"])
        self.channels = int(self.manifest["channels"])

    def decode_channels(self, codes: np.ndarray, progress: str | None = "decode") -> np.ndarray:
        """codes [S, n_q, F] → float32 [S, F·hop]; each channel has its own state.

        The apps' rule: a stream with as many channels as the artifact is one call per chunk; a
        stereo stream on a mono artifact is one call per channel; a mono stream on a stereo
        artifact fills both rows with its codes and keeps row 0 (one call, the second row's
        cost wasted)."""
        codes = np.asarray(codes)
        if codes.ndim == 2:
            codes = codes[None]
        if codes.ndim != 3 or codes.shape[1] != self.n_codebooks:
            raise ValueError(f"{self.checked.path}: codes of shape {list(codes.shape)}, the artifact decodes "
                             f"[channels, {self.n_codebooks}, frames]")
        S, C = codes.shape[0], self.channels
        if S == C:
            groups = [codes]
        elif C == 1:
            groups = [ch[None] for ch in codes]
        elif S == 1:
            groups = [np.repeat(codes, C, axis=0)]
        else:
            raise ValueError(f"{self.checked.path}: a {C}-channel artifact cannot decode a {S}-channel stream")
        out = []
        for group in groups:
            frames = group.shape[-1]
            padded = np.pad(group, ((0, 0), (0, 0), (0, (-frames) % self.chunk_frames)))
            try:
                audio = stream(self.runner.run_chunk, self.runner.init_state(), torch.from_numpy(padded),
                               self.chunk_frames, progress=progress)
            except (RuntimeError, ValueError, KeyError) as e:
                raise ArtifactError(f"{self.checked.path}: the runtime failed on a chunk "
                                    f"({type(e).__name__}: {str(e)[:200]})") from None
            out.append(audio[:, : frames * self.hop])
        return np.concatenate(out)[:S]


def load_runner(artifact, coreml: str = "auto", threads: int = 1) -> ArtifactDecoder:
    """A decoder for ``artifact`` driven by its manifest (every check of ``open_artifact`` first)."""
    checked, runner = open_runner(Path(artifact), threads, coreml)
    return ArtifactDecoder(runner, checked)

"""The ``Backend`` interface and the registry of the four backends.

A backend is everything about one artifact format and nothing else: how its quantizer
annotates the decoder, its graph passes, conversion, saving, a chunk runner, and reading
its file back for MAC counting.  ``mobile_export.pipeline`` owns what they share.  Each
backend lives in its own package, ``mobile_export/backends/<name>/``, imported only when
asked for (each pulls in its own heavy toolchain); ``docs/developers.md`` lists what a new
one needs.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from ..errors import ExportError
from ..pipeline import ExportJob, ExportResult, Sources, torch_threads


class ChunkRunner(Protocol):
    """Runs one chunk: ``run_chunk(codes int32 [1, n_q, K], state) -> (audio float32, new state)``."""

    def init_state(self) -> list: ...

    def run_chunk(self, codes, state) -> tuple: ...


@dataclass(frozen=True)
class Backend:
    """One artifact format: what it is called and written as, and how its file is run."""

    name: str  # the CLI's --backend value
    format: str  # the manifest's "format"
    suffix: str  # the artifact's file suffix
    precisions: tuple[str, ...]  # the first is the default
    packages: tuple[str, ...]  # distributions recorded in the manifest's toolchain
    runtime: str  # how the artifact is run, for the manifest
    open_runner: Callable[..., ChunkRunner]  # (path, manifest, threads, **options) for a checked artifact
    package: str  # mobile_export.backends.<name>: its export and file_macs modules
    supports_weights_only: bool = False
    supports_sensitivity: bool = True

    def export(self, job: ExportJob, sources: Sources) -> ExportResult:
        """Convert, write, verify and describe one artifact: the package's ``export.export(backend, job,
        sources)``, imported only now (it pulls in the format's quantization toolchain).

        PyTorch runs single-threaded meanwhile: calibration and the float reference run one chunk
        (tens of small ops) at a time, and on a busy machine a multi-threaded op waits for its
        slowest thread (the tiny decoder ran 30x slower with 2 threads than with 1)."""
        with torch_threads(1):
            return importlib.import_module(f"{self.package}.export").export(self, job, sources)

    def read_macs(self, path: Path, manifest: dict | None = None):
        """The MAC ops serialised in an artifact of this format (``file_macs.ArtifactGraph``): the package's
        ``file_macs.read(path, manifest)``, imported only now (it parses the format with its toolchain)."""
        return importlib.import_module(f"{self.package}.file_macs").read(path, manifest)

    def runner(self, path: Path, manifest: dict, threads: int = 1, **options) -> ChunkRunner:
        """A chunk runner for an artifact that ``artifact.open_artifact`` has already checked."""
        return self.open_runner(path, manifest, threads, **options)


NAMES = ("executorch", "litert", "coreml", "onnx")
_BY_FORMAT = {"executorch-xnnpack": "executorch", "litert": "litert", "coreml": "coreml", "onnxruntime": "onnx"}
_BY_SUFFIX = {".pte": "executorch", ".tflite": "litert", ".mlpackage": "coreml", ".onnx": "onnx"}


def get_backend(name: str) -> Backend:
    """The backend called ``name`` (its toolchain imported now)."""
    if name not in NAMES:
        raise ExportError(f"unknown backend {name!r} (expected one of {', '.join(NAMES)})")
    try:
        module = importlib.import_module(f"{__name__}.{name}")
    except ImportError as e:
        raise ExportError(f"backend {name}: its toolchain is not installed ({e}); "
                          f"pip install 'tqcodec-mobile[{name}]'") from None
    return module.BACKEND


def backend_for_format(fmt: str) -> Backend:
    if fmt not in _BY_FORMAT:
        raise ExportError(f"unknown artifact format {fmt!r}")
    return get_backend(_BY_FORMAT[fmt])


def backend_name_for_suffix(path) -> str | None:
    """The backend that writes files like ``path`` (None for an unknown suffix)."""
    return _BY_SUFFIX.get(Path(path).suffix.lower())

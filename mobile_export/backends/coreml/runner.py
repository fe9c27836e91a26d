"""Run a saved ``.mlpackage`` one chunk at a time: Core ML itself (macOS) or the NumPy MIL interpreter."""
from __future__ import annotations

import numpy as np

from .mil_interpreter import MILProgram


class MILChunkRunner:
    """Runs one chunk of a saved ``.mlpackage`` with the NumPy MIL interpreter (any platform)."""

    def __init__(self, package, manifest: dict | None = None):
        self.program = MILProgram.from_package(package)
        self.state_names = [n for n in self.program.input_names if n != "codes"] if manifest is None \
            else [s["name"] for s in manifest["state"]]

    def init_state(self) -> list[np.ndarray]:
        return [np.zeros(self.program.input_specs[n][0], dtype=np.float32) for n in self.state_names]

    def run_chunk(self, codes: np.ndarray, state: list) -> tuple[np.ndarray, list]:
        out = self.program.run({"codes": codes, **dict(zip(self.state_names, state))})
        return out["audio"], [out[f"next_{n}"] for n in self.state_names]


class CoreMLChunkRunner:
    """Runs one chunk with Core ML itself (macOS only): ``MLModel(path).predict``."""

    def __init__(self, package, manifest: dict, compute_units: str = "ALL"):
        import coremltools as ct

        self.model = ct.models.MLModel(str(package), compute_units=getattr(ct.ComputeUnit, compute_units))
        self.specs = manifest["state"]

    def init_state(self) -> list[np.ndarray]:
        return [np.zeros(s["shape"], dtype=np.float32) for s in self.specs]

    def run_chunk(self, codes: np.ndarray, state: list) -> tuple[np.ndarray, list]:
        feeds = {"codes": codes.astype(np.int32), **{s["name"]: v for s, v in zip(self.specs, state)}}
        out = self.model.predict(feeds)
        return out["audio"], [np.asarray(out[f"next_{s['name']}"], dtype=np.float32) for s in self.specs]


def open_runner(package, manifest: dict, threads: int = 1, native: bool = False):
    """The NumPy MIL interpreter (any platform; its BLAS is single-threaded while verifying), or Core ML
    itself (``native``: macOS only)."""
    return CoreMLChunkRunner(package, manifest) if native else MILChunkRunner(package, manifest)

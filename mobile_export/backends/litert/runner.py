"""Run a ``.tflite`` decoder one chunk at a time with ai-edge-litert, state in and out as float32."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...artifact import check_tflite_header
from ...errors import ArtifactError

SIGNATURE = "serving_default"  # the signature litert-torch writes and the apps call


class LiteRTChunkRunner:
    """Runs one chunk of a ``.tflite`` decoder with ai-edge-litert, state in and out as float32.

    ``run_chunk(codes int32 [1, n_q, K], state) -> (audio float32 [1, 1, 64·K], state)``;
    int8 boundary tensors (if any) are (de)quantised with their signature details.
    """

    def __init__(self, tflite_path, manifest: dict, threads: int = 1):
        from ai_edge_litert.interpreter import Interpreter

        path = Path(tflite_path)
        with open(path, "rb") as f:
            check_tflite_header(f.read(8), path.stat().st_size, path)
        self.manifest = manifest
        io = manifest.get("litert_io") or {}
        try:
            self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
            self.runner = self.interpreter.get_signature_runner(io.get("signature", SIGNATURE))
        except (ValueError, RuntimeError) as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
            raise ArtifactError(f"{path}: LiteRT cannot load it ({first})") from None
        self.in_details = self.runner.get_input_details()
        self.out_details = self.runner.get_output_details()
        self.state_specs = manifest["state"]
        names = [s["name"] for s in self.state_specs]
        self.inputs = io.get("inputs") or {n: n for n in ["codes", *names]}
        self.outputs = io.get("outputs") or {n: n for n in ["audio", *(f"next_{s}" for s in names)]}
        self.state_in = [self.inputs[n] for n in names]
        self.state_out = [self.outputs[f"next_{n}"] for n in names]
        self.codes_in, self.audio_out = self.inputs["codes"], self.outputs["audio"]
        missing = [n for n in [self.codes_in, *self.state_in] if n not in self.in_details] + \
                  [n for n in [self.audio_out, *self.state_out] if n not in self.out_details]
        if missing:
            raise ArtifactError(f"{path}: signature lacks {missing} named by the manifest")

    def init_state(self) -> list[np.ndarray]:
        return [np.zeros(s["shape"], dtype=np.float32) for s in self.state_specs]

    def _feed(self, name: str, value: np.ndarray) -> np.ndarray:
        d = self.in_details[name]
        if d["dtype"] == np.int8:
            scale, zp = d["quantization"]
            return np.clip(np.round(value / scale) + zp, -128, 127).astype(np.int8)
        return np.ascontiguousarray(value, dtype=d["dtype"])

    def _read(self, name: str, value: np.ndarray) -> np.ndarray:
        d = self.out_details[name]
        if d["dtype"] == np.int8:
            scale, zp = d["quantization"]
            return ((value.astype(np.float32) - zp) * scale).astype(np.float32)
        return value

    def run_chunk(self, codes: np.ndarray, state: list) -> tuple[np.ndarray, list]:
        feeds = {self.codes_in: self._feed(self.codes_in, codes)}
        for name, value in zip(self.state_in, state):
            feeds[name] = self._feed(name, value)
        out = self.runner(**feeds)
        return self._read(self.audio_out, out[self.audio_out]), [self._read(n, out[n]) for n in self.state_out]

    def boundary(self) -> dict:
        """Every signature tensor's dtype (and int8 scale/zero point): recorded in the manifest."""
        def describe(d):
            entry = {"dtype": np.dtype(d["dtype"]).name, "shape": [int(x) for x in d["shape"]]}
            if d["dtype"] == np.int8:
                entry["scale"], entry["zero_point"] = float(d["quantization"][0]), int(d["quantization"][1])
            return entry
        return {"inputs": {k: describe(v) for k, v in self.in_details.items()},
                "outputs": {k: describe(v) for k, v in self.out_details.items()}}

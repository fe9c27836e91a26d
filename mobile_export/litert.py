"""LiteRT (``.tflite``) export of the streaming decoder: int8 (weights and activations) or fp32.

``python -m mobile_export.litert --ckpt tq64.pt --out build/litert [--precision int8|fp32]
[--chunk-frames K] [--calibration DIR]`` loads the checkpoint, encodes real music into
codes (calibration and verification), converts with litert-torch, writes
``<config>-<precision>-k<K>.tflite`` atomically and ``<config>-<precision>-k<K>.manifest.json``
beside it, then runs the ``.tflite`` with ai-edge-litert chunk by chunk over all the music
with state carried and compares with the float decoder.  Exit 1 when verification fails
(the manifest is still written and says FAILED), 2 on bad input.

int8 means every conv and linear (LSTM gate projections included, 99.7 % of the MACs for
tq64) runs with int8 weights and int8 activations; see ``quantize_litert`` for what stays
float and why.

LiteRT quirks handled here, not in the model:

* signature names: the decoder is wrapped so its inputs are keyword arguments with our
  names and its outputs a dict (``audio``, ``next_<state>``), which litert-torch uses as
  the signature's input/output names; the manifest records the mapping anyway.
* float state at the boundary: the converter turns a model input whose only consumer is
  a quantize op (directly or through concat/slice) into an int8 input, and likewise an
  output produced by one.  Multiplying each state input and output by ``1 + 2⁻²³`` (a
  float op it neither folds nor quantises; relative change 1.2e-7) keeps every state
  tensor float32, so apps pass ``next_*`` straight back in and nothing re-quantises.
* whatever still arrives int8 at the boundary is (de)quantised by ``LiteRTChunkRunner``
  with the scale and zero point from the signature's details.
* the codebook table: the PT2E quantizer has no pattern for a gather, so int8 exports
  store the table as int8 rows with one float scale per row (symmetric) and gather both
  (GATHER int8 → CAST → MUL): 2.6 → 0.66 MB for tq64, for ~0.1 dB.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tqcodec.checkpoint import resolve_checkpoint

from .calibration import add_calibration_seconds_option, calibration_part
from .manifest import build_manifest, read_manifest, write_manifest
from .streaming import StreamingDecoder, in_modules
from .verify import THRESHOLDS, Verification, verify

PRECISIONS = ("int8", "fp32")
STATE_NUDGE = 1.0 + 2.0 ** -23  # see the module docstring: keeps state float32 at the boundary
# int8 exports keep ``StreamingDecoder.output_stage()`` in float unless told otherwise (see
# its docstring for the measurement); ``--sensitivity`` measures every layer's cost in dB.
SIGNATURE = "serving_default"


class SignatureModule(nn.Module):
    """The decoder with named inputs (codes, *state) and a dict of named outputs."""

    def __init__(self, decoder: StreamingDecoder, float_state_boundary: bool):
        super().__init__()
        self.decoder = decoder
        self.state_names = [s.name for s in decoder.state_specs()]
        self.float_state_boundary = float_state_boundary

    def forward(self, codes: torch.Tensor, **state: torch.Tensor) -> dict[str, torch.Tensor]:
        inputs = [state[n] for n in self.state_names]
        if self.float_state_boundary:
            inputs = [s * STATE_NUDGE for s in inputs]
        audio, *new_state = self.decoder(codes, *inputs)
        if self.float_state_boundary:
            new_state = [s * STATE_NUDGE for s in new_state]
        return {"audio": audio, **{f"next_{n}": s for n, s in zip(self.state_names, new_state)}}

    def sample_kwargs(self, codes: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        d = self.decoder
        if codes is None:
            codes = torch.zeros(d.input_spec().shape, dtype=torch.int32)
        return {"codes": codes.to(torch.int32), **dict(zip(self.state_names, d.init_state()))}


def _int8_embed(self: StreamingDecoder, codes: torch.Tensor) -> torch.Tensor:
    """``StreamingDecoder.embed`` over int8 rows × per-row scales (see ``int8_codebook``)."""
    flat = (codes.to(torch.int32) + self.offsets).reshape(-1)
    rows = self.table_q[flat].to(torch.float32) * self.table_scale[flat]
    return rows.reshape(self.n_q, self.chunk_frames, self.latent_dim).sum(0).t().unsqueeze(0)


def int8_codebook(decoder: StreamingDecoder) -> StreamingDecoder:
    """A copy of ``decoder`` whose codebook table is int8 with one symmetric scale per row."""
    d = copy.deepcopy(decoder)
    table = d.table
    scale = table.abs().amax(1, keepdim=True).clamp_min(1e-12) / 127
    d.register_buffer("table_q", torch.round(table / scale).to(torch.int8))
    d.register_buffer("table_scale", scale)
    del d.table
    d.embed = types.MethodType(_int8_embed, d)
    return d


def convert(decoder: StreamingDecoder, precision: str, music=None, keep_float=None,
            calibration_seconds: float | None = None, progress: bool = True):
    """Convert to a ``litert_torch`` model (``.export(path)`` writes the flatbuffer).

    ``keep_float``: module paths left in float (None: ``decoder.output_stage()``)."""
    import litert_torch

    litert_torch.config.show_progress = False
    logging.getLogger("absl").setLevel(logging.ERROR)
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: LiteRT export supports {', '.join(PRECISIONS)}")
    target = int8_codebook(decoder) if precision == "int8" else decoder
    sig = SignatureModule(target, float_state_boundary=precision == "int8").eval()
    example = music.codes[:1, :, :decoder.chunk_frames] if music is not None else None
    kwargs = sig.sample_kwargs(example)
    if precision == "fp32":
        return litert_torch.convert(sig, sample_kwargs=kwargs)
    if music is None:
        raise ValueError("int8 export needs calibration music")
    from litert_torch.quantize.quant_config import QuantConfig

    from .quantize_litert import quantize

    graph = torch.export.export(sig, (), kwargs).module()
    keep = decoder.resolve_keep_float(keep_float)
    qdq, quantizer = quantize(graph, decoder, music.codes, keep, calibration_seconds,
                              desc="calibrate" if progress else None)
    return litert_torch.convert(qdq, sample_kwargs=kwargs, quant_config=QuantConfig(pt2e_quantizer=quantizer))


class LiteRTChunkRunner:
    """Runs one chunk of a ``.tflite`` decoder with ai-edge-litert, state in and out as float32.

    ``run_chunk(codes int32 [1, n_q, K], state) -> (audio float32 [1, 1, 64·K], state)``;
    int8 boundary tensors (if any) are (de)quantised with their signature details.
    """

    def __init__(self, tflite_path, manifest: dict | None = None, num_threads: int = 1):
        from ai_edge_litert.interpreter import Interpreter

        path = Path(tflite_path)
        if manifest is None:
            from .runners import manifest_path
            manifest = read_manifest(manifest_path(path))
        self.manifest = manifest
        io = manifest.get("litert_io") or {}
        self.interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        self.runner = self.interpreter.get_signature_runner(io.get("signature", SIGNATURE))
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
            raise ValueError(f"{path}: signature lacks {missing} named by the manifest")

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


def benchmark(runner, codes: torch.Tensor, chunk_frames: int, sample_rate: int, hop: int = 64,
              chunks: int = 200, warmup: int = 20) -> dict:
    """Time ``run_chunk`` (1 thread, Python boundary included) over real codes, warm-up excluded.

    Wall time is what a real-time player sees; on a shared build host other processes
    inflate it, so the thread's CPU time is recorded too (the uncontended estimate).
    """
    c = codes[0].to(torch.int32).numpy()
    n = min(chunks + warmup, c.shape[-1] // chunk_frames)
    state = runner.init_state()
    wall, cpu = [], []
    for i in range(n):
        x = np.ascontiguousarray(c[None, :, i * chunk_frames:(i + 1) * chunk_frames])
        t0, c0 = time.perf_counter(), time.thread_time()
        _, state = runner.run_chunk(x, state)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    wall, cpu = wall[warmup:] or wall, cpu[warmup:] or cpu
    chunk_s = chunk_frames * hop / sample_rate
    med, med_cpu = statistics.median(wall), statistics.median(cpu)
    return {"threads": 1, "chunk_frames": chunk_frames, "chunks_timed": len(wall), "warmup_chunks": warmup,
            "chunk_ms_of_audio": round(1e3 * chunk_s, 3),
            "median_ms_per_chunk": round(1e3 * med, 4), "min_ms_per_chunk": round(1e3 * min(wall), 4),
            "max_ms_per_chunk": round(1e3 * max(wall), 4), "real_time_factor": round(med / chunk_s, 5),
            "median_cpu_ms_per_chunk": round(1e3 * med_cpu, 4), "real_time_factor_cpu": round(med_cpu / chunk_s, 5),
            "host": f"{platform.machine()} {platform.processor() or platform.platform()}, {os.cpu_count()} cores",
            "note": "this build host (shared with other jobs; Python call overhead included), not a phone"}


@dataclass
class ExportResult:
    artifact: Path
    manifest_path: Path
    manifest: dict
    verification: Verification

    @property
    def passed(self) -> bool:
        return not self.verification.failures()


@contextlib.contextmanager
def torch_threads(n: int = 1):
    """Run PyTorch with ``n`` intra-op threads, then restore the previous setting.

    Calibration and verification run one chunk (tens of small ops) at a time; on a busy
    machine a multi-threaded op waits for its slowest thread, which made the tiny decoder
    30x slower with 2 threads than with 1.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def capture(run_chunk):
    """Wrap a ``run_chunk`` so every audio chunk it returns is also kept (in call order)."""
    kept: list[np.ndarray] = []

    def wrapped(codes, state):
        audio, state = run_chunk(codes, state)
        kept.append(np.asarray(audio, dtype=np.float32).reshape(-1))
        return audio, state

    return wrapped, kept


def drift_by_quarter(chunks: list[np.ndarray], decoder: StreamingDecoder, music) -> dict:
    """SNR vs float over each quarter of every excerpt, from the chunks ``verify`` streamed.

    State is carried from the start of each excerpt, so error that accumulates in the state
    (fp16 or int8) shows as falling SNR from the first quarter to the last.
    """
    K = decoder.chunk_frames
    usable = music.codes.shape[-1] // K * K
    art = np.concatenate(chunks).reshape(music.codes.shape[0], -1)
    with torch.no_grad():
        ref = np.stack([decoder.decode(music.codes[i, :, :usable]).numpy() for i in range(art.shape[0])])
    quarters = []
    for q in range(4):
        sl = slice(q * art.shape[1] // 4, (q + 1) * art.shape[1] // 4)
        noise = float(np.sum((ref[:, sl] - art[:, sl]) ** 2))
        quarters.append(round(min(200.0, 10 * np.log10(float(np.sum(ref[:, sl] ** 2)) / noise)), 2)
                        if noise > 0 else 200.0)
    return {"snr_db_by_quarter": quarters, "seconds_per_excerpt": round(art.shape[1] / decoder.config.sample_rate, 2),
            "note": "SNR vs float over each quarter of every excerpt, state carried from its start; "
                    "a falling sequence would mean error accumulating in the state"}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def artifact_stem(config_name: str, precision: str, chunk_frames: int) -> str:
    return f"{config_name}-{precision}-k{chunk_frames}"


def macs_by_module(decoder: StreamingDecoder) -> tuple[int, dict[str, int]]:
    """fvcore MACs of one chunk, total and per module path."""
    from profiling.macs import count_macs

    return count_macs(decoder, (torch.zeros(decoder.input_spec().shape, dtype=torch.int32), *decoder.init_state()))


def mac_split(decoder: StreamingDecoder, keep_float, precision: str) -> dict:
    """GMAC/s (fvcore) and the share of MACs that run in int8."""
    from .quantize_litert import quantizable_layers

    total, by_module = macs_by_module(decoder)
    keep = tuple(keep_float)
    layers = quantizable_layers(decoder)
    int8 = [] if precision != "int8" else \
        [n for n in layers if not in_modules(n, keep)]
    int8_macs = sum(by_module.get(n, 0) for n in int8)
    seconds = decoder.samples_per_chunk / decoder.config.sample_rate
    return {"gmacs_per_s": total / seconds / 1e9, "int8_mac_share": int8_macs / total if total else 0.0,
            "int8_modules": int8, "float_modules": [n for n in layers if n not in int8]}


def layer_sensitivity(decoder: StreamingDecoder, music, seconds: float, keep_float=None,
                      progress: bool = True) -> dict:
    """Simulated dB each conv/linear costs in int8: the SNR with it alone (on top of ``keep_float``) in float."""
    from .quantize_litert import quantizable_layers, sensitivity

    target = int8_codebook(decoder)

    def export_fn():
        sig = SignatureModule(target, float_state_boundary=True).eval()
        return torch.export.export(sig, (), sig.sample_kwargs()).module()

    total, by_module = macs_by_module(decoder)
    keep = decoder.resolve_keep_float(keep_float)
    candidates = {n: by_module.get(n, 0) / total for n in quantizable_layers(decoder) if not in_modules(n, keep)}
    reference = SignatureModule(decoder, float_state_boundary=False).eval()
    base, costs = sensitivity(export_fn, reference, decoder, music.codes, candidates, seconds, keep, progress)
    return {"seconds_per_excerpt": seconds, "baseline_keep_float": list(keep), "baseline_snr_db": round(base, 2),
            "method": "PT2E q/dq graph run in PyTorch (simulates the int8 artifact), calibrated and scored on the "
                      "first seconds of each excerpt, state carried",
            "layers": [c.to_dict() for c in costs]}


def export(pruned, music, out_dir, precision: str = "int8", chunk_frames: int = 16,
           keep_float=None, trained: bool = False, calibration_label: str = "",
           bench: bool = True, progress: bool = True, sensitivity_seconds: float | None = None,
           calibration_seconds: float | None = None) -> ExportResult:
    """Convert, write atomically, verify on ``music`` (a ``calibration.MusicCodes``), write the manifest.

    ``keep_float``: module paths left in float in int8 (None: ``decoder.output_stage()``).
    ``sensitivity_seconds``: int8 only, first measure every layer's cost in dB (recorded).
    ``calibration_seconds``: fit int8 ranges on the first seconds of each excerpt only.
    """
    with torch_threads(1):
        return _export(pruned, music, out_dir, precision, chunk_frames, keep_float, trained, calibration_label,
                       bench, progress, sensitivity_seconds, calibration_seconds)


def _export(pruned, music, out_dir, precision, chunk_frames, keep_float, trained, calibration_label, bench,
            progress, sensitivity_seconds, calibration_seconds=None) -> ExportResult:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    decoder = pruned.streaming(chunk_frames)
    keep_float = decoder.resolve_keep_float(keep_float) if precision == "int8" else ()
    table = None
    if sensitivity_seconds and precision == "int8":
        table = layer_sensitivity(decoder, music, sensitivity_seconds, keep_float, progress)
    calib = calibration_part(music, calibration_seconds, decoder.config.frame_rate)
    model = convert(decoder, precision, calib, keep_float, progress=progress)

    stem = artifact_stem(decoder.config.name, precision, chunk_frames)
    path = out_dir / f"{stem}.tflite"
    mpath = out_dir / f"{stem}.manifest.json"  # the ExecuTorch export's convention: same stem
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=out_dir)
    os.close(fd)
    try:
        model.export(tmp)
        os.chmod(tmp, 0o644 & ~_umask())  # mkstemp makes 0600; an artifact is for sharing
        mpath.unlink(missing_ok=True)  # never leave a manifest that describes another file
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)

    io = {"signature": SIGNATURE, "inputs": {n: n for n in ["codes", *(s.name for s in decoder.state_specs())]},
          "outputs": {n: n for n in ["audio", *(f"next_{s.name}" for s in decoder.state_specs())]}}
    draft = {"state": [s.to_dict() for s in decoder.state_specs()], "litert_io": io}
    runner = LiteRTChunkRunner(path, draft, num_threads=1)
    run_chunk, chunks = capture(runner.run_chunk)
    result = verify(run_chunk, runner.init_state(), decoder, music, precision, progress="verify" if progress else None)
    drift = drift_by_quarter(chunks, decoder, music)
    macs = mac_split(decoder, keep_float, precision)
    io["boundary"] = runner.boundary()
    io["float_state_at_boundary"] = all(
        v["dtype"] == "float32" for k, v in {**io["boundary"]["inputs"], **io["boundary"]["outputs"]}.items()
        if k not in ("codes",))
    extra = {
        "status": "PASSED" if not result.failures() else "FAILED",
        "failures": result.failures(),
        "runtime": "ai-edge-litert Interpreter(model_path, num_threads=1).get_signature_runner('serving_default'); "
                   "feed inputs by name, read outputs by name",
        "litert_io": io,
        "drift": drift,
        "quantization": _quantization_note(precision, macs, keep_float),
        "calibration": {"sources": music.sources, "seconds": round(calib.seconds, 2),
                        "seconds_per_excerpt": calibration_seconds, "label": calibration_label,
                        "state": "carried chunk by chunk from zeros"},
        "tools": _versions(),
    }
    if table is not None:
        extra["sensitivity"] = table
    if bench:
        extra["host_benchmark"] = benchmark(runner, music.codes, chunk_frames, decoder.config.sample_rate,
                                            decoder.config.hop_length)
    manifest = build_manifest(backend="litert", artifact=path, precision=precision, decoder=decoder,
                              source_sha256=pruned.source_sha256, gmacs_per_s=round(macs["gmacs_per_s"], 4),
                              verification=result.to_dict(), trained=trained, extra=extra)
    write_manifest(mpath, manifest)
    return ExportResult(path, mpath, manifest, result)


def _quantization_note(precision: str, macs: dict, keep_float) -> dict:
    if precision == "fp32":
        return {"weights": "float32", "activations": "float32", "int8_mac_share": 0.0}
    return {
        "scheme": "litert-torch PT2EQuantizer, static: weights int8 symmetric per-channel, activations int8 "
                  "per-tensor (histogram observer), on every conv and linear (LSTM gates included) outside "
                  "keep_float; elementwise ops (ELU, LSTM gate math, residual adds), the codebook sum and "
                  "state tensors run in float32",
        "weights": "int8 (per-channel symmetric) for int8_modules; float32 for float_modules",
        "codebook_table": "int8, one symmetric float32 scale per row (GATHER int8, CAST, MUL)",
        "activations": "int8 at the inputs and outputs of int8_modules; float32 elsewhere",
        "keep_float": list(keep_float),
        "int8_modules": macs["int8_modules"],
        "float_modules": macs["float_modules"],
        "int8_mac_share": round(macs["int8_mac_share"], 5),
    }


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("torch", "litert-torch", "ai-edge-litert"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def load_sources(ckpt, calibration=None, max_seconds: float = 24.0):
    """(pruned decoder, real-music codes, trained?) from a full checkpoint: the encoder makes the codes."""
    from tqcodec.checkpoint import read_checkpoint

    from .calibration import load_music
    from .prune import load_pruned

    pruned = load_pruned(ckpt)
    meta = read_checkpoint(ckpt)
    music = load_music(ckpt, calibration, max_seconds=max_seconds)
    extra = meta.get("extra") or {}
    trained = bool(extra.get("trained", (meta.get("step") or 0) > 0))
    return pruned, music, trained


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m mobile_export.litert", description=__doc__.split("\n")[0])
    p.add_argument("--ckpt", required=True, help="full TQCodec checkpoint (its encoder makes the calibration codes)")
    p.add_argument("--out", default="build/litert", help="output folder (default build/litert)")
    p.add_argument("--precision", choices=PRECISIONS, default="int8")
    p.add_argument("--chunk-frames", type=int, default=16, help="frames per call (default 16 = 23.2 ms)")
    p.add_argument("--calibration", default=None,
                   help="audio file or folder for calibration and verification (default: the shipped clip)")
    add_calibration_seconds_option(p)
    p.add_argument("--keep-float", default=None,
                   help="comma-separated decoder modules kept in float in int8 exports (default: the output "
                        "stage, e.g. upsamplers.2,res_blocks.2,conv_out for tq64; '' for none)")
    p.add_argument("--no-benchmark", action="store_true", help="skip the host timing recorded in the manifest")
    p.add_argument("--sensitivity", type=float, default=None, metavar="SECONDS",
                   help="int8: first measure each conv/linear's cost in dB (simulated over the first SECONDS of "
                        "each excerpt; one calibration per layer), print it and record it in the manifest")
    args = p.parse_args(argv)
    if args.chunk_frames < 1:
        p.error("--chunk-frames must be ≥ 1")
    keep = None if args.keep_float is None else tuple(k for k in args.keep_float.split(",") if k)
    try:
        pruned, music, trained = load_sources(resolve_checkpoint(args.ckpt), args.calibration)
        unknown = _unknown_modules(pruned, keep or ())
        if unknown:
            raise ValueError(f"--keep-float: no such decoder module(s) {unknown}")
        res = export(pruned, music, args.out, args.precision, args.chunk_frames, keep, trained,
                     calibration_label=str(args.calibration or "shipped clip"), bench=not args.no_benchmark,
                     progress=sys.stderr.isatty(), sensitivity_seconds=args.sensitivity,
                     calibration_seconds=args.calibration_seconds)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        if type(e).__name__.endswith("Error") and type(e).__module__.startswith("tqcodec"):
            print(f"error: {e}", file=sys.stderr)
            return 2
        raise
    _print_summary(res)
    return 0 if res.passed else 1


def _unknown_modules(pruned, keep) -> list[str]:
    names = {n for n, _ in pruned.streaming(1).named_modules()}
    return [k for k in keep if k not in names]


def _print_summary(res: ExportResult) -> None:
    m, v = res.manifest, res.verification
    print(f"wrote {res.artifact} ({m['artifact_bytes'] / 1e6:.2f} MB) and {res.manifest_path.name}")
    print(f"  {m['precision']}: SNR vs float {v.snr_db_vs_float:.2f} dB, LSD delta {v.lsd_delta:+.4f} "
          f"over {v.seconds:.1f} s ({v.chunks} chunks, state carried); thresholds {THRESHOLDS[m['precision']]}")
    q = m["quantization"]
    print(f"  int8 MAC share {100 * q['int8_mac_share']:.1f} %, {m['gmacs_per_s']:.3f} GMAC/s")
    if "host_benchmark" in m:
        b = m["host_benchmark"]
        print(f"  host, 1 thread: median {b['median_ms_per_chunk']:.3f} ms wall ({b['median_cpu_ms_per_chunk']:.3f} ms "
              f"CPU) per {b['chunk_ms_of_audio']:.1f} ms chunk: real-time factor {b['real_time_factor']:.4f} "
              f"({b['real_time_factor_cpu']:.4f} by CPU time)")
    if "sensitivity" in m:
        t = m["sensitivity"]
        print(f"  per-layer cost (simulated, all int8 but {t['baseline_keep_float']}: {t['baseline_snr_db']} dB):")
        for c in t["layers"]:
            print(f"    {c['module']:<28s} {c['gain_db']:+6.2f} dB if float ({100 * c['mac_share']:4.1f} % of MACs)")
    print("  PASSED" if res.passed else "  FAILED: " + "; ".join(v.failures()))


if __name__ == "__main__":
    sys.exit(main())

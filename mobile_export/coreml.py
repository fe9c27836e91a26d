"""Core ML (``.mlpackage``, ML program, iOS 17) export of the streaming decoder: int8 or fp16.

``python -m mobile_export.coreml --ckpt tq64.pt --out build/coreml [--precision int8|fp16]
[--chunk-frames K] [--calibration DIR]`` loads the checkpoint, encodes real music into
codes, converts, writes ``<config>-<precision>-k<K>.mlpackage`` atomically (temporary
folder, then rename) and ``<config>-<precision>-k<K>.manifest.json`` beside it, reads the
saved package back and evaluates its ML program with ``mil_interpreter`` (Core ML itself
runs only on Apple platforms) chunk by chunk over all the music, state carried, against
the float decoder.  Exit 1 when verification fails (manifest still written, saying FAILED),
2 on bad input.

What the precisions mean:

* ``fp16``: fp16 weights and fp16 compute (``compute_precision=FLOAT16``).
* ``int8``: int8 weights *and* int8 activations on every conv/linear outside
  ``keep_float``: each layer is quantised in PyTorch with coremltools'
  ``LinearQuantizer`` (symmetric per-channel weights, min/max-calibrated per-tensor
  activations), calibrated by streaming the real-music codes with state carried, then
  finalised, traced and converted — the ML program carries ``quantize``/``dequantize``
  around each layer and ``constexpr_affine_dequantize`` int8 weights.  Every remaining
  large float weight (the codebook table) then goes through
  ``ct.optimize.coreml.linear_quantize_weights`` (int8, symmetric, per-channel).
  Compute between the int8 layers is fp16.  ``--weights-only`` gives W8A16 instead.

Either way every input and output, state included, is float32 at the boundary (the
program casts to fp16 inside); the manifest says which tensors are int8 and the
verification measures fp16 state drift over the whole run.

Core ML quirks handled here, not in the model:

* ELU: the decoder writes it as ``relu(x) + exp(min(x, 0)) - 1`` (the form LiteRT's int8
  quantises well).  In fp16 the ``+ 1 - 1`` round trip throws away the low bits of every
  positive activation (ulp of 1.0 is 2⁻¹⁰): 52 dB against float for tq64.  The trace
  therefore sees ``F.elu`` — the same function — which becomes MIL's own ``elu`` op: 64 dB.
* ``LinearQuantizer`` needs an FX trace, which the decoder's ``*state`` signature does not
  allow, so each conv/linear is prepared on its own (that also keeps the elementwise
  LSTM/ELU arithmetic out of int8).
* the converter makes fp16 outputs by default on iOS 17, so outputs are declared float32.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import logging
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tqcodec.checkpoint import resolve_checkpoint

from .calibration import add_calibration_seconds_option, calibration_part
from .litert import ExportResult, capture, drift_by_quarter, load_sources, mac_split, macs_by_module, torch_threads
from .manifest import build_manifest, write_manifest
from .mil_interpreter import MILProgram, single_threaded_blas
from .streaming import StreamingDecoder, in_modules
from .verify import THRESHOLDS, verify

PRECISIONS = ("int8", "fp16")
# int8 activations skip ``StreamingDecoder.output_stage()`` unless told otherwise (see its
# docstring: their noise lands unfiltered in the audio and lifts LSD above the music's band).
MIN_DEPLOYMENT = "iOS17"


def _parent(root: nn.Module, path: str) -> tuple[nn.Module, str]:
    *head, leaf = path.split(".")
    mod = root
    for part in head:
        mod = mod[int(part)] if part.isdigit() else getattr(mod, part)
    return mod, leaf


def quantizable_layers(decoder: nn.Module) -> list[str]:
    return [n for n, m in decoder.named_modules() if isinstance(m, (nn.Conv1d, nn.Linear))]


def quantize_activations(decoder: StreamingDecoder, music, keep_float=None,
                         progress: bool = True) -> tuple[nn.Module, list[str]]:
    """A copy of ``decoder`` whose conv/linear layers are W8A8 reference-quantised modules.

    Each layer gets its own ``LinearQuantizer`` (prepare → calibrate → finalize); the whole
    decoder streams the real-music codes chunk by chunk, state carried from zeros, so every
    observer sees what the phone will see.  Weight observers see the (constant) weights
    once; afterwards weight fake-quantisation is off during calibration, which is 10x
    faster (the recurrent matrices are called 16 times a chunk) and moves the activation
    ranges by the weight rounding only.  ``keep_float`` (None: ``decoder.output_stage()``)
    keeps layers out of int8 activations.  Returns the copy and the int8 layer names.
    """
    from coremltools.optimize.torch.quantization import (
        LinearQuantizer,
        LinearQuantizerConfig,
        ModuleLinearQuantizerConfig,
    )
    from torch.ao.quantization import FakeQuantizeBase

    cfg = LinearQuantizerConfig(global_config=ModuleLinearQuantizerConfig(
        quantization_scheme="symmetric", activation_observer="min_max", weight_per_channel=True))
    keep_float = decoder.resolve_keep_float(keep_float)
    q = copy.deepcopy(decoder).eval()
    names = [n for n in quantizable_layers(q) if not in_modules(n, keep_float)]
    quantizers = {}
    for name in names:
        parent, leaf = _parent(q, name)
        layer = getattr(parent, leaf)
        example = torch.zeros(1, layer.in_channels, 8) if isinstance(layer, nn.Conv1d) \
            else torch.zeros(1, layer.in_features)
        quantizers[name] = LinearQuantizer(layer, cfg)
        setattr(parent, leaf, quantizers[name].prepare(example_inputs=(example,), inplace=False))
    K = decoder.chunk_frames
    chunks = music.codes.shape[-1] // K
    with torch.no_grad():  # weights are constant: observe them once, then stop re-quantising them per call
        q(music.codes[:1, :, :K].to(torch.int32), *decoder.init_state())
    for fq in q.modules():
        if isinstance(fq, FakeQuantizeBase) and fq.qscheme in (torch.per_channel_symmetric, torch.per_channel_affine):
            fq.disable_observer()
            fq.disable_fake_quant()
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=chunks * music.codes.shape[0], desc="calibrate", unit="chunk", leave=False)
    with torch.no_grad():
        for i in range(music.codes.shape[0]):
            state = decoder.init_state()
            for c in range(chunks):
                _, *state = q(music.codes[i:i + 1, :, c * K:(c + 1) * K].to(torch.int32), *state)
                if bar is not None:
                    bar.update(1)
    if bar is not None:
        bar.close()
    for name in names:
        parent, leaf = _parent(q, name)
        setattr(parent, leaf, quantizers[name].finalize(getattr(parent, leaf), inplace=False))
    return q, names


@contextlib.contextmanager
def native_elu(decoder: StreamingDecoder):
    """Trace the decoder's ELUs as ``F.elu`` (MIL ``elu``): identical function, exact in fp16."""
    previous = decoder.native_elu
    decoder.use_native_elu(True)
    try:
        yield
    finally:
        decoder.use_native_elu(previous)


def convert(module: nn.Module, decoder: StreamingDecoder, compute: str = "fp16"):
    """jit.trace → ct.convert (mlprogram, iOS 17, float32 I/O with our names).

    ``compute`` is the program's compute precision: "fp16" for every artifact; "fp32" only
    to check the interpreter against PyTorch exactly.
    """
    import coremltools as ct

    example = (torch.zeros(decoder.input_spec().shape, dtype=torch.int32), *decoder.init_state())
    with torch.no_grad(), warnings.catch_warnings(), native_elu(module):
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(module.eval(), example)
    specs = decoder.state_specs()
    inputs = [ct.TensorType(name="codes", shape=decoder.input_spec().shape, dtype=np.int32)] + \
        [ct.TensorType(name=s.name, shape=s.shape, dtype=np.float32) for s in specs]
    outputs = [ct.TensorType(name="audio", dtype=np.float32)] + \
        [ct.TensorType(name=f"next_{s.name}", dtype=np.float32) for s in specs]
    return ct.convert(traced, inputs=inputs, outputs=outputs, convert_to="mlprogram",
                      minimum_deployment_target=getattr(ct.target, MIN_DEPLOYMENT),
                      compute_precision=ct.precision.FLOAT16 if compute == "fp16" else ct.precision.FLOAT32,
                      skip_model_load=True)


def quantize_weights(mlmodel):
    """int8 (symmetric, per-channel) for every float const of more than 2048 elements still in fp16."""
    from coremltools.optimize.coreml import OpLinearQuantizerConfig, OptimizationConfig, linear_quantize_weights

    cfg = OptimizationConfig(global_config=OpLinearQuantizerConfig(
        mode="linear_symmetric", dtype="int8", granularity="per_channel", weight_threshold=2048))
    return linear_quantize_weights(mlmodel, cfg)


def save_atomically(mlmodel, path: Path) -> None:
    """Save into a temporary folder beside ``path``, then rename it into place."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    old = None
    try:
        staged = tmp / path.name
        mlmodel.save(str(staged))
        if path.exists():
            old = path.parent / f".{path.name}.old-{os.getpid()}"
            os.replace(path, old)
        os.replace(staged, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


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


def export(pruned, music, out_dir, precision: str = "int8", chunk_frames: int = 16,
           keep_float=None, activations: bool = True, trained: bool = False,
           calibration_label: str = "", progress: bool = True,
           calibration_seconds: float | None = None) -> ExportResult:
    """Convert, save atomically, verify the saved program on ``music``, write the manifest.

    ``keep_float``: layers kept out of int8 activations (None: ``decoder.output_stage()``).
    ``calibration_seconds``: fit int8 activation ranges on the first seconds of each excerpt only.
    """
    logging.getLogger("coremltools").setLevel(logging.ERROR)
    with torch_threads(1), warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="coremltools")  # untested-torch-version and similar notices
        warnings.filterwarnings("ignore", message=".*quantize_per_(tensor|channel).*")  # deprecation, torch 2.13
        return _export(pruned, music, out_dir, precision, chunk_frames, keep_float, activations, trained,
                       calibration_label, progress, calibration_seconds)


def _export(pruned, music, out_dir, precision, chunk_frames, keep_float, activations, trained,
            calibration_label, progress, calibration_seconds=None) -> ExportResult:
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: Core ML export supports {', '.join(PRECISIONS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    decoder = pruned.streaming(chunk_frames)
    keep_float = decoder.resolve_keep_float(keep_float)
    int8_act: list[str] = []
    module: nn.Module = decoder
    calib = calibration_part(music, calibration_seconds, decoder.config.frame_rate)
    if precision == "int8" and activations:
        module, int8_act = quantize_activations(decoder, calib, keep_float, progress)
    mlmodel = convert(module, decoder)
    if precision == "int8":
        mlmodel = quantize_weights(mlmodel)

    stem = f"{decoder.config.name}-{precision}-k{chunk_frames}"
    path, mpath = out_dir / f"{stem}.mlpackage", out_dir / f"{stem}.manifest.json"
    mpath.unlink(missing_ok=True)  # never leave a manifest that describes another package
    save_atomically(mlmodel, path)

    runner = MILChunkRunner(path, {"state": [s.to_dict() for s in decoder.state_specs()]})
    run_chunk, chunks = capture(runner.run_chunk)
    with single_threaded_blas():
        result = verify(run_chunk, runner.init_state(), decoder, music, precision,
                        progress="verify (MIL interpreter)" if progress else None)
    drift = drift_by_quarter(chunks, decoder, music)

    macs = mac_split(decoder, (), "fp32")
    split = _int8_split(decoder, runner.program, int8_act, precision)
    extra = {
        "status": "PASSED" if not result.failures() else "FAILED",
        "failures": result.failures(),
        "runtime": "Core ML: MLModel(path).predict({'codes': int32, <state>: float32, ...}); outputs 'audio' "
                   "and 'next_<state>' (float32); feed each next_<state> back as <state>",
        "coreml": {
            "minimum_deployment_target": MIN_DEPLOYMENT, "model_type": "mlprogram",
            "compute_precision": "float16", "io_dtype": "float32 for every input/output (codes int32)",
            "io_names": {"inputs": {n: n for n in ["codes", *(s.name for s in decoder.state_specs())]},
                         "outputs": {n: n for n in ["audio", *(f"next_{s.name}" for s in decoder.state_specs())]}},
            "mil_ops": dict(sorted(runner.program.op_counts.items())),
        },
        "drift": drift,
        "quantization": split,
        "verified_with": "coremltools' milproto reader + mobile_export.mil_interpreter (NumPy, fp16 storage "
                         "emulated per op, fp32 accumulation); Core ML itself runs on macOS only "
                         "(tests/test_coreml.py runs it there)",
        "calibration": {"sources": music.sources, "seconds": round(calib.seconds, 2),
                        "seconds_per_excerpt": calibration_seconds, "label": calibration_label,
                        "state": "carried chunk by chunk from zeros"},
        "tools": _versions(),
    }
    manifest = build_manifest(backend="coreml", artifact=path, precision=precision, decoder=decoder,
                              source_sha256=pruned.source_sha256, gmacs_per_s=round(macs["gmacs_per_s"], 4),
                              verification=result.to_dict(), trained=trained, extra=extra)
    write_manifest(mpath, manifest)
    return ExportResult(path, mpath, manifest, result)


def _int8_split(decoder: StreamingDecoder, program, int8_act: list[str], precision: str) -> dict:
    """Which layers run int8 (weights, activations) and their share of the MACs."""
    total, by_module = macs_by_module(decoder)
    layers = quantizable_layers(decoder)
    if precision == "fp16":
        return {"weights": "float16", "activations": "float16", "int8_mac_share": 0.0,
                "int8_weight_mac_share": 0.0}
    int8_weight_consts = {op: n for op, n in program.op_counts.items() if op.startswith("constexpr_")}
    act_share = sum(by_module.get(n, 0) for n in int8_act) / total
    # linear_quantize_weights turns every float weight of more than 2048 elements into int8
    w_int8 = [n for n in layers if n in int8_act or _weight_numel(decoder, n) > 2048]
    return {
        "scheme": ("W8A8: coremltools.optimize.torch LinearQuantizer per layer (weights int8 symmetric "
                   "per-channel; activations 8-bit per-tensor, min/max over the calibration music), then "
                   "linear_quantize_weights (int8 symmetric per-channel) for the remaining large weights")
        if int8_act else "W8A16: linear_quantize_weights (int8 symmetric per-channel); fp16 activations",
        "int8_activation_modules": int8_act,
        "int8_weight_modules": w_int8,
        "float16_modules": [n for n in layers if n not in w_int8],
        "codebook_table": "int8 per-row (constexpr_affine_dequantize)",
        "compute_between_int8_layers": "float16 (elementwise ops, LSTM gate math, state tensors)",
        "int8_mac_share": round(act_share, 5),
        "int8_weight_mac_share": round(sum(by_module.get(n, 0) for n in w_int8) / total, 5),
        "constexpr_ops": int8_weight_consts,
    }


def _weight_numel(decoder: nn.Module, name: str) -> int:
    return decoder.get_submodule(name).weight.numel()


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("torch", "coremltools"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m mobile_export.coreml", description=__doc__.split("\n")[0])
    p.add_argument("--ckpt", required=True, help="full TQCodec checkpoint (its encoder makes the calibration codes)")
    p.add_argument("--out", default="build/coreml", help="output folder (default build/coreml)")
    p.add_argument("--precision", choices=PRECISIONS, default="int8")
    p.add_argument("--chunk-frames", type=int, default=16, help="frames per call (default 16 = 23.2 ms)")
    p.add_argument("--calibration", default=None,
                   help="audio file or folder for calibration and verification (default: the shipped clip)")
    p.add_argument("--keep-float", default=None,
                   help="comma-separated decoder modules kept out of int8 activations (default: the output "
                        "stage, e.g. upsamplers.2,res_blocks.2,conv_out for tq64; '' for none)")
    p.add_argument("--weights-only", action="store_true", help="int8: quantise weights only (W8A16)")
    add_calibration_seconds_option(p)
    args = p.parse_args(argv)
    if args.chunk_frames < 1:
        p.error("--chunk-frames must be ≥ 1")
    keep = None if args.keep_float is None else tuple(k for k in args.keep_float.split(",") if k)
    try:
        pruned, music, trained = load_sources(resolve_checkpoint(args.ckpt), args.calibration)
        unknown = [k for k in keep or () if k not in dict(pruned.streaming(1).named_modules())]
        if unknown:
            raise ValueError(f"--keep-float: no such decoder module(s) {unknown}")
        res = export(pruned, music, args.out, args.precision, args.chunk_frames, keep,
                     activations=not args.weights_only, trained=trained,
                     calibration_label=str(args.calibration or "shipped clip"), progress=sys.stderr.isatty(),
                     calibration_seconds=args.calibration_seconds)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        if type(e).__name__.endswith("Error") and type(e).__module__.startswith("tqcodec"):
            print(f"error: {e}", file=sys.stderr)
            return 2
        raise
    m, v = res.manifest, res.verification
    print(f"wrote {res.artifact} ({m['artifact_bytes'] / 1e6:.2f} MB) and {res.manifest_path.name}")
    print(f"  {m['precision']}: SNR vs float {v.snr_db_vs_float:.2f} dB, LSD delta {v.lsd_delta:+.4f} over "
          f"{v.seconds:.1f} s ({v.chunks} chunks, state carried, MIL interpreter); "
          f"thresholds {THRESHOLDS[m['precision']]}")
    q = m["quantization"]
    print(f"  int8 activations on {100 * q['int8_mac_share']:.1f} % of MACs, int8 weights on "
          f"{100 * q['int8_weight_mac_share']:.1f} %; {m['gmacs_per_s']:.3f} GMAC/s")
    print("  PASSED" if res.passed else "  FAILED: " + "; ".join(v.failures()))
    return 0 if res.passed else 1


if __name__ == "__main__":
    sys.exit(main())

"""LiteRT (``.tflite``) export of the streaming decoder: int8 (weights and activations) or fp32.

Converts with litert-torch (``convert``), writes ``<config>-<precision>-k<K>.tflite``
atomically, runs it with ai-edge-litert chunk by chunk over all the music with state
carried against the float decoder (``pipeline.verify_artifact``).  int8 means every conv
and linear outside ``keep_float`` (LSTM gate projections included) runs with int8 weights
and int8 activations; see ``quantizer`` for what stays float and why.
"""
from __future__ import annotations

import torch

from tqcodec.atomic import atomic_path
from tqcodec.macs import chunk_macs
from tqcodec.streaming import in_modules

from ...calibration import calibration_part
from ...pipeline import (ExportJob, ExportResult, Sources, artifact_stem, finish, manifest_path_for, prepare,
                         quantization_record, verify_artifact)
from ...sensitivity import conv_linear_candidates, layer_gains, sensitivity_record
from .convert import SignatureModule, convert, int8_codebook
from .quantizer import quantizable_layers, simulator
from .runner import SIGNATURE, LiteRTChunkRunner

RUNTIME = ("ai-edge-litert Interpreter(model_path, num_threads).get_signature_runner('serving_default'); "
           "feed inputs by name, read outputs by name")


def int8_split(decoder, keep_float, int8: bool) -> tuple[float, list[str], list[str]]:
    """(share of MACs in int8, int8 modules, float modules) among the conv/linear layers."""
    total, by_module = chunk_macs(decoder)
    layers = quantizable_layers(decoder)
    int8_layers = [n for n in layers if not in_modules(n, keep_float)] if int8 else []
    share = sum(by_module.get(n, 0) for n in int8_layers) / total if total else 0.0
    return share, int8_layers, [n for n in layers if n not in int8_layers]


def layer_sensitivity(decoder, music, seconds: float, keep_float, progress: bool) -> dict:
    """Simulated dB each conv/linear buys back when kept float (on top of ``keep_float``)."""
    target = int8_codebook(decoder)

    def export_fn():
        sig = SignatureModule(target, float_state_boundary=True).eval()
        return torch.export.export(sig, (), sig.sample_kwargs()).module()

    reference = SignatureModule(decoder, float_state_boundary=False).eval()
    base, gains = layer_gains(simulator(export_fn, reference, decoder, music.codes, seconds),
                              conv_linear_candidates(decoder, keep_float), keep_float, progress)
    return sensitivity_record(base, gains, seconds, keep_float,
                              "litert-torch PT2E q/dq graph run in PyTorch with state carried, calibrated and scored "
                              "on the first seconds of each excerpt; candidates are conv/linear modules")


def export(backend, job: ExportJob, sources: Sources) -> ExportResult:
    int8 = job.precision == "int8"
    decoder, keep = prepare(job, sources)
    sensitivity = None
    if job.sensitivity_seconds and int8:
        sensitivity = layer_sensitivity(decoder, sources.music, job.sensitivity_seconds, keep, job.progress)
    calib = calibration_part(sources.music, job.calibration_seconds, decoder.config.frame_rate)
    model = convert(decoder, job.precision, calib, keep, progress=job.progress)

    path = job.out_dir / f"{artifact_stem(decoder, job.precision)}.tflite"
    manifest_path_for(path).unlink(missing_ok=True)  # never leave a manifest that describes another file
    with atomic_path(path, 0o666) as tmp:
        model.export(str(tmp))

    names = [s.name for s in decoder.state_specs()]
    io = {"signature": SIGNATURE, "inputs": {n: n for n in ["codes", *names]},
          "outputs": {n: n for n in ["audio", *(f"next_{n}" for n in names)]}}
    runner = LiteRTChunkRunner(path, {"state": [s.to_dict() for s in decoder.state_specs()], "litert_io": io},
                               threads=job.threads)
    verified = verify_artifact(runner, decoder, sources.music, job.precision, RUNTIME, job.threads, job.progress)
    io["boundary"] = runner.boundary()
    io["float_state_at_boundary"] = all(
        v["dtype"] == "float32" for k, v in {**io["boundary"]["inputs"], **io["boundary"]["outputs"]}.items()
        if k != "codes")
    share, int8_modules, float_modules = int8_split(decoder, keep, int8)
    quantization = quantization_record(
        "fp32 weights and activations" if not int8 else
        "litert-torch PT2EQuantizer, static: weights int8 symmetric per-channel, activations int8 per-tensor "
        "(histogram observer), on every conv and linear (LSTM gates included) outside keep_float; elementwise ops "
        "(ELU, LSTM gate math, residual adds), the codebook sum and state tensors run in float32; codebook table "
        "int8 with one float32 scale per row (GATHER int8, CAST, MUL)",
        keep, share, job.calibration_seconds, sensitivity, int8_modules=int8_modules, float_modules=float_modules)
    return finish(backend, job, sources, decoder, path, verified, quantization, verified.verification.failures(),
                  RUNTIME, {"litert_io": io})

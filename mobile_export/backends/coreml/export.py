"""Core ML (``.mlpackage``, ML program, iOS 17) export of the streaming decoder: int8 or fp16.

Converts (``convert``), saves the package atomically, reads the saved package back and
evaluates its ML program with the NumPy MIL interpreter (Core ML itself runs only on Apple
platforms) chunk by chunk over all the music, state carried, against the float decoder.
"""
from __future__ import annotations

import logging
import warnings

from torch import nn

from tqcodec.macs import chunk_macs
from tqcodec.streaming import StreamingDecoder

from ...calibration import calibration_part
from ...pipeline import (ExportJob, ExportResult, Sources, artifact_stem, finish, manifest_path_for, prepare,
                         quantization_record, verify_artifact)
from .convert import MIN_DEPLOYMENT, convert, quantizable_layers, quantize_activations, quantize_weights, save_atomically
from .mil_interpreter import single_threaded_blas
from .runner import MILChunkRunner

RUNTIME = ("Core ML: MLModel(path).predict({'codes': int32, <state>: float32, ...}); outputs 'audio' and "
           "'next_<state>' (float32); verified here with coremltools' milproto reader + "
           "mobile_export.backends.coreml.mil_interpreter (NumPy, fp16 storage emulated per op)")


def export(backend, job: ExportJob, sources: Sources) -> ExportResult:
    logging.getLogger("coremltools").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="coremltools")  # untested-torch-version and similar notices
        warnings.filterwarnings("ignore", message=".*quantize_per_(tensor|channel).*")  # deprecation, torch 2.13
        return _export(backend, job, sources)


def _export(backend, job: ExportJob, sources: Sources) -> ExportResult:
    int8 = job.precision == "int8"
    decoder, keep = prepare(job, sources)
    int8_act: list[str] = []
    module: nn.Module = decoder
    calib = calibration_part(sources.music, job.calibration_seconds, decoder.config.frame_rate)
    if int8 and not job.weights_only:
        module, int8_act = quantize_activations(decoder, calib, keep, job.progress)
    mlmodel = convert(module, decoder)
    if int8:
        mlmodel = quantize_weights(mlmodel)

    path = job.out_dir / f"{artifact_stem(decoder, job.precision)}.mlpackage"
    manifest_path_for(path).unlink(missing_ok=True)  # never leave a manifest that describes another package
    save_atomically(mlmodel, path)

    runner = MILChunkRunner(path, {"state": [s.to_dict() for s in decoder.state_specs()]})
    with single_threaded_blas():
        verified = verify_artifact(runner, decoder, sources.music, job.precision, RUNTIME, 1, job.progress)
    quantization = int8_split(decoder, runner.program, int8_act, keep, job)
    detail = {"coreml": {
        "minimum_deployment_target": MIN_DEPLOYMENT, "model_type": "mlprogram",
        "compute_precision": "float16", "io_dtype": "float32 for every input/output (codes int32)",
        "io_names": {"inputs": {n: n for n in ["codes", *(s.name for s in decoder.state_specs())]},
                     "outputs": {n: n for n in ["audio", *(f"next_{s.name}" for s in decoder.state_specs())]}},
        "mil_ops": dict(sorted(runner.program.op_counts.items())),
    }}
    return finish(backend, job, sources, decoder, path, verified, quantization, verified.verification.failures(),
                  RUNTIME, detail)


def int8_split(decoder: StreamingDecoder, program, int8_act: list[str], keep, job: ExportJob) -> dict:
    """Which layers run int8 (weights, activations) and their share of the MACs."""
    total, by_module = chunk_macs(decoder)
    layers = quantizable_layers(decoder)
    if job.precision == "fp16":
        return quantization_record("float16 weights and compute", (), 0.0, None, None, int8_weight_mac_share=0.0)
    # linear_quantize_weights turns every float weight of more than 2048 elements into int8
    w_int8 = [n for n in layers if n in int8_act or decoder.get_submodule(n).weight.numel() > 2048]
    scheme = ("W8A8: coremltools.optimize.torch LinearQuantizer per layer (weights int8 symmetric per-channel; "
              "activations 8-bit per-tensor, min/max over the calibration music), then linear_quantize_weights "
              "(int8 symmetric per-channel) for the remaining large weights; compute between int8 layers "
              "float16; codebook table int8 per row (constexpr_affine_dequantize)") if int8_act else \
        "W8A16: linear_quantize_weights (int8 symmetric per-channel); fp16 activations"
    return quantization_record(
        scheme, keep, sum(by_module.get(n, 0) for n in int8_act) / total, job.calibration_seconds, None,
        int8_activation_modules=int8_act, int8_weight_modules=w_int8,
        float16_modules=[n for n in layers if n not in w_int8],
        int8_weight_mac_share=round(sum(by_module.get(n, 0) for n in w_int8) / total, 5),
        constexpr_ops={op: n for op, n in program.op_counts.items() if op.startswith("constexpr_")})

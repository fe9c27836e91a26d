"""ONNX Runtime export of the streaming decoder: fp32, or int8 QDQ by ONNX Runtime's static quantizer.

``graph.export_onnx`` writes the float step (explicit state in and out); int8 runs
``quantizer.quantize`` on it (calibrated by streaming real-music codes with state carried;
MAC ops int8, LSTM cell arithmetic and the ``keep_float`` layers float).  The ``.onnx`` is
written atomically, run by ``onnxruntime.InferenceSession`` over all the music, chunk by
chunk with state carried, against the float decoder (``pipeline.verify_artifact``); its
MACs are counted from the written file (``macs``) and must equal fvcore's.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from tqcodec.atomic import atomic_path
from tqcodec.macs import chunk_macs
from tqcodec.metrics import snr_db

from ...calibration import calibration_part, chunks_covering, positional_step, stream_codes
from ...pipeline import (ExportJob, ExportResult, Sources, artifact_stem, finish, manifest_path_for, prepare,
                         quantization_record, verify_artifact)
from ...sensitivity import conv_linear_candidates, layer_gains, sensitivity_record
from .graph import export_onnx
from .file_macs import read
from .quantizer import MAC_OPS, quantize
from .runner import OnnxChunkRunner

RUNTIME = ("onnxruntime.InferenceSession(path, SessionOptions(intra_op_num_threads=threads)).run(None, "
           "{'codes': int32, <state>: float32, ...}); outputs 'audio' and 'next_<state>'")


def simulated_snr(path: Path, decoder, codes, max_chunks: int | None) -> float:
    """SNR (dB) of an ``.onnx`` run by ONNX Runtime against the float decoder, state carried."""
    runner = OnnxChunkRunner(path, {"state": [s.to_dict() for s in decoder.state_specs()]})

    def ort_step(chunk, state):
        audio, new = runner.run_chunk(chunk.numpy(), [np.asarray(s) for s in state])
        return audio, new

    def audio(step, init):
        return np.concatenate([np.asarray(y).reshape(-1) for *_, y in stream_codes(
            step, init, codes, decoder.chunk_frames, max_chunks, channels=decoder.channels)])
    return snr_db(audio(positional_step(decoder), decoder.init_state), audio(ort_step, runner.init_state))


def layer_sensitivity(float_path: Path, work: Path, decoder, music, seconds: float, keep, progress: bool) -> dict:
    chunks = chunks_covering(seconds, decoder.config.frame_rate, decoder.chunk_frames)

    def simulate(kept: tuple[str, ...]) -> float:
        q = work / "candidate.onnx"
        quantize(float_path, q, decoder, music.codes, kept, chunks, desc=None)
        return simulated_snr(q, decoder, music.codes, chunks)

    base, gains = layer_gains(simulate, conv_linear_candidates(decoder, keep), keep, progress)
    return sensitivity_record(base, gains, seconds, keep,
                              "onnxruntime quantize_static (QDQ) per candidate, run by ONNX Runtime with state "
                              "carried, calibrated and scored on the first seconds of each excerpt")


def export(backend, job: ExportJob, sources: Sources) -> ExportResult:
    int8 = job.precision == "int8"
    decoder, keep = prepare(job, sources, native_elu=True)
    path = job.out_dir / f"{artifact_stem(decoder, job.precision)}.onnx"
    manifest_path_for(path).unlink(missing_ok=True)  # never leave a manifest that describes another file
    sensitivity, float_nodes = None, []
    with tempfile.TemporaryDirectory(prefix="onnx-export-") as work:
        float_path = Path(work) / "float.onnx"
        export_onnx(decoder, float_path)
        if int8 and job.sensitivity_seconds:
            sensitivity = layer_sensitivity(float_path, Path(work), decoder, sources.music, job.sensitivity_seconds,
                                            keep, job.progress)
        calib = calibration_part(sources.music, job.calibration_seconds, decoder.config.frame_rate)
        with atomic_path(path, 0o666) as tmp:
            if int8:
                float_nodes = quantize(float_path, tmp, decoder, calib.codes, keep,
                                       desc="calibrate" if job.progress else None)
            else:
                tmp.write_bytes(float_path.read_bytes())

    runner = OnnxChunkRunner(path, {"state": [s.to_dict() for s in decoder.state_specs()]}, job.threads)
    verified = verify_artifact(runner, decoder, sources.music, job.precision, RUNTIME, job.threads, job.progress)
    fvcore_total, by_module = chunk_macs(decoder)
    mac_ops = read(path).mac_ops
    counted = sum(op.macs for op in mac_ops)
    failures = verified.verification.failures()
    if counted != fvcore_total:
        failures.append(f"MACs counted from the .onnx ({counted:,}) differ from fvcore ({fvcore_total:,})")
    int8_macs = sum(op.macs for op in mac_ops if op.int8)  # activation and weight both int8, read from the file
    quantization = quantization_record(
        "fp32 weights and activations" if not int8 else
        "onnxruntime.quantization.quantize_static, QDQ: Conv/MatMul/Gemm weights int8 symmetric per-channel, "
        "activations uint8 asymmetric per-tensor (min/max over the calibration music, state carried; U8S8 is "
        "the pattern ONNX Runtime fuses into QLinearConv/QLinearMatMul); elementwise ops (ELU, "
        "LSTM cell arithmetic, residual adds), the codebook gather and the state tensors float32",
        keep, int8_macs / counted if counted else 0.0, job.calibration_seconds, sensitivity,
        float_nodes=float_nodes, quantized_op_types=list(MAC_OPS) if int8 else [])
    detail = {"onnx": {"opset": 17, "macs_per_chunk_from_file": counted, "macs_per_chunk_fvcore": fvcore_total,
                       "io_names": {"inputs": ["codes", *(s.name for s in decoder.state_specs())],
                                    "outputs": ["audio", *(f"next_{s.name}" for s in decoder.state_specs())]}}}
    return finish(backend, job, sources, decoder, path, verified, quantization, failures, RUNTIME, detail)

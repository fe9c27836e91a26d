"""ExecuTorch (XNNPACK) export of the streaming decoder, verified with ExecuTorch's own runtime.

Path: ``torch.export`` of ``StreamingDecoder`` (fixed chunk, every state an input and an
output; ``graph.export_decoder``) → for int8, torchao ``prepare_pt2e``/``convert_pt2e`` with
``XNNPACKQuantizer`` (``quantizer``: every conv/linear int8, the LSTM's matmuls included,
its cell arithmetic fp32), calibrated on real-music codes streamed with state carried →
``to_edge_transform_and_lower`` with ``XnnpackPartitioner`` → ``to_executorch`` → the
``.pte`` written atomically, then run by ``executorch.runtime`` over the calibration
music against the float decoder (``pipeline.verify_artifact``).

int8 keeps the decoder's output stage (last upsampler, its residual block, ``conv_out``:
12.7 % of tq64's MACs) in fp32 by default, as the other backends do
(``StreamingDecoder.output_stage`` says why); ``--keep-float`` overrides it.  If int8 still
misses its thresholds, each layer's gain when kept float is measured
(``mobile_export.sensitivity``) and the layers that buy back the most dB (never the LSTM's
matmuls) are kept in fp32 inside the delegate.  Besides the thresholds, a build fails
when < 95 % of its MACs are delegated, when an int8 ``.pte`` is over 1.25 B per parameter
+ 1 MB, or when the CLI verified it over less than 20 s of music.
"""
from __future__ import annotations

import copy
import functools
import math

import torch

from tqcodec.atomic import atomic_write
from tqcodec.streaming import in_modules

from ...calibration import calibration_part, slice_music
from ...errors import ExportError
from ...pipeline import (ExportJob, ExportResult, Sources, artifact_stem, finish, manifest_path_for, prepare,
                         quantization_record, verify_artifact)
from ...sensitivity import layer_gains, sensitivity_record
from ...verify import THRESHOLDS
from .graph import export_decoder, lower, quiet
from .quantizer import ROOT, decoder_groups, quantize, simulator
from .runner import ExecuTorchChunkRunner

MIN_DELEGATED_SHARE = 0.95
INT8_SIZE_SLACK_BYTES = 1_000_000  # int8 .pte ≤ 1.25 B per parameter + 1 MB
MIN_VERIFY_SECONDS = 20.0
MIXED_MARGIN_DB = 1.0  # mixed precision aims this far above the SNR threshold
MIXED_MAX_FLOAT_LAYERS = 4
MIXED_MIN_INT8_SHARE = 0.80
SENSITIVITY_SECONDS = 1.0
RUNTIME = "executorch.runtime: Runtime.get().load_program(pte).load_method('forward').execute([codes, *state])"


def choose_float_layers(decoder, calib, threshold_db: float, seconds: float, choose: bool,
                        base_keep: tuple[str, ...], progress: bool) -> tuple[list[str], dict]:
    """Each layer's gain if kept float, then (``choose``) the fewest layers with the largest gains kept
    fp32 on top of ``base_keep`` (never an LSTM layer, ≥ 80 % of MACs int8) to clear ``threshold_db``
    + a margin.  Returns (layers kept fp32, ``base_keep`` included; the sensitivity record)."""
    groups = decoder_groups(decoder)
    total = sum(groups.values()) or 1
    exported = export_decoder(decoder, half_tables=True)
    simulate = simulator(functools.partial(copy.deepcopy, exported), decoder, calib.codes, seconds)
    candidates = {g: v / total for g, v in groups.items() if not in_modules(g, base_keep)}
    base, gains = layer_gains(simulate, candidates, base_keep, progress)
    keep, snr = list(base_keep), base
    kept_macs = sum(v for g, v in groups.items() if in_modules(g, keep))
    added = 0
    for g in gains:
        if not choose or snr >= threshold_db + MIXED_MARGIN_DB or added >= MIXED_MAX_FLOAT_LAYERS:
            break
        if g.module.startswith("lstm.") or (groups[g.module] and
                                            1 - (kept_macs + groups[g.module]) / total < MIXED_MIN_INT8_SHARE):
            continue  # the LSTM stays int8; big layers would give up the int8 speed
        keep.append(g.module)
        kept_macs += groups[g.module]
        added += 1
        snr = simulate(tuple(keep))
    record = sensitivity_record(base, gains, seconds, base_keep,
                                "PT2E q/dq graph (XNNPACKQuantizer) run in PyTorch with state carried, calibrated and "
                                "scored on the first seconds of each excerpt; candidates are module groups")
    if choose:
        record.update({"kept_fp32": keep, "snr_db_with_kept_fp32": round(snr, 2)})
    return keep, record


def export(backend, job: ExportJob, sources: Sources) -> ExportResult:
    """Export, lower, write, run and verify one ``.pte``; see the module docstring."""
    quiet()
    int8 = job.precision == "int8"
    decoder, keep = prepare(job, sources, native_elu=True, extra_keep_names=(ROOT,))
    keep, forced = list(keep), job.keep_float is not None
    cfg, K, music = decoder.config, decoder.chunk_frames, sources.music
    usable = music.codes.shape[-1] // K * K
    if usable == 0:
        raise ExportError(f"calibration music is shorter than one chunk of {K} frames")
    verify_music = slice_music(music, usable if job.verify_seconds is None else
                               max(K, min(usable, round(job.verify_seconds * cfg.frame_rate) // K * K)))
    calib = calibration_part(music, job.calibration_seconds, cfg.frame_rate)
    pte = job.out_dir / f"{artifact_stem(decoder, job.precision)}.pte"
    sensitivity = None
    while True:
        gm = export_decoder(decoder, half_tables=int8)
        if int8:
            gm = quantize(gm, decoder, calib.codes, keep, desc="calibrate" if job.progress else None)
        shares, program = lower(gm, decoder)
        manifest_path_for(pte).unlink(missing_ok=True)  # never leave a manifest that describes another file
        atomic_write(pte, program.buffer)
        state = {"state": [s.to_dict() for s in decoder.state_specs()],
                 "inputs": [decoder.input_spec().to_dict()]}
        runner = ExecuTorchChunkRunner(pte, state, job.threads)
        verified = verify_artifact(runner, decoder, verify_music, job.precision, RUNTIME, job.threads, job.progress)
        failures = verified.verification.failures()
        retry = int8 and failures and job.mixed_precision and not forced and sensitivity is None
        if retry or (int8 and job.sensitivity_seconds and sensitivity is None):
            chosen, sensitivity = choose_float_layers(decoder, calib, THRESHOLDS["int8"]["snr_db_vs_float"],
                                                      job.sensitivity_seconds or SENSITIVITY_SECONDS, bool(retry),
                                                      tuple(keep), job.progress)
            if retry and chosen != keep:
                keep = chosen
                print(f"int8 missed its thresholds; rebuilding with {', '.join(keep)} in fp32", flush=True)
                continue
        break

    size = pte.stat().st_size
    size_bound = math.floor(1.25 * sources.pruned.parameter_count) + INT8_SIZE_SLACK_BYTES
    if job.verify_seconds is None and verified.verification.seconds < MIN_VERIFY_SECONDS:
        failures.append(f"verified over {verified.verification.seconds:.1f} s of music < {MIN_VERIFY_SECONDS:g} s")
    if shares.delegated_share < MIN_DELEGATED_SHARE:
        failures.append(f"{100 * shares.delegated_share:.2f}% of MACs delegated < {100 * MIN_DELEGATED_SHARE:g}%")
    if int8 and size > size_bound:
        failures.append(f".pte {size:,} B > {size_bound:,} B (1.25 B/parameter + 1 MB)")
    quantization = quantization_record(
        "fp32 weights and activations" if not int8 else
        "torchao PT2E prepare_pt2e/convert_pt2e, XNNPACKQuantizer: weights int8 symmetric per-channel, "
        "activations int8 per-tensor (histogram observer); LSTM input projection and recurrent matmuls int8, its "
        "cell arithmetic fp32 inside the delegate; codebook table float16 (gathered on the portable kernels)",
        keep, shares.int8_share, job.calibration_seconds, sensitivity)
    detail = {
        "artifact_kind": "ExecuTorch program (.pte), XNNPACK delegate",
        "parameter_count": sources.pruned.parameter_count,
        "size_check": {"bytes": size, "bound_bytes": size_bound if int8 else None,
                       "rule": "int8 .pte ≤ 1.25 × parameter count bytes + 1 MB"},
        "delegation": shares.to_dict(),
    }
    return finish(backend, job, sources, decoder, pte, verified, quantization, failures, RUNTIME, detail)


"""The one export pipeline: what every backend shares, in order.

    job → load and prune the checkpoint, encode the calibration music (``load_sources``)
        → the backend converts, quantizes (with the one streaming calibrator,
          ``calibration.stream_codes``) and writes its artifact atomically
        → ``verify_artifact``: the written file, run by its own runtime, chunk by chunk with
          state carried, against the float decoder (SNR, LSD Δ, drift by quarter, timing)
        → ``finish``: MACs (fvcore), the typed manifest validated against the committed
          schema and written beside the artifact, one summary printed.

A backend (``mobile_export.backends``) supplies only what is about its format.  One
``ExportJob`` in, one ``ExportResult`` out, one error type (``ExportError``).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import torch

from tqcodec.checkpoint import CheckpointError, read_checkpoint
from tqcodec.macs import chunk_macs, gmacs_per_second
from tqcodec.prune import PrunedDecoder, load_pruned
from tqcodec.streaming import StreamingDecoder

from .calibration import MusicCodes, channel_groups, load_music
from .errors import ExportError
from .manifest import build_manifest, write_manifest
from .timing import TimedRunner
from .verify import THRESHOLDS, Verification, verify
from .versions import versions

MAX_CHUNK_FRAMES = 256  # the LSTM is unrolled over the chunk: larger K only grows the graph
VERIFY_MAX_SECONDS = 24.0  # the shipped clip's two channels


@dataclass
class ExportJob:
    """Everything one export is asked to do (the CLI's flags, one name each)."""

    ckpt: Path
    out_dir: Path
    precision: str = "int8"
    chunk_frames: int = 16
    channels: int = 2  # 2: one call decodes both channels of stereo music; 1: one channel per call
    calibration: str | None = None  # audio file or folder (None: the shipped clip)
    calibration_seconds: float | None = None  # int8 ranges from the first S s of each excerpt
    keep_float: tuple[str, ...] | None = None  # None: the decoder's output stage
    sensitivity_seconds: float | None = None  # measure each layer's dB gain if kept float, over S s
    threads: int = 1  # runtime threads for verification and timing
    verify_seconds: float | None = None  # verify on the first S s of each excerpt only (tests; None: all)
    progress: bool = True
    mixed_precision: bool = True  # ExecuTorch: retry a failing int8 build with sensitive layers float
    weights_only: bool = False  # Core ML: int8 weights, fp16 activations

    def check(self, backend) -> None:
        if self.precision not in backend.precisions:
            raise ExportError(f"--precision {self.precision}: {backend.name} exports {', '.join(backend.precisions)}")
        if not 1 <= self.chunk_frames <= MAX_CHUNK_FRAMES:
            raise ExportError(f"--chunk-frames must be between 1 and {MAX_CHUNK_FRAMES}, got {self.chunk_frames}")
        if self.channels not in (1, 2):
            raise ExportError(f"--channels must be 1 (mono) or 2 (stereo), got {self.channels}")
        if self.threads < 1:
            raise ExportError(f"--threads must be ≥ 1, got {self.threads}")
        for name, value in (("--calibration-seconds", self.calibration_seconds),
                            ("--sensitivity", self.sensitivity_seconds)):
            if value is not None and value <= 0:
                raise ExportError(f"{name} must be positive seconds, got {value:g}")
        if self.keep_float and self.precision != "int8":
            raise ExportError("--keep-float only applies to --precision int8")
        if self.sensitivity_seconds and not backend.supports_sensitivity:
            raise ExportError(f"--sensitivity: {backend.name} has no per-layer sensitivity measurement")
        if self.weights_only and not backend.supports_weights_only:
            raise ExportError(f"--weights-only: {backend.name} has no weights-only int8 mode")


@dataclass
class Sources:
    """What an export starts from: the pruned decoder and the real-music codes."""

    pruned: PrunedDecoder
    music: MusicCodes
    trained: bool
    label: str

    def decoder(self, chunk_frames: int, channels: int = 1) -> StreamingDecoder:
        return self.pruned.streaming(chunk_frames, channels)


@dataclass
class ExportResult:
    """One written artifact, its manifest, and what failed (nothing, when it passed)."""

    artifact: Path
    manifest_path: Path
    manifest: dict
    verification: Verification
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def load_sources(job: ExportJob, music: MusicCodes | None = None) -> Sources:
    """Prune the checkpoint and encode the calibration music with its encoder (cached; ``music``
    given: used as it is)."""
    try:
        pruned = load_pruned(job.ckpt)
        meta = read_checkpoint(job.ckpt)
        if music is None:
            music = load_music(job.ckpt, job.calibration, max_seconds=VERIFY_MAX_SECONDS)
    except (CheckpointError, FileNotFoundError, ValueError) as e:
        raise ExportError(str(e)) from None
    if music.codes.shape[1] != pruned.config.n_codebooks:
        raise ExportError(f"calibration codes have {music.codes.shape[1]} codebooks, {pruned.config.name} has "
                          f"{pruned.config.n_codebooks}")
    extra = meta.get("extra") or {}
    trained = bool(extra.get("trained", (meta.get("step") or 0) > 0))
    return Sources(pruned, music, trained, str(job.calibration or "shipped clip"))


def prepare(job: ExportJob, sources: Sources, native_elu: bool = False,
            extra_keep_names=()) -> tuple[StreamingDecoder, tuple[str, ...]]:
    """(the decoder at the job's chunk size, its layers kept float in int8) with the output folder made."""
    decoder = sources.decoder(job.chunk_frames, job.channels).use_native_elu(native_elu)
    try:
        channel_groups(sources.music.codes.shape[0], job.channels)
    except ValueError as e:
        raise ExportError(f"{sources.label}: {e}") from None
    keep = check_keep_float(decoder, job.keep_float, extra_keep_names) if job.precision == "int8" else ()
    try:
        job.out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(f"{job.out_dir}: cannot create output folder ({e.strerror})") from None
    return decoder, keep


def check_keep_float(decoder: StreamingDecoder, keep_float, extra_names=()) -> tuple[str, ...]:
    """``keep_float`` as module paths (None: the output stage); unknown names are an ``ExportError``."""
    keep = decoder.resolve_keep_float(keep_float)
    known = {name for name, _ in decoder.named_modules() if name} | set(extra_names)
    unknown = [k for k in keep if k not in known]
    if unknown:
        raise ExportError(f"--keep-float: no decoder module {', '.join(map(repr, unknown))} "
                          f"(e.g. conv_out, res_blocks.2.0)")
    return keep


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


# -- verification ----------------------------------------------------------------------------------------
@dataclass
class Verified:
    """The artifact against float (the figures, the SNR per quarter) and the runtime's timing."""

    verification: Verification
    timing: dict


def verify_artifact(runner, decoder: StreamingDecoder, music: MusicCodes, precision: str, runtime: str,
                    threads: int = 1, progress: bool = True) -> Verified:
    """Stream every excerpt through ``runner.run_chunk`` (state carried), timed, against the float decoder."""
    timed = TimedRunner(runner.run_chunk)
    v = verify(timed, runner.init_state(), decoder, music, precision, progress="verify" if progress else None)
    timing = timed.summary(decoder.samples_per_chunk / decoder.config.sample_rate, threads, runtime)
    return Verified(v, timing)


# -- the manifest -----------------------------------------------------------------------------------------
def verification_record(verified: Verified, failures: list[str], runtime: str) -> dict:
    v = verified.verification
    return {**v.to_dict(), "passed": not failures, "failures": list(failures),
            "snr_db_by_quarter": v.snr_db_by_quarter, "runtime": runtime}


def quantization_record(scheme: str, keep_float, int8_mac_share: float, calibration_seconds,
                        sensitivity: dict | None = None, **detail) -> dict:
    return {"scheme": scheme, "keep_float": list(keep_float), "int8_mac_share": round(float(int8_mac_share), 6),
            "calibration_seconds_per_excerpt": calibration_seconds, "sensitivity": sensitivity, **detail}


def calibration_record(sources: Sources, verified: Verified) -> dict:
    return {"sources": list(sources.music.sources), "label": sources.label,
            "seconds_verified": round(verified.verification.seconds, 2),
            "state": "carried chunk by chunk from zeros"}


def finish(backend, job: ExportJob, sources: Sources, decoder: StreamingDecoder, artifact: Path,
           verified: Verified, quantization: dict, failures: list[str], runtime: str, detail: dict) -> ExportResult:
    """Count MACs, build the typed manifest, validate it against the schema, write it, print the summary."""
    macs_per_chunk, _ = chunk_macs(decoder)
    gmacs = gmacs_per_second(decoder, macs_per_chunk)
    failures = list(failures)
    manifest = build_manifest(
        backend=backend.format, artifact=artifact, precision=job.precision, decoder=decoder,
        source_sha256=sources.pruned.source_sha256, gmacs_per_s=round(gmacs, 6),
        verification=verification_record(verified, failures, runtime), trained=sources.trained,
        extra={"quantization": quantization, "calibration": calibration_record(sources, verified),
               "toolchain": versions(("torch", *backend.packages)), "host_timing": verified.timing,
               "macs_per_chunk": macs_per_chunk,
               "macs_counted": "fvcore on the StreamingDecoder: conv, linear; not elementwise ops, biases, "
                               "or the codebook gather",
               **detail})
    path = manifest_path_for(artifact)
    write_manifest(path, manifest, validate=True)
    result = ExportResult(artifact, path, manifest, verified.verification, failures)
    print_summary(result)
    return result


def manifest_path_for(artifact: Path) -> Path:
    """``<stem>.manifest.json`` beside the artifact: fp32 and int8 builds and several K share a folder."""
    return artifact.with_name(artifact.name.rsplit(".", 1)[0] + ".manifest.json")


def artifact_stem(decoder: StreamingDecoder, precision: str) -> str:
    """``tq64-int8-k16`` (mono, the name artifacts always had) or ``tq64-int8-k16-stereo``."""
    suffix = "-stereo" if decoder.channels == 2 else ""
    return f"{decoder.config.name}-{precision}-k{decoder.chunk_frames}{suffix}"


def print_summary(res: ExportResult) -> None:
    """The same lines for every backend."""
    m, v = res.manifest, res.verification
    t, q = m["host_timing"], m["quantization"]
    print(f"wrote {res.artifact} ({m['artifact_bytes'] / 1e6:.2f} MB) and {res.manifest_path.name}")
    print(f"  {m['format']} {m['precision']}, {'stereo' if m['channels'] == 2 else 'mono'} "
          f"({m['channels']} channel(s) per call): SNR vs float {v.snr_db_vs_float:.2f} dB, LSD delta {v.lsd_delta:+.4f} "
          f"over {v.seconds:.1f} s ({v.chunks} chunks, state carried); thresholds {THRESHOLDS[m['precision']]}")
    print(f"  SNR by quarter {m['verification']['snr_db_by_quarter']} dB; int8 MAC share "
          f"{100 * q['int8_mac_share']:.1f} %; {m['gmacs_per_s']:.3f} GMAC/s per channel")
    print(f"  host, {t['threads']} thread(s): median {t['ms_per_chunk_median']:.3f} ms wall "
          f"({t['cpu_ms_per_chunk_median']:.3f} ms CPU) per {t['chunk_ms']:.1f} ms chunk of "
          f"{'stereo' if m['channels'] == 2 else 'mono'} audio: real-time factor {t['real_time_factor_median']:.4f}")
    if q.get("sensitivity"):
        s = q["sensitivity"]
        print(f"  per-layer gain if kept float (simulated, {s['seconds_per_excerpt']:g} s per excerpt; all int8 "
              f"but {', '.join(s['baseline_keep_float']) or 'nothing'}: {s['baseline_snr_db']} dB):")
        for c in s["layers"]:
            print(f"    {c['module']:<28s} {c['gain_db']:+6.2f} dB if float ({100 * c['mac_share']:4.1f} % of MACs)")
    print("  PASSED" if res.passed else "  FAILED: " + "; ".join(res.failures))
    if not m["checkpoint_trained"]:
        print("  note: untrained weights — the figures compare backends, not trained quality")

"""Decode speed of every artifact in a folder: per-chunk latency, real-time factor, peak memory.

``python -m profiling.latency --dir build [--ckpt tq64.pt] [--threads 1,all] [--json FILE]``

Why it is built this way:

* Each measurement (one artifact, one thread count) runs in a fresh Python process, so its
  peak resident memory is its own and one runtime's thread pool cannot slow the next.
* A chunk's cost does not depend on the code values (no data-dependent branches in the
  decoder), so seeded random codes stand in for music; state is carried from chunk to chunk
  exactly as a player does.
* The first chunks are warm-up (allocation, XNNPACK packing) and are not timed; medians are
  quoted because a shared machine gives long tails, and p95 shows the tail.
* An exported artifact has one chunk size (K, in its manifest). ``--chunks 1,4,16,64``
  times the PyTorch float decoder at every K and each artifact at its own K;
  ``--export-missing`` exports the missing (backend, precision, K) combinations first.
* Core ML packages cannot run on Linux: they are listed as not measured, never timed.
* Stereo: an artifact's manifest says how many channels one call decodes (``channels``); codes
  are ``[C, n_q, K]`` per call.  ``RTF stereo`` is per second of stereo audio: one call / chunk
  duration for a stereo program, two calls (one per channel) for a mono one.  ``--channels``
  picks the PyTorch float decoder's channel counts (default: 1 and every artifact's).
* Distance to the limit: after the decoder, the same worker measures its runtime's matmul
  peak (``profiling.peak``, same process, same thread count), and ``of peak`` is the time the
  call's MACs (the manifest's GMAC/s per channel × channels; int8 share from its quantization
  record) would take at that peak over the measured time.  LiteRT has no peak here.
  Per-section times are ``profiling.time_split``'s (ExecuTorch, from the checkpoint).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from mobile_export.artifact import manifest_path
from mobile_export.host import describe_machine
from mobile_export.manifest import read_manifest
from mobile_export.runners import open_runner
from mobile_export.timing import TimedRunner
from tqcodec.atomic import atomic_write
from tqcodec.macs import chunk_macs
from tqcodec.prune import load_streaming_decoder

from . import peak as peak_mod

SAMPLE_RATE = 44_100
HOP = 64
DEFAULT_CHUNKS = (1, 4, 16, 64)
RUNNABLE = {".pte": "executorch", ".tflite": "litert", ".onnx": "onnx"}
NOT_RUNNABLE = {".mlpackage": "coreml"}


@dataclass
class Job:
    """One measurement, run in its own process."""

    backend: str  # torch | executorch | litert | onnx
    path: str  # checkpoint (torch) or artifact
    chunk_frames: int
    threads: int
    seconds: float = 10.0
    warmup: int = 10
    min_chunks: int = 40
    precision: str = "fp32"
    label: str = ""
    channels: int = 1  # channels one call decodes (an artifact's: from its manifest)
    peak: bool = True  # also measure the runtime's matmul peak in the worker
    peak_size: int = peak_mod.DEFAULT_SIZE


@dataclass
class Measurement:
    label: str
    backend: str
    precision: str
    chunk_frames: int
    threads: int
    chunks_timed: int = 0
    ms_median: float | None = None
    ms_p95: float | None = None
    rtf_median: float | None = None
    rtf_p95: float | None = None
    peak_rss_mb: float | None = None
    model_rss_mb: float | None = None
    artifact_bytes: int | None = None
    status: str = "measured"  # measured | not runnable here | failed
    note: str = ""
    channels: int = 1
    rtf_stereo: float | None = None  # per second of stereo audio: 1 call (stereo program) or 2 (mono)
    macs_per_call: int | None = None
    int8_mac_share: float | None = None
    gmacs_run: float | None = None  # MACs per call / median call time
    fraction_of_peak: float | None = None  # time at the runtime's peak / median call time
    peak: dict | None = None  # profiling.peak's table, measured in the same worker
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------- the worker side
def _rss_mb() -> float:
    """Current resident memory (Linux /proc; falls back to the peak elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _make_runner(job: Job):
    """(run_chunk, init_state, n_q, channels, MACs per call, int8 MAC share) for the job's backend,
    with its thread count applied."""
    torch.set_num_threads(job.threads)
    if job.backend == "torch":
        dec = load_streaming_decoder(job.path, job.chunk_frames, job.channels)

        def run(codes, state):
            with torch.no_grad():
                y, *new = dec(torch.from_numpy(codes), *state)
            return y, new

        return run, dec.init_state(), dec.config.n_codebooks, dec.channels, chunk_macs(dec)[0], 0.0
    checked, runner = open_runner(job.path, threads=job.threads)  # every artifact check first
    m = checked.manifest
    channels = int(m.get("channels", 1))
    macs = None
    if m.get("gmacs_per_s"):  # per second of audio per channel
        macs = round(m["gmacs_per_s"] * 1e9 * channels * m["samples_per_chunk"] / m["sample_rate"])
    share = (m.get("quantization") or {}).get("int8_mac_share", 0.0 if m.get("precision") != "int8" else None)
    return (runner.run_chunk, [np.asarray(s) for s in runner.init_state()], int(m["n_codebooks"]), channels, macs,
            share)


def measure(job: Job) -> Measurement:
    """Time one runner in this process (the worker's body), with the project's one timing harness."""
    rss_before = _rss_mb()
    run, state, n_q, channels, macs, int8_share = _make_runner(job)
    K = job.chunk_frames
    chunk_s = K * HOP / SAMPLE_RATE
    n = max(job.min_chunks, int(round(job.seconds / chunk_s))) + job.warmup
    codes = np.random.default_rng(0).integers(0, 512, size=(n, channels, n_q, K), dtype=np.int32)
    timed = TimedRunner(run)
    for i in range(n):
        _, state = timed(codes[i], state)
    t = timed.summary(chunk_s, job.threads, job.backend, warmup=job.warmup)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    size = None
    if job.backend != "torch":
        size = Path(job.path).stat().st_size
    ms = t["ms_per_chunk_median"]
    m = Measurement(label=job.label, backend=job.backend, precision=job.precision, chunk_frames=K,
                    threads=job.threads, chunks_timed=t["chunks_timed"], ms_median=ms,
                    ms_p95=t["ms_per_chunk_p95"], rtf_median=t["real_time_factor_median"],
                    rtf_p95=round(t["ms_per_chunk_p95"] / 1e3 / chunk_s, 5), peak_rss_mb=round(peak, 1),
                    model_rss_mb=round(peak - rss_before, 1), artifact_bytes=size, channels=channels,
                    rtf_stereo=round((2 // channels) * ms / 1e3 / chunk_s, 5), macs_per_call=macs,
                    int8_mac_share=int8_share)
    rate_ms = ms  # wall time, the peak's clock (profiling.peak)
    if macs:
        m.gmacs_run = round(macs / (rate_ms * 1e-3) / 1e9, 3)
    if job.peak and job.backend in peak_mod.RUNTIMES:
        dtypes = ("int8", "fp32") if int8_share else ("fp32",)
        p = peak_mod.measure(job.backend, job.threads, dtypes, job.peak_size, rows=sorted({1, channels, 256}))
        m.peak = p.to_dict()
        if macs and int8_share is not None:
            f = p.fraction(macs, int8_share, rate_ms)
            m.fraction_of_peak = None if f is None else round(f, 5)
    return m


def run_job(job: Job, timeout: float = 600.0) -> Measurement:
    """Run ``measure(job)`` in a fresh interpreter; a crash becomes a 'failed' row, not an abort."""
    cmd = [sys.executable, "-m", "profiling.latency", "--worker", json.dumps(asdict(job))]
    env = {**os.environ, "OMP_NUM_THREADS": str(job.threads), "TQDM_DISABLE": "1"}
    root = Path(__file__).resolve().parent.parent
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH", "")]))
    failed = Measurement(job.label, job.backend, job.precision, job.chunk_frames, job.threads, status="failed",
                         channels=job.channels)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        failed.note = f"timed out after {timeout:.0f} s"
        return failed
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        failed.note = f"worker exited {proc.returncode}: {tail[:300]}"
        return failed
    return Measurement(**json.loads(lines[-1]))


# ---------------------------------------------------------------------------- planning
def find_artifacts(folder: Path) -> list[Path]:
    """Artifacts (with a manifest beside them) under ``folder``, sorted."""
    out = []
    for p in sorted(folder.rglob("*")):
        if p.suffix in RUNNABLE or (p.suffix in NOT_RUNNABLE and p.is_dir()):
            if p.with_name(p.name.rsplit(".", 1)[0] + ".manifest.json").is_file() or \
                    (p.parent / "manifest.json").is_file():
                out.append(p)
    return out


def artifact_info(path: Path) -> dict:
    m = read_manifest(manifest_path(path))
    return {"precision": m.get("precision", "?"), "chunk_frames": int(m["chunk_frames"]),
            "channels": int(m.get("channels", 1)), "config": m.get("config"), "trained": m.get("checkpoint_trained")}


def export_missing(ckpt: Path, folder: Path, chunks: list[int], precisions=("fp32", "int8"),
                   backends=("executorch", "litert", "onnx")) -> None:
    """Export every (backend, precision, K) not yet in ``folder`` into ``folder/sweep``
    (found there by ``find_artifacts``, which searches recursively)."""
    have = {(RUNNABLE[p.suffix], artifact_info(p)["precision"], artifact_info(p)["chunk_frames"])
            for p in find_artifacts(folder) if p.suffix in RUNNABLE}
    for backend in backends:
        for precision in precisions:
            for K in chunks:
                if (backend, precision, K) in have:
                    continue
                out = folder / "sweep" / backend
                print(f"exporting {backend} {precision} K={K} → {out}", flush=True)
                cmd = [sys.executable, "-m", "mobile_export", "--backend", backend, "--ckpt", str(ckpt), "--out", str(out),
                       "--precision", precision, "--chunk-frames", str(K)]
                proc = subprocess.run(cmd, capture_output=True, text=True)
                if proc.returncode not in (0, 1):  # 1: exported but failed a quality threshold
                    print(f"  export failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}", flush=True)


def plan(folder: Path | None, ckpt: Path | None, chunks: list[int], threads: list[int], seconds: float,
         artifacts: list[Path] | None = None, channels: list[int] | None = None, peak: bool = True,
         peak_size: int = peak_mod.DEFAULT_SIZE) -> tuple[list[Job], list[Measurement]]:
    """Jobs for the PyTorch float decoder (every K, thread count and channel count: ``channels``,
    default 1 and every artifact's) and for every artifact (its own K and channels)."""
    jobs, skipped = [], []
    paths = list(dict.fromkeys(list(artifacts or []) + (find_artifacts(folder) if folder else [])))
    infos = {path: artifact_info(path) for path in paths}
    if channels is None:
        channels = sorted({1, *(i["channels"] for i in infos.values())})
    if ckpt is not None:
        for K in chunks:
            for c in channels:
                for t in threads:
                    jobs.append(Job("torch", str(ckpt), K, t, seconds, precision="fp32", label="pytorch float",
                                    channels=c, peak=peak, peak_size=peak_size))
    for path in paths:
        info = infos[path]
        label = f"{path.name}"
        if path.suffix in NOT_RUNNABLE:
            skipped.append(Measurement(label, NOT_RUNNABLE[path.suffix], info["precision"], info["chunk_frames"],
                                       0, status="not runnable here", channels=info["channels"],
                                       note="Core ML runs on macOS/iOS only; measure it on a Mac or phone"))
            continue
        if info["chunk_frames"] not in chunks:
            continue
        for t in threads:
            jobs.append(Job(RUNNABLE[path.suffix], str(path), info["chunk_frames"], t, seconds,
                            precision=info["precision"], label=label, channels=info["channels"], peak=peak,
                            peak_size=peak_size))
    return jobs, skipped


# ---------------------------------------------------------------------------- presentation
def _f(v, spec: str) -> str:
    return "—" if v is None else format(v, spec)


def format_table(rows: list[Measurement]) -> str:
    head = f"{'runtime':<11} {'precision':<9} {'artifact':<28} {'K':>3} {'ch':>2} {'thr':>3} {'ms med':>8} " \
           f"{'ms p95':>8} {'RTF med':>8} {'RTF p95':>8} {'RTF st':>8} {'GMAC/s':>7} {'of peak':>7} " \
           f"{'peak MB':>8} {'model MB':>8}"
    lines = [head, "-" * len(head)]
    for r in rows:
        name = r.label if r.backend != "torch" else "(checkpoint)"
        if r.status != "measured":
            lines.append(f"{r.backend:<11} {r.precision:<9} {name[:28]:<28} {r.chunk_frames:>3} {r.channels:>2} "
                         f"{'':>3} {r.status}: {r.note}")
            continue
        of_peak = "—" if r.fraction_of_peak is None else f"{100 * r.fraction_of_peak:.1f}%"
        lines.append(f"{r.backend:<11} {r.precision:<9} {name[:28]:<28} {r.chunk_frames:>3} {r.channels:>2} "
                     f"{r.threads:>3} {r.ms_median:>8.3f} {r.ms_p95:>8.3f} {r.rtf_median:>8.4f} {r.rtf_p95:>8.4f} "
                     f"{_f(r.rtf_stereo, '.4f'):>8} {_f(r.gmacs_run, '.2f'):>7} {of_peak:>7} "
                     f"{r.peak_rss_mb:>8.0f} {r.model_rss_mb:>8.0f}")
    return "\n".join(lines)


def peak_lines(rows: list[Measurement]) -> list[str]:
    """Each worker's runtime peak (best GMAC/s per dtype, and at 1 row)."""
    out = []
    for r in rows:
        if r.status != "measured" or not r.peak:
            continue
        p = peak_mod.Peak.from_dict(r.peak)
        parts = [f"{d} {p.gmacs(d):.2f} (M=1 {p.gmacs(d, 1):.2f}" + (f", M=2 {p.gmacs(d, 2):.2f}" if p.gmacs(d, 2)
                                                                      else "") + ")"
                 for d in ("int8", "fp32") if p.gmacs(d) is not None]
        name = r.label if r.backend != "torch" else f"pytorch float C={r.channels}"
        out.append(f"peak in the {name} worker ({r.backend}, {r.threads} thr): " + "; ".join(parts) + " GMAC/s")
    return out


def ratios(rows: list[Measurement]) -> list[str]:
    """Speed-ups that answer the usual questions (int8 vs fp32, artifact vs PyTorch, stereo vs mono)."""
    by = {(r.backend, r.precision, r.chunk_frames, r.threads, r.channels): r for r in rows if r.status == "measured"}
    out = []
    for (backend, precision, K, t, c), r in sorted(by.items()):
        if backend == "torch":
            continue
        fp32 = by.get((backend, "fp32", K, t, c))
        ref = by.get(("torch", "fp32", K, t, c))
        what = "stereo " if c == 2 else ""
        if precision == "int8" and fp32:
            out.append(f"{backend} {what}int8 vs fp32 (K={K}, {t} thr): {fp32.ms_median / r.ms_median:.2f}x faster")
        if ref:
            out.append(f"{backend} {what}{precision} vs PyTorch float {what}(K={K}, {t} thr): "
                       f"{ref.ms_median / r.ms_median:.2f}x faster")
        mono = by.get((backend, precision, K, t, 1))
        if c == 2 and mono:
            out.append(f"{backend} {precision} stereo vs mono artifact (K={K}, {t} thr): one stereo call "
                       f"{r.ms_median:.3f} ms = {r.ms_median / mono.ms_median:.2f}x a mono call; RTF stereo "
                       f"{r.rtf_stereo:.4f} vs {mono.rtf_stereo:.4f} with two mono calls "
                       f"({mono.rtf_stereo / r.rtf_stereo:.2f}x faster)")
    for (backend, precision, K, t, c), r in sorted(by.items()):
        mono = by.get((backend, precision, K, t, 1))
        if backend == "torch" and c == 2 and mono:
            out.append(f"PyTorch float stereo vs mono (K={K}, {t} thr): RTF stereo {r.rtf_stereo:.4f} vs "
                       f"{mono.rtf_stereo:.4f} with two mono calls ({mono.rtf_stereo / r.rtf_stereo:.2f}x faster)")
    return out


def write_json_atomic(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, (json.dumps(data, indent=2) + "\n").encode())


def run_all(jobs: list[Job], progress: bool = True) -> list[Measurement]:
    rows = []
    for job in tqdm(jobs, desc="latency", unit="run", disable=not progress or not sys.stderr.isatty()):
        rows.append(run_job(job))
    return rows


def _int_list(text: str, cores: int) -> list[int]:
    out = []
    for part in text.split(","):
        part = part.strip()
        if part == "all":
            out.append(cores)
        elif part.isdigit() and int(part) > 0:
            out.append(int(part))
        else:
            raise ValueError(f"{part!r} is not a positive integer or 'all'")
    return list(dict.fromkeys(out))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m profiling.latency", description=__doc__.split("\n")[0])
    p.add_argument("--dir", type=Path, help="folder searched (recursively) for .pte/.tflite/.onnx/.mlpackage artifacts")
    p.add_argument("--artifact", type=Path, action="append", default=[], help="an artifact (repeatable)")
    p.add_argument("--ckpt", type=Path, help="checkpoint: also time the PyTorch float streaming decoder")
    p.add_argument("--chunks", default="1,4,16,64", help="chunk sizes in frames (default: %(default)s)")
    p.add_argument("--threads", default="1,all", help="thread counts, 'all' = every core (default: %(default)s)")
    p.add_argument("--seconds", type=float, default=10.0, help="audio decoded per measurement (default 10)")
    p.add_argument("--channels", help="channel counts of the PyTorch float decoder, e.g. 1,2 (default: 1 and "
                                      "every artifact's)")
    p.add_argument("--no-peak", action="store_true", help="skip the runtime matmul peak measured in each worker")
    p.add_argument("--peak-size", type=int, default=peak_mod.DEFAULT_SIZE,
                   help="K = N of the peak's matmuls (default %(default)s)")
    p.add_argument("--export-missing", action="store_true",
                   help="export ExecuTorch/LiteRT/ONNX fp32+int8 artifacts for chunk sizes the folder lacks (needs "
                        "--ckpt and --dir; slow)")
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        m = measure(Job(**json.loads(args.worker)))
        print(json.dumps(asdict(m)), flush=True)
        return 0

    cores = os.cpu_count() or 1
    try:
        chunks = _int_list(args.chunks, cores)
        threads = _int_list(args.threads, cores)
        channels = _int_list(args.channels, 2) if args.channels else None
    except ValueError as e:
        p.error(str(e))
    if channels and any(c > 2 for c in channels):
        p.error("--channels: 1 or 2")
    if args.dir is None and not args.artifact and args.ckpt is None:
        p.error("give --dir, --artifact or --ckpt")
    for path in [args.dir, args.ckpt, *args.artifact]:
        if path is not None and not path.exists():
            print(f"error: {path}: no such file or folder", file=sys.stderr)
            return 2
    if args.export_missing:
        if args.ckpt is None or args.dir is None:
            p.error("--export-missing needs --ckpt and --dir")
        export_missing(args.ckpt, args.dir, chunks)
    try:
        jobs, skipped = plan(args.dir, args.ckpt, chunks, threads, args.seconds, args.artifact, channels,
                             not args.no_peak, args.peak_size)
    except (FileNotFoundError, KeyError, ValueError, json.JSONDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    machine = describe_machine()
    print(f"machine: {machine['cpu']} ({machine['machine']}), {machine['cores']} cores, "
          f"{machine['memory_gb']} GB, load {machine['load_average_1m']}; "
          + ", ".join(f"{k} {v}" for k, v in machine["versions"].items()), flush=True)
    rows = run_all(jobs, progress=not args.no_progress) + skipped
    print(format_table(rows))
    for line in peak_lines(rows) + ratios(rows):
        print(line)
    print("RTF = median wall time per call / chunk duration (below 1 is faster than real time); RTF st = per second "
          "of stereo audio (one call of a stereo program, two of a mono one); ch = channels per call; GMAC/s = "
          "MACs per call / call time; of peak = time at the runtime's matmul peak (same worker) / call time "
          "(both median wall time); "
          "warm-up chunks excluded; peak MB = process peak RSS, model MB = peak minus RSS before loading")
    if args.json:
        write_json_atomic(args.json, {"machine": machine, "results": [asdict(r) for r in rows],
                                      "ratios": ratios(rows), "sample_rate": SAMPLE_RATE, "hop": HOP})
        print(f"wrote {args.json}")
    return 1 if any(r.status == "failed" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

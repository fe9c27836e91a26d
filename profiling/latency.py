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
from tqcodec.prune import load_streaming_decoder

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
    """(run_chunk, init_state, n_q) for the job's backend, with its thread count applied."""
    torch.set_num_threads(job.threads)
    if job.backend == "torch":
        dec = load_streaming_decoder(job.path, job.chunk_frames)

        def run(codes, state):
            with torch.no_grad():
                y, *new = dec(torch.from_numpy(codes), *state)
            return y, new

        return run, dec.init_state(), dec.config.n_codebooks
    checked, runner = open_runner(job.path, threads=job.threads)  # every artifact check first
    n_q = int(checked.manifest["n_codebooks"])
    return runner.run_chunk, [np.asarray(s) for s in runner.init_state()], n_q


def measure(job: Job) -> Measurement:
    """Time one runner in this process (the worker's body), with the project's one timing harness."""
    rss_before = _rss_mb()
    run, state, n_q = _make_runner(job)
    K = job.chunk_frames
    chunk_s = K * HOP / SAMPLE_RATE
    n = max(job.min_chunks, int(round(job.seconds / chunk_s))) + job.warmup
    codes = np.random.default_rng(0).integers(0, 512, size=(n, 1, n_q, K), dtype=np.int32)
    timed = TimedRunner(run)
    for i in range(n):
        _, state = timed(codes[i], state)
    t = timed.summary(chunk_s, job.threads, job.backend, warmup=job.warmup)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    size = None
    if job.backend != "torch":
        size = Path(job.path).stat().st_size
    return Measurement(label=job.label, backend=job.backend, precision=job.precision, chunk_frames=K,
                       threads=job.threads, chunks_timed=t["chunks_timed"], ms_median=t["ms_per_chunk_median"],
                       ms_p95=t["ms_per_chunk_p95"], rtf_median=t["real_time_factor_median"],
                       rtf_p95=round(t["ms_per_chunk_p95"] / 1e3 / chunk_s, 5), peak_rss_mb=round(peak, 1),
                       model_rss_mb=round(peak - rss_before, 1), artifact_bytes=size)


def run_job(job: Job, timeout: float = 600.0) -> Measurement:
    """Run ``measure(job)`` in a fresh interpreter; a crash becomes a 'failed' row, not an abort."""
    cmd = [sys.executable, "-m", "profiling.latency", "--worker", json.dumps(asdict(job))]
    env = {**os.environ, "OMP_NUM_THREADS": str(job.threads), "TQDM_DISABLE": "1"}
    root = Path(__file__).resolve().parent.parent
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH", "")]))
    failed = Measurement(job.label, job.backend, job.precision, job.chunk_frames, job.threads, status="failed")
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
            "config": m.get("config"), "trained": m.get("checkpoint_trained")}


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
         artifacts: list[Path] | None = None) -> tuple[list[Job], list[Measurement]]:
    jobs, skipped = [], []
    if ckpt is not None:
        for K in chunks:
            for t in threads:
                jobs.append(Job("torch", str(ckpt), K, t, seconds, precision="fp32", label="pytorch float"))
    paths = list(artifacts or []) + (find_artifacts(folder) if folder else [])
    for path in dict.fromkeys(paths):
        info = artifact_info(path)
        label = f"{path.name}"
        if path.suffix in NOT_RUNNABLE:
            skipped.append(Measurement(label, NOT_RUNNABLE[path.suffix], info["precision"], info["chunk_frames"],
                                       0, status="not runnable here",
                                       note="Core ML runs on macOS/iOS only; measure it on a Mac or phone"))
            continue
        if info["chunk_frames"] not in chunks:
            continue
        for t in threads:
            jobs.append(Job(RUNNABLE[path.suffix], str(path), info["chunk_frames"], t, seconds,
                            precision=info["precision"], label=label))
    return jobs, skipped


# ---------------------------------------------------------------------------- presentation
def format_table(rows: list[Measurement]) -> str:
    head = f"{'runtime':<11} {'precision':<9} {'artifact':<28} {'K':>3} {'thr':>3} {'ms med':>8} {'ms p95':>8} " \
           f"{'RTF med':>8} {'RTF p95':>8} {'peak MB':>8} {'model MB':>8}"
    lines = [head, "-" * len(head)]
    for r in rows:
        name = r.label if r.backend != "torch" else "(checkpoint)"
        if r.status != "measured":
            lines.append(f"{r.backend:<11} {r.precision:<9} {name[:28]:<28} {r.chunk_frames:>3} {'':>3} "
                         f"{r.status}: {r.note}")
            continue
        lines.append(f"{r.backend:<11} {r.precision:<9} {name[:28]:<28} {r.chunk_frames:>3} {r.threads:>3} "
                     f"{r.ms_median:>8.3f} {r.ms_p95:>8.3f} {r.rtf_median:>8.4f} {r.rtf_p95:>8.4f} "
                     f"{r.peak_rss_mb:>8.0f} {r.model_rss_mb:>8.0f}")
    return "\n".join(lines)


def ratios(rows: list[Measurement]) -> list[str]:
    """Speed-ups that answer the usual questions (int8 vs fp32, artifact vs PyTorch)."""
    by = {(r.backend, r.precision, r.chunk_frames, r.threads): r for r in rows if r.status == "measured"}
    out = []
    for (backend, precision, K, t), r in sorted(by.items()):
        if precision != "int8":
            continue
        fp32 = by.get((backend, "fp32", K, t))
        ref = by.get(("torch", "fp32", K, t))
        if fp32:
            out.append(f"{backend} int8 vs fp32 (K={K}, {t} thr): {fp32.ms_median / r.ms_median:.2f}x faster")
        if ref:
            out.append(f"{backend} int8 vs PyTorch float (K={K}, {t} thr): {ref.ms_median / r.ms_median:.2f}x faster")
    return out


def write_json_atomic(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, (json.dumps(data, indent=2) + "\n").encode())


def run_all(jobs: list[Job], progress: bool = True) -> list[Measurement]:
    rows = []
    for job in tqdm(jobs, desc="latency", unit="run", disable=not progress):
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
    except ValueError as e:
        p.error(str(e))
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
        jobs, skipped = plan(args.dir, args.ckpt, chunks, threads, args.seconds, args.artifact)
    except (FileNotFoundError, KeyError, ValueError, json.JSONDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    machine = describe_machine()
    print(f"machine: {machine['cpu']} ({machine['machine']}), {machine['cores']} cores, "
          f"{machine['memory_gb']} GB, load {machine['load_average_1m']}; "
          + ", ".join(f"{k} {v}" for k, v in machine["versions"].items()), flush=True)
    rows = run_all(jobs, progress=not args.no_progress) + skipped
    print(format_table(rows))
    for line in ratios(rows):
        print(line)
    print(f"RTF = median wall time per chunk / chunk duration (below 1 is faster than real time); "
          f"warm-up chunks excluded; peak MB = process peak RSS, model MB = peak minus RSS before loading")
    if args.json:
        write_json_atomic(args.json, {"machine": machine, "results": [asdict(r) for r in rows],
                                      "ratios": ratios(rows), "sample_rate": SAMPLE_RATE, "hop": HOP})
        print(f"wrote {args.json}")
    return 1 if any(r.status == "failed" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

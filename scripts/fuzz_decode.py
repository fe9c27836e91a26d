"""Fuzz the CLI's decode paths with forged-but-valid streams: every CRC right, everything
else a lie (sequence numbers, frame counts, geometry, total_samples, codes), plus raw
damage on top.

    python scripts/fuzz_decode.py --cases 100000            # a tiny checkpoint is made if none is given
    python scripts/fuzz_decode.py --cases 2000 --ckpt tiny.pt --seed 1

Each case runs ``tqcodec.__main__.main(["decode", ...])`` in this process (strict,
``--lenient``, sometimes ``--start``).  A case passes when it exits 0, or exits 2 with
exactly one ``error:`` line; any other exception is a traceback, a case over
``--case-timeout`` seconds a hang.  It prints the tally, the slowest case and the peak
memory, and exits 1 on any traceback or hang.  ``tests/test_decode_fuzz.py`` runs a few
hundred of the same cases in the suite.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import signal
import struct
import sys
import tempfile
import time
import zlib
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tqcodec import bitstream as bs  # noqa: E402


def _with_header_crc(header: bytearray) -> bytes:
    struct.pack_into("<I", header, 48, zlib.crc32(bytes(header[:48])))
    return bytes(header)


def forged_stream(rng: np.random.Generator, fits: dict) -> bytes:
    """One stream: a CRC-valid header (usually fitting the decoder ``fits``, sometimes not)
    and CRC-valid packets with forged sequence numbers, frame counts and codes, then
    sometimes raw damage (bit flips, cuts, garbage, splices) that the CRCs catch."""
    f = dict(fits)
    if rng.random() < 0.25:  # a header the decoder must refuse, or a legal oddity
        key = rng.choice(["n_q", "codebook_size", "sample_rate", "hop_length", "channels", "fingerprint", "bits"])
        if key == "fingerprint":
            f["fingerprint"] = bytes(rng.integers(0, 256, 16, dtype=np.uint8))
        elif key == "bits":
            f["bits"] = int(rng.integers(int(np.ceil(np.log2(f["codebook_size"]))), 17))
        elif key == "channels":
            f["channels"] = int(rng.integers(1, 256))
        else:
            f[key] = int(rng.choice([1, 2, f[key] - 1, f[key] + 1, int(rng.integers(1, 1 << 16))]))
            if key == "codebook_size":
                f["bits"] = max(f["bits"], int(np.ceil(np.log2(max(2, f[key])))))
                f[key] = min(f[key], 1 << 16)
            if key in ("n_q", "channels"):
                f[key] = min(max(f[key], 1), 255)
    f["channels"] = f.get("channels", int(rng.choice([1, 1, 2])))
    f["frames_per_packet"] = int(rng.choice([1, 2, 7, 32, 255, int(rng.integers(1, 256))]))
    total = rng.choice(["none", "zero", "small", "huge", "exact"])
    n_packets = int(rng.choice([0, 1, 2, 3, 5, 10, int(rng.integers(0, 40))]))
    try:
        header = bs.StreamHeader(total_samples=None, **f)
    except bs.TQCError:
        header = bs.StreamHeader(total_samples=None, **fits, channels=1, frames_per_packet=32)
    counts = [int(rng.integers(1, header.frames_per_packet + 1)) if rng.random() < 0.5 else header.frames_per_packet
              for _ in range(n_packets)]
    if rng.random() < 0.8 and counts:  # most cases small: the point is the logic, not decoder throughput
        counts = [min(c, 8) for c in counts]
    frames = sum(counts)
    total_samples = {"none": None, "zero": 0, "small": int(rng.integers(0, max(1, frames) * header.hop_length + 1)),
                     "huge": int(rng.integers(1 << 40, 1 << 63)),
                     "exact": frames * header.hop_length}[str(total)]
    header = bs.StreamHeader(**{**header.__dict__, "total_samples": total_samples})
    seq = int(rng.integers(0, 3)) if rng.random() < 0.7 else int(rng.integers(0, 1 << 16))
    out = [bs.encode_header(header)]
    seed = bs.packet_crc_seed(header)
    for count in counts:
        codes = rng.integers(0, header.codebook_size, (count, header.codes_per_frame))
        if rng.random() < 0.05:
            codes[rng.integers(0, count), 0] = (1 << header.bits) - 1  # maybe ≥ codebook_size, CRC valid
        body = struct.pack("<2sHB", bs.SYNC, seq % (1 << 16), count) + bs.pack_codes(codes, header.bits)
        out.append(body + struct.pack("<I", zlib.crc32(body, seed)))
        r = rng.random()
        seq += 1 if r < 0.6 else int(rng.choice([0, -1, 2, 9, 32767, 32768, 65535, int(rng.integers(0, 1 << 16))]))
    data = bytearray(b"".join(out))
    if rng.random() < 0.15 and len(data) > 52:  # a forged header field, CRC recomputed
        h = bytearray(data[:48] + bytes(4))
        pos = int(rng.integers(6, 48))
        h[pos] = int(rng.integers(0, 256))
        data[:52] = _with_header_crc(h)
    for _ in range(int(rng.choice([0, 0, 0, 1, 3]))):  # raw damage
        kind = rng.integers(0, 4)
        if kind == 0 and len(data):
            i = int(rng.integers(0, len(data)))
            data[i] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1 and len(data) > 52:
            del data[int(rng.integers(52, len(data))):]
        elif kind == 2:
            i = int(rng.integers(min(52, len(data)), len(data) + 1))
            data[i:i] = bytes(rng.integers(0, 256, int(rng.integers(1, 40)), dtype=np.uint8))
        elif kind == 3 and len(data) > 60:
            a, b = sorted(rng.integers(52, len(data), 2).tolist())
            i = int(rng.integers(52, len(data)))
            data[i:i] = data[a:b]
    return bytes(data)


def case_args(rng: np.random.Generator) -> list[str]:
    args = ["--lenient"] if rng.random() < 0.6 else []
    if rng.random() < 0.2:
        args += ["--start", f"{float(rng.choice([0.0, 0.001, 0.05, 0.3, 2.0, 1e6, rng.random()])):g}"]
    return args


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def run_case(data: bytes, extra: list[str], ckpt: Path, work: Path, timeout: float) -> tuple[str, str, float]:
    """(outcome, detail, seconds): outcome is ok, refused, traceback or hang."""
    from tqcodec.__main__ import main
    src, out = work / "in.tqc", work / "out.wav"
    src.write_bytes(data)
    out.unlink(missing_ok=True)
    err = io.StringIO()
    t = time.perf_counter()
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["decode", *extra, str(src), str(out), "--ckpt", str(ckpt)])
    except Hang:
        return "hang", " ".join(extra), time.perf_counter() - t
    except BaseException as e:  # anything main() lets out is a traceback for the user
        return "traceback", f"{type(e).__name__}: {e}", time.perf_counter() - t
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    seconds = time.perf_counter() - t
    errors = [line for line in err.getvalue().splitlines() if line.startswith("error: ")]
    if code == 0 and not errors:
        return "ok", "", seconds
    if code == 2 and len(errors) == 1 and "Traceback" not in err.getvalue():
        kind = errors[0].rsplit("[", 1)[-1].rstrip("]") if errors[0].endswith("]") else errors[0].split(": ")[-1][:40]
        return "refused", kind, seconds
    return "traceback", f"exit {code}: {err.getvalue()[-300:]!r}", seconds


def tiny_checkpoint(folder: Path) -> Path:
    import torch
    from tqcodec.checkpoint import save_checkpoint
    from tqcodec.configs import get_config
    from tqcodec.model import TQCodec
    torch.manual_seed(0)
    path = folder / "tiny.pt"
    save_checkpoint(path, TQCodec(get_config("tiny")))
    return path


def decoder_fields(ckpt: Path) -> dict:
    """Header fields that fit the checkpoint's decoder."""
    from tqcodec.checkpoint import load_checkpoint
    model, meta = load_checkpoint(ckpt)
    cfg = model.config
    return dict(n_q=cfg.n_codebooks, codebook_size=cfg.codebook_size, bits=int(np.ceil(np.log2(cfg.codebook_size))),
                sample_rate=cfg.sample_rate, hop_length=cfg.hop_length,
                fingerprint=bytes.fromhex(meta["weights_sha256"])[:16])


def fuzz(cases: int, seed: int, ckpt: Path, work: Path, timeout: float, progress: bool = True) -> dict:
    from tqdm import tqdm
    fits = decoder_fields(ckpt)
    rng = np.random.default_rng(seed)
    tally, kinds, failures = Counter(), Counter(), []
    slowest = (0.0, -1)
    for i in tqdm(range(cases), desc="fuzz decode", unit="case", disable=not progress, mininterval=1.0):
        if not progress and i and i % 10_000 == 0:  # a line now and then in a log
            print(f"{i} cases: {dict(tally)}", file=sys.stderr, flush=True)
        data = forged_stream(rng, fits)
        extra = case_args(rng)
        outcome, detail, seconds = run_case(data, extra, ckpt, work, timeout)
        tally[outcome] += 1
        if outcome == "refused":
            kinds[detail] += 1
        if outcome in ("traceback", "hang"):
            failures.append((i, outcome, detail))
            (work / f"failure_{i}.tqc").write_bytes(data)
        slowest = max(slowest, (seconds, i))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"cases": cases, "tally": dict(tally), "kinds": dict(kinds.most_common()), "failures": failures,
            "slowest_s": slowest[0], "slowest_case": slowest[1], "peak_rss_mb": peak_mb}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ckpt", type=Path, help="decoder checkpoint (default: a fresh tiny one)")
    ap.add_argument("--case-timeout", type=float, default=30.0, help="seconds before a case counts as a hang")
    ap.add_argument("--work", type=Path, help="folder for the case files (default: a temp folder)")
    ap.add_argument("--chunk-frames", type=int, default=16,
                    help="decoder step size (the output does not depend on it; fuzz streams are short)")
    args = ap.parse_args(argv)
    import torch
    import tqcodec.__main__ as cli
    torch.set_num_threads(1)  # tiny decodes: one thread is several times faster than two on a shared machine
    cli.DECODE_CHUNK_FRAMES = args.chunk_frames
    with tempfile.TemporaryDirectory(prefix="fuzz_decode.") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        ckpt = args.ckpt or tiny_checkpoint(Path(tmp))
        t = time.perf_counter()
        r = fuzz(args.cases, args.seed, ckpt, work, args.case_timeout, progress=sys.stderr.isatty())
        wall = time.perf_counter() - t
    print(f"{r['cases']} cases in {wall:.0f} s ({1000 * wall / max(1, r['cases']):.1f} ms/case), seed {args.seed}")
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(r["tally"].items())))
    print("refusals: " + ", ".join(f"{k} {v}" for k, v in r["kinds"].items()))
    print(f"slowest case #{r['slowest_case']}: {r['slowest_s']:.2f} s; peak memory {r['peak_rss_mb']:.0f} MB")
    for i, outcome, detail in r["failures"][:20]:
        print(f"FAILED case #{i}: {outcome}: {detail}")
    return 1 if r["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())

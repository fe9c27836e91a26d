"""How much pre-roll a seek needs: SNR of seek-decoded audio against the continuous decode.

    python scripts/seek_preroll.py                      # shipped clip and checkpoint
    python scripts/seek_preroll.py --points 12 --window-ms 200

A seek decodes from the initial state, starting P frames before the target
(docs/bitstream.md, "Seeking"), and drops those P frames; the decoder's LSTM and
convolution state then differ from the continuous decode's, and the difference fades as
it decodes.  For each P this prints the SNR over the first ``--window-ms`` after the
target (mean and worst over the seek points), P decoded exactly (``exact``) and by the
seek rule, which starts at a packet boundary and so adds 0..frames_per_packet-1 frames.
It then names the smallest P within ``--tolerance-db`` of the plateau (the largest P's
mean), and the smallest P whose worst seek point, exact and by the rule, reaches
``--target-db`` (the default's criterion: the SNR keeps rising with P, as the LSTM's
memory of the missing past fades, so the plateau is only reached at the largest P).
The one SNR is ``tqcodec.metrics.snr`` (no delay search: a seek must be sample-exact).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PREROLLS = (0, 8, 16, 32, 64, 128, 256, 512)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--audio", type=Path, default=ROOT / "assets" / "chaos_god_clip.ogg")
    ap.add_argument("--ckpt", type=Path, default=ROOT / "checkpoints" / "tq64-balanced.pt")
    ap.add_argument("--points", type=int, default=8, help="seek points, spread over the clip")
    ap.add_argument("--window-ms", type=float, default=200.0, help="SNR window after the target")
    ap.add_argument("--prerolls", type=int, nargs="+", default=list(PREROLLS))
    ap.add_argument("--frames-per-packet", type=int, default=32)
    ap.add_argument("--tolerance-db", type=float, default=0.5)
    ap.add_argument("--target-db", type=float, default=40.0, help="worst-case SNR the default must reach")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)

    import torch
    from tqdm import tqdm
    from mobile_export.prune import prune
    from tqcodec.audio_io import load_audio
    from tqcodec.checkpoint import load_checkpoint
    from tqcodec.compress import decode_codes, encode_audio
    from tqcodec.concealment import seek_point
    from tqcodec.metrics import snr

    torch.set_num_threads(args.threads)
    model, meta = load_checkpoint(args.ckpt)
    cfg = model.config
    audio, _ = load_audio(args.audio, cfg.sample_rate)
    codes = encode_audio(model, audio).numpy()
    decoder = prune(model, meta).streaming(64)
    hop, frames = cfg.hop_length, codes.shape[-1]
    window = int(round(args.window_ms / 1000 * cfg.sample_rate / hop))
    seconds = frames * hop / cfg.sample_rate
    # Spread over the clip, off the packet grid, each with the largest pre-roll available.
    first = (max(args.prerolls) + args.frames_per_packet) * hop / cfg.sample_rate
    last = seconds - 2 * window * hop / cfg.sample_rate
    points = [first + (last - first) * (i + 0.37) / args.points for i in range(args.points)]
    continuous = decode_codes(decoder, codes[:, :, : max(int(p * cfg.sample_rate / hop) for p in points) + window])
    header = SimpleNamespace(sample_rate=cfg.sample_rate, hop_length=hop, frames_per_packet=args.frames_per_packet)

    def seek_snr(target: int, start: int) -> tuple[float, float]:
        """(SNR in dB, error level in dB relative to full scale) over the window."""
        out = decode_codes(decoder, codes[:, :, start: target + window])[:, (target - start) * hop:]
        ref = continuous[:, target * hop: (target + window) * hop]
        level = 10 * np.log10(max(float(np.mean((out - ref) ** 2)), 1e-20))
        return snr(ref, out, max_lag=0)[0], level

    rows = []
    for p in tqdm(args.prerolls, desc="pre-roll", disable=None):
        exact, rule, levels = [], [], []
        for t in points:
            f, k, _ = seek_point(header, t, p)
            exact.append(seek_snr(f, max(0, f - p))[0])
            value, level = seek_snr(f, k * args.frames_per_packet)
            rule.append(value)
            levels.append(level)
        rows.append((p, float(np.mean(exact)), float(np.min(exact)), float(np.mean(rule)), float(np.min(rule)),
                     float(np.max(levels))))

    print(f"{args.audio.name}, {args.ckpt.name} ({cfg.name}), {len(points)} seek points "
          f"({', '.join(f'{t:.2f}' for t in points)} s), SNR over the {args.window_ms:g} ms after the target, "
          f"against the continuous decode; seek rule at {args.frames_per_packet} frames per packet")
    print()
    print("| pre-roll frames | ms | SNR exact, mean (dB) | worst | SNR by the seek rule, mean (dB) | worst "
          "| loudest seek error, rule (dB FS) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for p, em, ew, rm, rw, lv in rows:
        print(f"| {p} | {1000 * p * hop / cfg.sample_rate:.0f} | {em:.2f} | {ew:.2f} | {rm:.2f} | {rw:.2f} "
              f"| {lv:.1f} |")
    plateau = rows[-1][1]
    choice = next(p for p, em, *_ in rows if em >= plateau - args.tolerance_db)
    print()
    print(f"plateau {plateau:.2f} dB (pre-roll {rows[-1][0]}); smallest pre-roll within {args.tolerance_db} dB: "
          f"{choice} frames ({1000 * choice * hop / cfg.sample_rate:.0f} ms)")
    target = next((p for p, _, ew, _, rw, _ in rows if min(ew, rw) >= args.target_db), None)
    print(f"smallest pre-roll whose worst seek point reaches {args.target_db:g} dB (exact and by the rule): "
          + ("none" if target is None else f"{target} frames ({1000 * target * hop / cfg.sample_rate:.0f} ms)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Three minutes of stereo music codes through each artifact, state never reset: SNR against the
float decoder per minute and per channel (error that builds up in the state shows as a falling row).

    python scripts/stereo_drift.py --ckpt checkpoints/tq64-balanced.pt build/*/tq64-int8-k16-stereo.*

The codes are the shipped clip's, encoded by the checkpoint, repeated to 3 minutes; the right
channel is the same music one minute later than the left, so the two rows never carry equal codes.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mobile_export.calibration import load_music  # noqa: E402
from mobile_export.runners import load_runner  # noqa: E402
from tqcodec.metrics import snr_db  # noqa: E402
from tqcodec.prune import load_pruned  # noqa: E402

MINUTES = 3


def stereo_codes(ckpt: Path, frames_per_minute: int) -> torch.Tensor:
    music = load_music(ckpt)
    seq = torch.cat([music.codes[0], music.codes[1]], dim=-1)
    seq = seq.repeat(1, math.ceil(MINUTES * frames_per_minute / seq.shape[-1]))[:, : MINUTES * frames_per_minute]
    return torch.stack([seq, seq.roll(frames_per_minute, dims=-1)])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ckpt", required=True, type=Path)
    p.add_argument("artifacts", nargs="+", type=Path)
    args = p.parse_args(argv)
    pruned = load_pruned(args.ckpt)
    rate = pruned.config.frame_rate
    hop = pruned.config.hop_length
    worst = math.inf
    per_k: dict[int, tuple] = {}  # K → (codes, float reference): artifacts of one K share both
    for path in args.artifacts:
        dec = load_runner(path)
        K = dec.chunk_frames
        minute = round(60 * rate) // K * K
        if K not in per_k:
            codes = stereo_codes(args.ckpt, minute)
            with torch.inference_mode():
                per_k[K] = codes, pruned.streaming(K, channels=2).decode(codes).numpy()
        codes, ref = per_k[K]
        out = dec.decode_channels(codes.numpy(), progress=f"{path.name}" if sys.stderr.isatty() else None)
        rows = []
        for ch, name in enumerate(("left", "right")):
            snrs = [snr_db(ref[ch, m * minute * hop:(m + 1) * minute * hop], out[ch, m * minute * hop:(m + 1) * minute * hop])
                    for m in range(MINUTES)]
            worst = min(worst, *snrs)
            rows.append(f"{name} " + " ".join(f"{s:6.2f}" for s in snrs))
        print(f"{path.name}: SNR vs float per minute (dB): " + "; ".join(rows))
    print(f"worst minute: {worst:.2f} dB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

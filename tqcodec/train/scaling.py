"""Held-out scores of checkpoints against the audio they were trained on: the model card's
scaling table (``python -m tqcodec.train.scaling CKPT [CKPT …] --val DIR [--compare]``).

Each checkpoint is scored exactly as ``tqcodec eval`` scores it (``evaluate.evaluate``: the
encoder, the pruned streaming decoder, stereo as two mono passes; LSD, LSD-L, LSD-H, SNR and
ViSQOL on the first ``--max-seconds`` of every held-out file). Audio hours seen come from the
checkpoint: a trainer-written one records them (``extra.hours_seen``, plus ``--base-hours`` for
a run started with ``--init-from``); for one without, pass ``--hours`` (the shipped
checkpoint: 1250 steps × 8 × 0.5 s = 1.39 h).
"""
from __future__ import annotations

import argparse
import json
import sys

from ..atomic import atomic_write
from ..evaluate import evaluate, reference_codec


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tqcodec.train.scaling", description=__doc__.split("\n\n")[0])
    p.add_argument("ckpt", nargs="+")
    p.add_argument("--val", required=True, help="folder of held-out audio (e.g. ~/.cache/tqcodec/data/val)")
    p.add_argument("--max-seconds", type=float, default=10.0, help="seconds scored per file (default: %(default)s)")
    p.add_argument("--hours", type=float, default=None,
                   help="audio hours seen, for checkpoints that do not record them (the shipped one: 1.39)")
    p.add_argument("--base-hours", type=float, default=0.0,
                   help="hours the --init-from checkpoint had seen, added to a run's own (default: %(default)s)")
    p.add_argument("--compare", action="store_true", help="also Opus, Vorbis, MP3, AAC (once, with the first checkpoint)")
    p.add_argument("--json", metavar="FILE", help="also write every score here")
    args = p.parse_args(argv)
    rows, dump = [], {}
    for i, path in enumerate(args.ckpt):
        encode_decode, cfg, meta = reference_codec(path)
        extra = meta.get("extra") or {}
        hours = extra["hours_seen"] + args.base_hours if "hours_seen" in extra else args.hours
        result = evaluate(args.val, encode_decode, cfg.name, cfg.kbps_stereo, compare=args.compare and i == 0,
                          max_seconds=args.max_seconds, visqol_seconds=args.max_seconds, progress=sys.stderr.isatty())
        dump[path] = {"step": meta.get("step"), "hours_seen": hours, **result.to_dict()}
        vq = result.visqol_means()
        for codec, (kbps, m) in result.means().items():
            name = f"`{path}` (step {meta.get('step')})" if codec == cfg.name else codec
            seen = f"{hours:.2f}" if codec == cfg.name and hours is not None else "–"
            rows.append(f"| {name} | {seen} | {kbps:.1f} | {m.lsd:.3f} | {m.lsd_l:.3f} | {m.lsd_h:.3f} | {m.snr:.2f} | "
                        f"{result.describe_visqol(vq[codec])} |")
        print(rows[-1] if not (args.compare and i == 0) else "\n".join(rows), flush=True)
    print("\n| checkpoint / codec | audio hours seen | kbps (stereo) | LSD | LSD-L | LSD-H | SNR dB | ViSQOL |\n"
          "|---|---|---|---|---|---|---|---|\n" + "\n".join(rows))
    if args.json:
        atomic_write(args.json, json.dumps(dump, indent=1).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""CLI: ``python -m tqcodec.train --config tq64-balanced --data DIR [--data DIR2 …] [options]``;
data-parallel: ``torchrun --nproc-per-node N -m tqcodec.train …`` (``--batch`` is the global batch).

Thin by design: parses flags into ``TrainOptions`` and runs ``Trainer``; every error a user
can cause (bad data, bad or mismatched resume state, unwritable run dir) ends as one
``error: …`` line and exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import sys

from ..audio_io import AudioError
from ..checkpoint import CheckpointError
from ..configs import CONFIGS
from .data import DataError
from .trainer import ResumeError, Trainer, TrainOptions


def build_parser() -> argparse.ArgumentParser:
    d = TrainOptions(config="", data=[])
    p = argparse.ArgumentParser(prog="python -m tqcodec.train", description="Train a TQCodec model.",
                                epilog="Redraw a run's curves with: python -m tqcodec.train.plot RUN_DIR")
    p.add_argument("--config", required=True, choices=list(CONFIGS), help="model configuration")
    p.add_argument("--data", required=True, action="append", metavar="DIR",
                   help="folder of audio files, searched recursively (repeatable), or one cache made by "
                        "python -m tqcodec.train.prepare (then --val-data/--val-fraction are the cache's)")
    p.add_argument("--cache", default=None, metavar="DIR",
                   help="where audio folders are decoded to (default: OUT/cache; unchanged files are reused)")
    p.add_argument("--out", default=d.out, help="run directory: last.pt, log.csv, generator.pt, loss.png "
                                                "(default: %(default)s)")
    p.add_argument("--steps", type=int, default=d.steps, help="train until this step (default: %(default)s)")
    p.add_argument("--batch", type=int, default=d.batch,
                   help="global batch, split evenly across torchrun processes (default: %(default)s)")
    p.add_argument("--segment-seconds", type=float, default=d.segment_seconds, help="(default: %(default)s)")
    p.add_argument("--lr", type=float, default=d.lr, help="AdamW learning rate, G and D (default: %(default)s)")
    p.add_argument("--lr-gamma", type=float, default=d.lr_gamma,
                   help="learning rate × this every step, G and D (DAC's; default: %(default)s)")
    p.add_argument("--precision", default=d.precision, choices=("fp32", "bf16"),
                   help="bf16: forward passes under bf16 autocast, fp32 losses and optimizer (default: %(default)s)")
    p.add_argument("--init-from", default=None, metavar="CKPT",
                   help="start a new run's generator from this checkpoint's weights (e.g. checkpoints/tq64-balanced.pt)")
    p.add_argument("--num-workers", type=int, default=d.num_workers,
                   help="DataLoader worker processes reading segments from the cache (default: %(default)s)")
    p.add_argument("--adv-start", type=int, default=d.adv_start,
                   help="first step with discriminators and adversarial/feature losses; the paper's recipe "
                        "is 0 (default), a later start is a deviation that speeds up short CPU runs")
    p.add_argument("--val-every", type=int, default=d.val_every,
                   help="validate and save generator.pt every N steps, 0: never (default: %(default)s)")
    p.add_argument("--save-every", type=int, default=d.save_every,
                   help="write last.pt every N steps (default: %(default)s)")
    p.add_argument("--val-fraction", type=float, default=d.val_fraction,
                   help="share of tracks held out for validation, 0: none (default: %(default)s)")
    p.add_argument("--val-data", action="append", default=[], metavar="DIR",
                   help="hold out exactly the audio files under DIR for validation (repeatable; may lie "
                        "inside a --data folder); replaces the --val-fraction split")
    p.add_argument("--val-seconds", type=float, default=d.val_seconds,
                   help="length of each validation excerpt (default: %(default)s)")
    p.add_argument("--val-per-track", type=int, default=d.val_per_track,
                   help="excerpts per held-out track (default: %(default)s)")
    p.add_argument("--seed", type=int, default=d.seed, help="(default: %(default)s)")
    p.add_argument("--device", default=d.device, choices=("auto", "cpu", "cuda"), help="(default: %(default)s)")
    p.add_argument("--threads", type=int, default=d.threads,
                   help="CPU threads for torch, 0: torch's default; on a CPU shared with other jobs 1 is "
                        "often fastest (default: %(default)s)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last.pt")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    opts = TrainOptions(**vars(args))
    try:
        opts.validate()
    except ValueError as e:
        parser.error(str(e))
    trainer = None
    try:
        trainer = Trainer(opts)
        trainer.fit()
    except (ResumeError, DataError, AudioError, CheckpointError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; last.pt holds the last saved step", file=sys.stderr)
        return 130
    finally:
        if trainer is not None:
            trainer.dist.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

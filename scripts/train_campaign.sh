#!/usr/bin/env bash
# The tq64-balanced training campaign, resumable from any machine that has this repository:
#   1. fetch the music if missing (scripts/get_training_music.sh),
#   2. prepare the decoded cache if missing (python -m tqcodec.train.prepare; unchanged files reused),
#   3. resume the run if RUN/last.pt exists, else start it from the committed generator
#      (checkpoints/tq64-balanced.pt) with fresh discriminators,
# with the full recipe: adversarial phase from the first step, lr 1e-4 × 0.999996^step,
# batch 8 × 0.5 s (the shipped checkpoint's; raise --batch on a GPU: it is the global batch,
# split across torchrun processes), validation on the held-out tracks every VAL_EVERY steps.
# generator.pt in RUN is the best held-out LSD so far; generator-latest.pt the latest.
#
# Usage: bash scripts/train_campaign.sh                 (foreground, this CPU, 1 thread)
#        NPROC=4 bash scripts/train_campaign.sh         (torchrun, 4 processes: e.g. a 4-GPU box)
# Environment: ROOT (default ~/.cache/tqcodec), RUN (default ROOT/runs/tq64b-campaign),
#   STEPS (default 400000), THREADS (default 1), PRECISION (fp32|bf16, default fp32),
#   BATCH (default 8), VAL_EVERY (default 50), NPROC (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${ROOT:-$HOME/.cache/tqcodec}
DATA=$ROOT/data
CACHE=$ROOT/cache
RUN=${RUN:-$ROOT/runs/tq64b-campaign}
STEPS=${STEPS:-400000}
THREADS=${THREADS:-1}
PRECISION=${PRECISION:-fp32}
BATCH=${BATCH:-8}
VAL_EVERY=${VAL_EVERY:-50}
NPROC=${NPROC:-1}

[ -f "$DATA/val/.list" ] || bash scripts/get_training_music.sh "$DATA"
[ -f "$CACHE/index.json" ] || python -m tqcodec.train.prepare --data "$DATA/extracted/usr/share" \
  --val-data "$DATA/val" --out "$CACHE"

if [ -f "$RUN/last.pt" ]; then
  start=(--resume)
else
  start=(--init-from checkpoints/tq64-balanced.pt)
fi
args=(--config tq64-balanced --data "$CACHE" --out "$RUN" --steps "$STEPS" --batch "$BATCH" --segment-seconds 0.5
      --lr 1e-4 --lr-gamma 0.999996 --adv-start 0 --precision "$PRECISION" --val-every "$VAL_EVERY"
      --save-every 10 --val-per-track 1 --val-seconds 5 --threads "$THREADS" "${start[@]}")
if [ "$NPROC" -gt 1 ]; then
  exec python -m torch.distributed.run --standalone --nproc-per-node "$NPROC" -m tqcodec.train "${args[@]}"
fi
exec python -m tqcodec.train "${args[@]}"

#!/usr/bin/env bash
# Seconds per training step of tq64-balanced, fp32 vs bf16 × 1/2 torch threads × 1/2 DDP
# processes, at the shipped recipe's global batch (8 × 0.5 s) with the adversarial phase on
# (the campaign's recipe). Each case trains STEPS steps from scratch on a prepared cache
# (python -m tqcodec.train.prepare) and reports the median of its steps after the first
# (which pays for allocation and warm-up). Prints one markdown table row per case.
# Usage: bash scripts/train_speed.sh CACHE [STEPS]   (default 4)
set -euo pipefail
CACHE=${1:?usage: bash scripts/train_speed.sh CACHE [STEPS]}
STEPS=${2:-4}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
COMMON=(--config tq64-balanced --data "$CACHE" --steps "$STEPS" --batch 8 --segment-seconds 0.5 --adv-start 0
        --val-every 0 --save-every 0 --no-progress)
median() {
  python3 -c 'import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))[1:]
print("%.2f" % statistics.median(float(r["seconds"]) for r in rows))' "$1/log.csv"
}
echo "| precision | threads per process | DDP processes | s/step (median of steps 2–$STEPS) |"
echo "|---|---|---|---|"
for precision in fp32 bf16; do
  for procs in 1 2; do
    for threads in 1 2; do
      out="$WORK/$precision-$procs-$threads"
      if [ "$procs" = 1 ]; then
        python -m tqcodec.train "${COMMON[@]}" --out "$out" --precision "$precision" --threads "$threads" >/dev/null
      else
        OMP_NUM_THREADS=$threads python -m torch.distributed.run --standalone --nproc-per-node "$procs" \
          -m tqcodec.train "${COMMON[@]}" --out "$out" --precision "$precision" --threads "$threads" >/dev/null 2>&1
      fi
      echo "| $precision | $threads | $procs | $(median "$out") |"
    done
  done
done

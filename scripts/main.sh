#!/usr/bin/env bash
# The main job on the shipped default checkpoint, end to end: MAC budget, prune, int8 export
# and verification for ExecuTorch, LiteRT, Core ML and ONNX Runtime, MACs counted from each artifact,
# latency benchmark, the deploy report (build/report/report.html), codec evaluation against
# classic codecs, and a summary table. Every step's time is recorded; the job goes on after a
# failed step and exits non-zero at the end if any step failed.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
CKPT=${CKPT:-checkpoints/tq64-balanced.pt}
OUT=${OUT:-build}
CALIB_SECONDS=${CALIB_SECONDS:-6}   # int8 ranges: first 6 s of each of the clip's 2 channels
mkdir -p "$OUT"
if [ ! -f "$CKPT" ]; then
  echo "WARNING: no checkpoint at $CKPT: using an UNTRAINED tq64 checkpoint;"
  echo "         every quality figure below describes untrained weights."
  CKPT=$OUT/tq64-untrained.pt
  $PY -m tqcodec.checkpoint init --config tq64 --out "$CKPT" || exit 1
fi
times=$OUT/main-job-steps.tsv
: > "$times"
status=0
step() {
  local title=$1; shift
  echo; echo "== $title"
  local t0=$SECONDS
  if "$@"; then r=ok; else r=FAILED; status=1; echo "!! failed: $*"; fi
  printf '%s\t%s\t%s\n' "$title" "$((SECONDS - t0))" "$r" >> "$times"
}
start=$SECONDS
step "MACs per second of audio (fvcore)" $PY -m profiling.macs --ckpt "$CKPT"
step "prune to a decoder-only file" $PY -m mobile_export.prune --ckpt "$CKPT" --out "$OUT/decoder.pt"
artifacts=()
for backend in executorch litert coreml onnx; do
  step "export + verify: $backend int8 stereo (both channels per call)" $PY -m mobile_export --backend "$backend" \
    --ckpt "$CKPT" --out "$OUT/$backend" --calibration-seconds "$CALIB_SECONDS"
done
for backend in executorch litert onnx; do  # the one-channel-per-call artifacts, for the stereo/mono ratio
  step "export + verify: $backend int8 mono" $PY -m mobile_export --backend "$backend" --channels 1 \
    --ckpt "$CKPT" --out "$OUT/$backend" --calibration-seconds "$CALIB_SECONDS"
done
for f in "$OUT"/executorch/*-int8-k16-stereo.pte "$OUT"/litert/*-int8-k16-stereo.tflite \
         "$OUT"/coreml/*-int8-k16-stereo.mlpackage "$OUT"/onnx/*-int8-k16-stereo.onnx; do
  [ -e "$f" ] && artifacts+=(--artifact "$f")
done
step "MACs counted from each artifact" $PY -m profiling.macs "${artifacts[@]}"
step "latency (K=16, 1 thread and all threads)" $PY -m profiling.latency --dir "$OUT" --ckpt "$CKPT" --chunks 16 \
  --threads 1,all --seconds 5 --json "$OUT/latency.json"
step "time per section, mono and stereo, with the runtime's peak (ExecuTorch int8, 1 thread)" \
  $PY -m profiling.time_split --ckpt "$CKPT" --channels 1,2 --no-progress
step "deploy report" $PY -m profiling.report --ckpt "$CKPT" --artifacts "$OUT" --out "$OUT/report" \
  --latency "$OUT/latency.json" --seconds 8
step "codec quality on the shipped clip vs classic codecs" \
  $PY -m tqcodec eval assets/chaos_god_clip.ogg --ckpt "$CKPT" --compare --max-seconds 12
echo
$PY -m profiling.summary --report "$OUT/report/summary.json" --steps "$times" --total $((SECONDS - start))
[ $status = 0 ] && echo "main job: all steps passed" || echo "main job: some steps FAILED (see above)"
exit $status

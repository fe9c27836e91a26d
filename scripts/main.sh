#!/usr/bin/env bash
# The main job on the shipped default checkpoint: MAC budget, prune, int8 export and
# verification for every backend, codec evaluation on real music. Results go to build/.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
CKPT=${CKPT:-checkpoints/tq64-balanced.pt}
mkdir -p build
if [ ! -f "$CKPT" ]; then
  echo "WARNING: no shipped checkpoint at $CKPT yet (training is open work): using an UNTRAINED tq64"
  echo "         checkpoint; every quality figure below describes untrained weights."
  CKPT=build/tq64-untrained.pt
  $PY -m tqcodec.checkpoint init --config tq64 --out "$CKPT" || exit 1
fi
status=0
step() { echo; echo "== $1"; shift; "$@" || { echo "!! failed: $*"; status=1; }; }
step "MACs per second of audio (fvcore)" $PY -m profiling.macs --ckpt "$CKPT"
step "prune" $PY -m mobile_export.prune --ckpt "$CKPT" --out build/decoder.pt
for backend in executorch litert coreml; do
  if $PY -c "import mobile_export.$backend" 2>/dev/null; then
    step "export + verify: $backend (int8)" $PY -m mobile_export.$backend --ckpt "$CKPT" --out build/$backend
  else
    echo; echo "== $backend: exporter not available in this checkout (skipped)"
  fi
done
step "codec quality on the shipped clip vs classic codecs" \
  $PY -m tqcodec eval assets/chaos_god_clip.ogg --ckpt "$CKPT" --compare --max-seconds 12
echo
[ $status = 0 ] && echo "main job: all steps passed" || echo "main job: some steps FAILED (see above)"
exit $status

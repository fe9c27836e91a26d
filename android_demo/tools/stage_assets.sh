#!/usr/bin/env bash
# Package a decoder and streams into the APK instead of pushing them (for devices where adb
# cannot write the app's folder): copies them to app/src/main/assets/{models,streams}/, which
# git ignores, then build as usual.
#   android_demo/tools/stage_assets.sh build/executorch/tq64-int8-k16.pte [song.tqc ...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ $# -ge 1 ]] || { sed -n 2,6p "$0" >&2; exit 2; }
pte="$1"
shift
manifest="${pte%.pte}.manifest.json"
for f in "$pte" "$manifest" "$@"; do
  [[ -f "$f" ]] || { echo "error: $f not found" >&2; exit 2; }
done
mkdir -p "$here/app/src/main/assets/models" "$here/app/src/main/assets/streams"
cp "$pte" "$manifest" "$here/app/src/main/assets/models/"
for s in "$@"; do
  cp "$s" "$here/app/src/main/assets/streams/"
done
ls -l "$here/app/src/main/assets/models" "$here/app/src/main/assets/streams"

#!/usr/bin/env bash
# Put a decoder and streams on the connected device, where the app looks for them (its external
# files folder; the app lists them when it comes to the foreground).
#   android_demo/tools/push.sh build/executorch/tq64-int8-k16.pte [song.tqc ...]
# The manifest with the same stem (tq64-int8-k16.manifest.json) goes with the .pte. Streams must
# come from the checkpoint the decoder was exported from (their fingerprint is checked).
set -euo pipefail
pkg=org.tqcodec.player
[[ $# -ge 1 ]] || { sed -n 2,6p "$0" >&2; exit 2; }
pte="$1"
shift
manifest="${pte%.pte}.manifest.json"
for f in "$pte" "$manifest" "$@"; do
  [[ -f "$f" ]] || { echo "error: $f not found" >&2; exit 2; }
done
command -v adb >/dev/null || { echo "error: adb not found (Android SDK platform-tools)" >&2; exit 2; }
base="/sdcard/Android/data/$pkg/files"
adb shell mkdir -p "$base/models" "$base/streams"
adb push "$pte" "$manifest" "$base/models/"
for s in "$@"; do
  adb push "$s" "$base/streams/"
done
echo "pushed to $base; open (or return to) the app to see them"

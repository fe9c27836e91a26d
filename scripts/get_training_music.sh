#!/usr/bin/env bash
# Fetches the real music TQCodec is trained on (Debian's game-music packages; nothing is
# committed) and lays out the split the model card describes:
#   DIR/extracted/usr/share   every track (pass as --data)
#   DIR/val                   the held-out files (pass as --val-data; symlinks into extracted/):
#                             whole tracks of several packages, including both stems of the
#                             source of the shipped demo clip (assets/chaos_god_clip.ogg), so
#                             that figures measured on the clip are on unseen music.
# xblast-tnt-musics ships raw module data (.raw), which the loader does not read: it is fetched
# (the list is the brief's) but contributes nothing.
#   DIR/licences/PACKAGE      each package's /usr/share/doc/PACKAGE/copyright (the model card's
#                             licence column)
# Idempotent: packages already downloaded are not fetched again.
# Usage: bash scripts/get_training_music.sh [DIR]   (default ~/.cache/tqcodec/data)
set -euo pipefail
DIR=${1:-$HOME/.cache/tqcodec/data}
PACKAGES=(drascula-music fretsonfire-songs-sectoid fretsonfire-songs-muldjord hyperrogue-music
          planetblupi-music-ogg singularity-music ufoai-music warzone2100-music xblast-tnt-musics asc-music)
mkdir -p "$DIR/debs" "$DIR/extracted" "$DIR/val" "$DIR/licences"
missing=()
for p in "${PACKAGES[@]}"; do ls "$DIR/debs/$p"_*.deb >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq || echo "warning: apt-get update failed; trying the package lists already here" >&2
  (cd "$DIR/debs" && for p in "${missing[@]}"; do
    apt-get download "$p" || { echo "error: apt-get download $p failed" >&2; exit 1; }
  done)
fi
for deb in "$DIR"/debs/*.deb; do
  stamp="$DIR/extracted/.$(basename "$deb").done"
  [ -f "$stamp" ] || { dpkg -x "$deb" "$DIR/extracted" && touch "$stamp"; }
done
# ufoai-music ships its tracks inside a Quake-style .pk3 (a zip): unpack the audio beside it.
pk3="$DIR/extracted/usr/share/games/ufoai/base/0music.pk3"
if [ -f "$pk3" ] && [ ! -f "$DIR/extracted/.ufoai-pk3.done" ]; then
  python3 - "$pk3" "$DIR/extracted/usr/share/games/ufoai/music-unpacked" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    z.extractall(sys.argv[2], [n for n in z.namelist() if n.lower().endswith((".ogg", ".wav", ".flac", ".mp3"))])
PY
  touch "$DIR/extracted/.ufoai-pk3.done"
fi
for p in "${PACKAGES[@]}"; do
  cp -f "$DIR/extracted/usr/share/doc/$p/copyright" "$DIR/licences/$p" 2>/dev/null \
    || echo "warning: $p has no copyright file" >&2
done
S=$(cd "$DIR/extracted/usr/share" && pwd)
held_out=(
  "chaos_god-song.ogg:games/fretsonfire/data/songs/muldjord/chaos_god/song.ogg"
  "chaos_god-guitar.ogg:games/fretsonfire/data/songs/muldjord/chaos_god/guitar.ogg"
  "feelings-song.ogg:games/fretsonfire/data/songs/sectoid/Feelings/song.ogg"
  "feelings-guitar.ogg:games/fretsonfire/data/songs/sectoid/Feelings/guitar.ogg"
  "drascula-track3.ogg:scummvm/drascula/audio/track3.ogg"
  "drascula-track20.ogg:scummvm/drascula/audio/track20.ogg"
)
HELD_OUT_LIST="$DIR/val/.list"
# One track from several of the other packages, chosen by name (the first in sorted order
# of the package's files), so the held-out set spans more than two composers.
for p in hyperrogue-music singularity-music planetblupi-music-ogg warzone2100-music; do
  first=$(dpkg -c "$DIR"/debs/"$p"_*.deb | grep '^-' | sed -E 's/^([^ ]+ +){5}//' \
          | grep -E '\.(ogg|opus|flac|wav|mp3)$' | sed 's#^\./usr/share/##' | sort | head -1 || true)
  [ -n "$first" ] && held_out+=("$p-$(basename "$first"):$first")
done
: > "$HELD_OUT_LIST"
for pair in "${held_out[@]}"; do
  src="$S/${pair#*:}"
  [ -f "$src" ] || { echo "error: $src missing from the packages" >&2; exit 1; }
  ln -sfn "$src" "$DIR/val/${pair%%:*}"
  echo "${pair%%:*} ${pair#*:}" >> "$HELD_OUT_LIST"
done
echo "training audio: $S ($(find -L "$S" -type f \( -name '*.ogg' -o -name '*.opus' -o -name '*.flac' -o -name '*.wav' -o -name '*.mp3' \) | wc -l) audio paths, symlinked duplicates counted once by the trainer)"
echo "held out:       $(cd "$DIR/val" && pwd) (${#held_out[@]} files, listed in $HELD_OUT_LIST)"

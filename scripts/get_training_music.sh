#!/usr/bin/env bash
# Fetches the real music the shipped checkpoint was trained on (Debian's game-music packages,
# OGG Vorbis, 44.1 kHz stereo; nothing is committed) and lays out the split its model card
# describes:
#   DIR/extracted/usr/share   every track (pass as --data)
#   DIR/val                   the held-out files (pass as --val-data; symlinks into extracted/):
#                             whole songs, all their stems, including the source of the
#                             shipped demo clip (assets/chaos_god_clip.ogg), so that figures
#                             measured on the clip are on unseen music.
# Usage: bash scripts/get_training_music.sh [DIR]   (default data/, git-ignored)
set -euo pipefail
DIR=${1:-data}
PACKAGES=(fretsonfire-songs-sectoid fretsonfire-songs-muldjord drascula-music fb-music-high)
mkdir -p "$DIR/debs" "$DIR/extracted" "$DIR/val"
(cd "$DIR/debs" && for p in "${PACKAGES[@]}"; do
  ls "$p"_*.deb >/dev/null 2>&1 || apt-get download "$p" || { echo "error: apt-get download $p failed" >&2; exit 1; }
done)
for deb in "$DIR"/debs/*.deb; do dpkg -x "$deb" "$DIR/extracted"; done
S=$(cd "$DIR/extracted/usr/share" && pwd)
held_out=(
  "chaos_god-song.ogg:games/fretsonfire/data/songs/muldjord/chaos_god/song.ogg"
  "chaos_god-guitar.ogg:games/fretsonfire/data/songs/muldjord/chaos_god/guitar.ogg"
  "feelings-song.ogg:games/fretsonfire/data/songs/sectoid/Feelings/song.ogg"
  "feelings-guitar.ogg:games/fretsonfire/data/songs/sectoid/Feelings/guitar.ogg"
  "drascula-track3.ogg:scummvm/drascula/audio/track3.ogg"
  "drascula-track20.ogg:scummvm/drascula/audio/track20.ogg"
)
for pair in "${held_out[@]}"; do
  src="$S/${pair#*:}"
  [ -f "$src" ] || { echo "error: $src missing from the packages" >&2; exit 1; }
  ln -sfn "$src" "$DIR/val/${pair%%:*}"
done
echo "training audio: $S ($(find -L "$S" -name '*.ogg' | wc -l) .ogg paths, symlinked duplicates counted once by the trainer)"
echo "held out:       $(cd "$DIR/val" && pwd) (${#held_out[@]} files)"

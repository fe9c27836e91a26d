#!/usr/bin/env bash
# Serve .tqc streams over HTTP for the app's "Play URL" (python3's http.server; no install).
#   android_demo/tools/serve.sh [DIR] [PORT]        # DIR defaults to ., PORT to 8000
# Over USB (no network needed):  adb reverse tcp:PORT tcp:PORT, then in the app
#   http://127.0.0.1:PORT/<name>.tqc
# Over Wi-Fi: BIND=0.0.0.0 android_demo/tools/serve.sh DIR, then http://<this host's LAN address>:PORT/<name>.tqc
# (anyone on that network can then read DIR: serve only the streams).
set -euo pipefail
dir="${1:-.}"
port="${2:-8000}"
bind="${BIND:-127.0.0.1}"
[[ -d "$dir" ]] || { echo "error: $dir is not a folder" >&2; exit 2; }
echo "serving $(cd "$dir" && pwd) on http://$bind:$port/ (Ctrl-C to stop)"
echo "phone over USB: adb reverse tcp:$port tcp:$port; then http://127.0.0.1:$port/<name>.tqc"
exec python3 -m http.server "$port" --bind "$bind" --directory "$dir"

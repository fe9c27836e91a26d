#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine with Python 3.11.
# torch is pinned and installed first: an unpinned torch pulls GBs of CUDA wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export PIP_DISABLE_PIP_VERSION_CHECK=1
$PY -m pip install -q "torch==2.13.0"
$PY -m pip install -q -e ".[all]"
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  need=()
  command -v javac >/dev/null || need+=(openjdk-17-jdk-headless)
  [ -e /usr/share/java/junit4.jar ] || need+=(junit4)
  # org.json for the Android core's JVM tests: Android's own parser, packaged by Debian
  [ -e /usr/share/java/com.android.json.jar ] || need+=(libandroid-json-java)
  # chromium: the test that renders the deploy report in a real browser and screenshots it
  for tool in opusenc:opus-tools oggenc:vorbis-tools lame:lame ffmpeg:ffmpeg chromium:chromium; do
    command -v "${tool%%:*}" >/dev/null || need+=("${tool##*:}")
  done
  if [ ${#need[@]} -gt 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null) \
      || echo "warning: could not install ${need[*]} (tests that need them report as skipped)"
  fi
fi

#!/usr/bin/env bash
# The test command: JVM tests of the app's plain-Java core, the Swift package of the iOS
# app's core (when a Swift toolchain is present), then the Python suite
# (tiny configs for unit tests, the real tq64 where size matters).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
bash android_demo/run_jvm_tests.sh
bash ios_demo/run_swift_tests.sh
$PY -m pytest -q "$@"

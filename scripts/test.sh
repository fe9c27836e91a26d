#!/usr/bin/env bash
# The test command: JVM tests of the app's plain-Java core, then the Python suite
# (tiny configs for unit tests, the real tq64 where size matters).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
bash android_demo/run_jvm_tests.sh
$PY -m pytest -q "$@"

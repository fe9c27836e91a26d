#!/usr/bin/env bash
# The test command: the whole suite (tiny configs for unit tests, the real tq64 where size matters).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
$PY -m pytest -q "$@"

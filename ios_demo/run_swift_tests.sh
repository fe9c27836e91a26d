#!/usr/bin/env bash
# Build and test the Swift package TQCStream (the iOS app's tested core) with SwiftPM.
# Without a Swift toolchain it says so plainly and exits 0: the check is skipped, not passed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
swift="$(command -v swift || true)"
[[ -z "$swift" && -x /opt/swift/usr/bin/swift ]] && swift=/opt/swift/usr/bin/swift
if [[ -z "$swift" ]]; then
  echo "SKIPPED: swift build/test of ios_demo/TQCStream (no Swift toolchain on this machine)"
  exit 0
fi
cd "$here/TQCStream"
"$swift" build
"$swift" test

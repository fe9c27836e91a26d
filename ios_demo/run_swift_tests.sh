#!/usr/bin/env bash
# Build and test the Swift package TQCStream (the iOS app's tested core) with SwiftPM, then
# (on Linux) type-check the app shell's Foundation-only files against it (typecheck_shell.sh).
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
if [[ "$(uname)" == Linux ]]; then
  bash "$here/typecheck_shell.sh" "$(dirname "$swift")/swiftc"
else
  echo "SKIPPED: typecheck_shell.sh (Linux only; on a Mac, xcodebuild checks the whole app)"
fi

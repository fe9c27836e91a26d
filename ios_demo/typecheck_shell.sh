#!/usr/bin/env bash
# Type-check the app shell's Foundation-only files (PlayerModel, PlaybackSession, StreamInput,
# AppResources) on Linux against the TQCStream module that `swift build` just made, with
# ShellCheck/AppleStandIns.swift standing in for the Apple-only types they use. It catches the
# shell calling the core wrongly (a renamed event, a changed initializer) without a Mac; the
# files that are mostly Apple API (AudioOutput, NowPlaying, ...) are left to xcodebuild.
# Usage: typecheck_shell.sh SWIFTC (after `swift build` in TQCStream/).
set -euo pipefail
swiftc=$1
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="$(cd "$here/TQCStream" && "$(dirname "$swiftc")/swift" build --show-bin-path)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for name in PlayerModel PlaybackSession StreamInput AppResources; do
  # Apple-only imports out; URLRequest lives in FoundationNetworking on Linux
  sed -e '/^import CoreML$/d' -e '/^import SwiftUI$/d' \
      -e 's/^import Foundation$/import Foundation\nimport FoundationNetworking/' \
      "$here/TQCPlayer/$name.swift" > "$work/$name.swift"
done
cp "$here/ShellCheck/AppleStandIns.swift" "$work/"
"$swiftc" -typecheck -I "$build/Modules" -Xcc -fmodule-map-file="$build/CTQCAtomics.build/module.modulemap" \
  "$work"/*.swift
echo "typecheck_shell: PlayerModel, PlaybackSession, StreamInput, AppResources type-check against TQCStream"

#!/usr/bin/env bash
# Put an exported Core ML decoder, its manifest and a sample stream where project.yml expects
# them: ios_demo/Artifacts/{TQCDecoder.mlpackage, TQCDecoder.manifest.json, sample.tqc}.
#
#   ios_demo/prepare_artifacts.sh build/coreml/tq64-int8-k16.manifest.json song.tqc
#
# The manifest names its .mlpackage ("artifact"), which must sit beside it. The stream must be
# encoded with the checkpoint the decoder was exported from: its header fingerprint must equal
# the first 16 bytes of the manifest's checkpoint_sha256, or the app refuses it
# (fingerprint_mismatch). TQC_ARTIFACTS_DIR overrides the destination (tests use it).
set -euo pipefail

if [ "$#" -ne 2 ]; then
    echo "usage: $0 MANIFEST.json SAMPLE.tqc" >&2
    exit 2
fi
manifest=$1
sample=$2
here=$(cd "$(dirname "$0")" && pwd)
dest=${TQC_ARTIFACTS_DIR:-$here/Artifacts}

package=$(python3 - "$manifest" "$sample" <<'PY'
import json, pathlib, sys

manifest, sample = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
m = json.loads(manifest.read_text())
if m.get("format") != "coreml":
    sys.exit(f"{manifest}: format {m.get('format')!r}, expected a Core ML export (python -m mobile_export.coreml)")
package = manifest.parent / m["artifact"]
if not package.is_dir():
    sys.exit(f"{package}: no such .mlpackage beside the manifest")
head = sample.read_bytes()[:52]
if len(head) < 52 or head[:4] != b"TQCS":
    sys.exit(f"{sample}: not a .tqc stream")
sha = (m.get("checkpoint_sha256") or "").lower()
if sha and head[32:48].hex() != sha[:32]:
    sys.exit(f"{sample}: encoded for weights {head[32:48].hex()}, the decoder is {sha[:32]} "
             "(encode it with the checkpoint the decoder was exported from)")
print(package)
PY
)

mkdir -p "$dest"
rm -rf "$dest/TQCDecoder.mlpackage"
cp -R "$package" "$dest/TQCDecoder.mlpackage"
cp "$manifest" "$dest/TQCDecoder.manifest.json"
cp "$sample" "$dest/sample.tqc"
echo "wrote $dest/TQCDecoder.mlpackage, TQCDecoder.manifest.json and sample.tqc"

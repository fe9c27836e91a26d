"""The manifest that travels with every artifact: the contract the demo apps read.

It names the artifact's precision, the config and checkpoint it came from, every input,
output and state tensor (name, shape, dtype, in call order), the MACs, and how the
artifact did in verification against the float reference.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

MANIFEST_VERSION = 1


def file_sha256(path) -> str:
    h = hashlib.sha256()
    p = Path(path)
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    for f in files:  # an .mlpackage is a folder: hash its files in a fixed order
        h.update(str(f.relative_to(p) if p.is_dir() else f.name).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def artifact_size(path) -> int:
    p = Path(path)
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() else p.stat().st_size


def build_manifest(*, backend: str, artifact: Path, precision: str, decoder, source_sha256: str,
                   gmacs_per_s: float, verification: dict, trained: bool, extra: dict | None = None) -> dict:
    cfg = decoder.config
    return {
        "manifest_version": MANIFEST_VERSION,
        "format": backend,
        "artifact": Path(artifact).name,
        "artifact_sha256": file_sha256(artifact),
        "artifact_bytes": artifact_size(artifact),
        "precision": precision,
        "config": cfg.name,
        "config_detail": cfg.to_dict(),
        "checkpoint_sha256": source_sha256,
        "checkpoint_trained": trained,
        "sample_rate": cfg.sample_rate,
        "hop": cfg.hop_length,
        "chunk_frames": decoder.chunk_frames,
        "samples_per_chunk": decoder.samples_per_chunk,
        "n_codebooks": cfg.n_codebooks,
        "codebook_size": cfg.codebook_size,
        "inputs": [decoder.input_spec().to_dict()] + [s.to_dict() for s in decoder.state_specs()],
        "outputs": [decoder.output_spec().to_dict()] + [
            {**s.to_dict(), "name": f"next_{s.name}"} for s in decoder.state_specs()],
        "state": [s.to_dict() for s in decoder.state_specs()],
        "state_init": "zeros",
        "call": "outputs = model(codes, *state); audio = outputs[0]; state = outputs[1:]",
        "gmacs_per_s": gmacs_per_s,
        "verification": verification,
        **(extra or {}),
    }


def write_manifest(path, manifest: dict) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o644 & ~umask)  # mkstemp makes 0600; a manifest is for sharing, like its artifact
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_manifest(path) -> dict:
    with open(path) as f:
        return json.load(f)

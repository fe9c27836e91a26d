"""Open an artifact safely: every check a file must pass before any runtime touches it.

Runtimes trust their input.  An edited ``.pte`` decodes silently wrong, a garbage one
aborts the process inside ExecuTorch's loader (SIGABRT, no Python exception), an edited
manifest gives half-length audio or tries to allocate terabytes of state.  So every runner,
``python -m tqcodec decode --artifact`` (through ``runners.load_runner``) and the
profilers open artifacts through ``open_artifact``, which checks, in this order and with
one ``ArtifactError`` line naming the file for the first failure:

1. the artifact exists and its manifest is found, readable and JSON;
2. the manifest validates against ``manifest.schema.json`` (every key, type and bound);
3. the manifest agrees with itself and with its ``config_detail``: hop, sample rate,
   codebooks, samples per chunk, and every tensor shape equal to what the config's
   streaming decoder has (so no shape can ask for more memory than the model needs);
4. the manifest describes this file (its name and format match);
5. the file's size equals ``artifact_bytes``;
6. the format's header is what the runtime expects (ExecuTorch's flatbuffer identifier
   and extended header, LiteRT's ``TFL3``, an ONNX protobuf, an ``.mlpackage`` folder);
7. its SHA-256 equals ``artifact_sha256`` (an edited artifact is refused).
"""
from __future__ import annotations

import functools
import json
import struct
from dataclasses import dataclass
from pathlib import Path

import torch

from tqcodec.configs import CONFIGS, CodecConfig
from tqcodec.modules.conv import remove_weight_norm
from tqcodec.modules.seanet import SEANetDecoder
from tqcodec.streaming import StreamingDecoder

from .errors import ArtifactError
from .manifest import artifact_size, file_sha256, read_manifest, validate_manifest

FORMAT_SUFFIX = {"executorch-xnnpack": ".pte", "litert": ".tflite", "coreml": ".mlpackage", "onnxruntime": ".onnx"}
MAX_CHUNK_FRAMES = 256
# A config_detail that is not a shipped config is still bounded before a decoder is built from it.
CONFIG_BOUNDS = {"latent_dim": 4096, "n_codebooks": 64, "codebook_size": 65536, "codebook_dim": 4096}
SEANET_BOUNDS = {"n_filters": 1024, "n_residual_layers": 8, "lstm_layers": 8, "kernel_size": 31,
                 "last_kernel_size": 31, "residual_kernel_size": 31, "dilation_base": 8, "compress": 8}


@dataclass(frozen=True)
class CheckedArtifact:
    """An artifact that passed every check, with its manifest."""

    path: Path
    manifest: dict
    manifest_path: Path | None

    @property
    def format(self) -> str:
        return self.manifest["format"]


def manifest_path(artifact) -> Path:
    """``<artifact>.manifest.json``, ``<stem>.manifest.json`` or ``manifest.json`` beside the artifact."""
    p = Path(artifact)
    for cand in (p.with_name(p.name + ".manifest.json"), p.with_suffix(".manifest.json"), p.parent / "manifest.json"):
        if cand.is_file():
            return cand
    raise ArtifactError(f"{p}: no manifest found beside the artifact (expected {p.with_suffix('').name}"
                        ".manifest.json or manifest.json)")


def open_artifact(artifact, manifest: dict | str | Path | None = None, verify_sha256: bool = True) -> CheckedArtifact:
    """Check ``artifact`` against its manifest (dict, path, or None: found beside it); see the module doc."""
    path = Path(artifact)
    if not path.exists():
        raise ArtifactError(f"{path}: no such artifact")
    mpath = None
    if not isinstance(manifest, dict):
        mpath = Path(manifest) if manifest is not None else manifest_path(path)
        manifest = read_manifest(mpath)
    source = str(mpath or f"manifest of {path}")
    validate_manifest(manifest, source)
    check_consistency(manifest, source)
    if manifest["artifact"] != path.name:
        raise ArtifactError(f"{source}: describes {manifest['artifact']!r}, not {path.name!r}")
    expected_suffix = FORMAT_SUFFIX[manifest["format"]]
    if path.suffix.lower() != expected_suffix:
        raise ArtifactError(f"{path}: a {manifest['format']} manifest describes a {expected_suffix} file")
    size = artifact_size(path)
    if size != manifest["artifact_bytes"]:
        raise ArtifactError(f"{path}: {size:,} bytes, the manifest says {manifest['artifact_bytes']:,} "
                            "(truncated, appended to, or another file)")
    check_header(path, manifest["format"])
    if verify_sha256:
        sha = file_sha256(path)
        if sha != manifest["artifact_sha256"]:
            raise ArtifactError(f"{path}: SHA-256 {sha[:16]}… differs from the manifest's "
                                f"{manifest['artifact_sha256'][:16]}… (the file was edited or replaced)")
    return CheckedArtifact(path, manifest, mpath)


# -- the manifest against its config --------------------------------------------------------------------
def check_consistency(m: dict, source: str) -> None:
    """The manifest's numbers and shapes against its own ``config_detail`` (schema already checked)."""
    cfg = _config(m.get("config_detail"), source)
    expect = {"config": cfg.name, "sample_rate": cfg.sample_rate, "hop": cfg.hop_length,
              "n_codebooks": cfg.n_codebooks, "codebook_size": cfg.codebook_size,
              "samples_per_chunk": m["chunk_frames"] * cfg.hop_length}
    for key, want in expect.items():
        if m[key] != want:
            raise ArtifactError(f"{source}: {key} is {m[key]!r}, its config_detail ({cfg.name}) gives {want!r}")
    specs = _expected_tensors(json.dumps(cfg.to_dict(), sort_keys=True), m["chunk_frames"], m["channels"])
    for group in ("inputs", "outputs", "state"):
        got = [(t["name"], list(t["shape"]), t["dtype"]) for t in m[group]]
        want = specs[group]
        if got != want:
            first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
            have = got[first] if first < len(got) else "nothing"
            need = want[first] if first < len(want) else "nothing"
            raise ArtifactError(f"{source}: {group}[{first}] is {have}, the {m['channels']}-channel {cfg.name} "
                                f"decoder at {m['chunk_frames']} frames per chunk has {need}")


def _config(detail, source: str):
    if not isinstance(detail, dict):
        raise ArtifactError(f"{source}: config_detail is not an object")
    named = CONFIGS.get(detail.get("name")) if isinstance(detail.get("name"), str) else None
    if named is not None and json.loads(json.dumps(named.to_dict())) != json.loads(json.dumps(detail)):
        raise ArtifactError(f"{source}: config_detail differs from the {detail['name']} config")
    if named is None:
        _check_bounds(detail, source)
    try:
        cfg = CodecConfig.from_dict(detail)
    except (TypeError, ValueError, KeyError) as e:
        raise ArtifactError(f"{source}: config_detail is not a codec config ({e})") from None
    if cfg.subband:
        raise ArtifactError(f"{source}: config_detail is a subband config; artifacts are full-band decoders")
    return cfg


def _check_bounds(detail: dict, source: str) -> None:
    def bounded(where: str, value, limit: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= limit:
            raise ArtifactError(f"{source}: config_detail.{where} is {value!r}, expected an integer in 1..{limit}")

    for key, limit in CONFIG_BOUNDS.items():
        bounded(key, detail.get(key), limit)
    for part in ("encoder", "decoder"):
        sub = detail.get(part)
        if not isinstance(sub, dict):
            raise ArtifactError(f"{source}: config_detail.{part} is not an object")
        for key, limit in SEANET_BOUNDS.items():
            bounded(f"{part}.{key}", sub.get(key), limit)
    ratios = detail.get("ratios")
    if not isinstance(ratios, list) or not 1 <= len(ratios) <= 8:
        raise ArtifactError(f"{source}: config_detail.ratios is {ratios!r}, expected 1 to 8 integers")
    for i, r in enumerate(ratios):
        bounded(f"ratios[{i}]", r, 16)


@functools.lru_cache(maxsize=8)
def _expected_tensors(config_json: str, chunk_frames: int, channels: int) -> dict[str, list]:
    """inputs/outputs/state of the config's streaming decoder (weights zero: only shapes matter)."""
    cfg = CodecConfig.from_dict(json.loads(config_json))
    dec = SEANetDecoder(cfg.decoder, cfg.latent_dim, cfg.ratios)
    remove_weight_norm(dec)
    tables = torch.zeros(cfg.n_codebooks, cfg.codebook_size, cfg.latent_dim)
    d = StreamingDecoder(cfg, tables, dec, chunk_frames, channels)
    as_tuple = lambda s: (s.name, list(s.shape), s.dtype)  # noqa: E731
    state = [as_tuple(s) for s in d.state_specs()]
    return {"inputs": [as_tuple(d.input_spec())] + state,
            "outputs": [as_tuple(d.output_spec())] + [(f"next_{n}", shape, dt) for n, shape, dt in state],
            "state": state}


# -- the file's own header ------------------------------------------------------------------------------
def check_header(path: Path, fmt: str) -> None:
    """Refuse a file whose first bytes are not the format the manifest names."""
    if fmt == "coreml":
        if not path.is_dir() or not (path / "Manifest.json").is_file():
            raise ArtifactError(f"{path}: not an .mlpackage (a folder with Manifest.json)")
        return
    if not path.is_file():
        raise ArtifactError(f"{path}: not a file")
    with open(path, "rb") as f:
        head = f.read(64)
    size = path.stat().st_size
    if fmt == "executorch-xnnpack":
        check_pte_header(head, size, path)
    elif fmt == "litert":
        check_tflite_header(head, size, path)
    elif fmt == "onnxruntime":
        # an ONNX model is a protobuf ModelProto; field 1 (ir_version, varint) comes first when written by onnx
        if len(head) < 2 or head[0] != 0x08:
            raise ArtifactError(f"{path}: offset 0: expected an ONNX ModelProto (ir_version field, byte 0x08), "
                                f"found {head[:1]!r}")


def check_tflite_header(head: bytes, size: int, path: Path) -> None:
    """LiteRT ``.tflite``: flatbuffer root offset inside the file and the identifier ``TFL3`` at offset 4."""
    if len(head) < 8 or head[4:8] != b"TFL3":
        raise ArtifactError(f"{path}: offset 4: expected the TFLite flatbuffer identifier b'TFL3', "
                            f"found {head[4:8]!r}")
    root = struct.unpack_from("<I", head, 0)[0]
    if not 8 <= root < size:
        raise ArtifactError(f"{path}: offset 0: flatbuffer root offset {root} outside the file ({size} bytes)")


PTE_IDENTIFIER = b"ET12"  # executorch/schema/program.fbs: file_identifier "ET12"
PTE_EXTENDED_MAGIC = b"eh00"  # executorch/schema/extended_header.h, at offset 8


def check_pte_header(head: bytes, size: int, path: Path) -> None:
    """ExecuTorch ``.pte``: flatbuffer root offset, ``ET12`` at 4, extended header ``eh00`` at 8
    (header length, program size, segment base offset, segment data size; little-endian), every
    offset inside the file.  A file that fails this never reaches the loader, which aborts on garbage."""
    if len(head) < 40:
        raise ArtifactError(f"{path}: {len(head)} bytes is too short for an ExecuTorch program")
    if head[4:8] != PTE_IDENTIFIER:
        raise ArtifactError(f"{path}: offset 4: expected the ExecuTorch identifier {PTE_IDENTIFIER!r}, "
                            f"found {head[4:8]!r}")
    root = struct.unpack_from("<I", head, 0)[0]
    if head[8:12] != PTE_EXTENDED_MAGIC:
        raise ArtifactError(f"{path}: offset 8: expected the extended header {PTE_EXTENDED_MAGIC!r}, "
                            f"found {head[8:12]!r}")
    length, program_size, segment_base = struct.unpack_from("<IQQ", head, 12)
    if not 24 <= length <= 56:
        raise ArtifactError(f"{path}: offset 12: extended header length {length}, expected 24..56")
    if not root < program_size <= size:
        raise ArtifactError(f"{path}: offset 16: program size {program_size} (root at {root}) does not fit "
                            f"the file ({size} bytes)")
    if segment_base and not program_size <= segment_base <= size:
        raise ArtifactError(f"{path}: offset 24: segment base {segment_base} outside {program_size}..{size}")
    if length >= 32:
        segment_size = struct.unpack_from("<Q", head, 32)[0]
        if segment_base and segment_base + segment_size > size:
            raise ArtifactError(f"{path}: offset 32: segments end at {segment_base + segment_size}, past the "
                                f"file's {size} bytes")

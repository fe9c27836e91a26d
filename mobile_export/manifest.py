"""The manifest that travels with every artifact: the contract the demo apps read, typed.

It names the artifact's precision, the config and checkpoint it came from, every input,
output and state tensor (name, shape, dtype, in call order), the MACs, and how the
artifact did in verification against the float reference.

The typed part is the dataclasses below: the keys every backend writes, under the names the
Java and Swift readers parse (``sample_rate``, ``hop``, ``chunk_frames``, ``inputs``,
``state``, ``artifact_sha256``, …).  ``manifest.schema.json`` beside this file is generated
from them by ``manifest_schema()`` (``python -m mobile_export.manifest --schema`` prints it;
a test regenerates it and compares), and every manifest an exporter writes is validated
against it before it is written.  A backend adds its own detail (delegation, signature
names, MIL op counts, …) as further keys; the schema allows them and types only the core.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import jsonschema

from tqcodec.atomic import atomic_write

from .errors import ArtifactError

MANIFEST_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("manifest.schema.json")
FORMATS = ("executorch-xnnpack", "litert", "coreml", "onnxruntime")
SHA256_PATTERN = "^[0-9a-f]{64}$"
MAX_DIM = 1 << 16  # no tensor dimension of any shipped config comes near this
TENSOR_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]{0,63}$"


def _meta(**schema) -> dict:
    """Extra JSON Schema keywords for one field (pattern, bounds, description)."""
    return {"schema": schema}


@dataclass
class TensorEntry:
    """One input, output or state tensor, in call order."""

    name: str = field(metadata=_meta(pattern=TENSOR_NAME_PATTERN))
    shape: list[int] = field(metadata=_meta(minItems=1, maxItems=4, items={"type": "integer", "minimum": 1,
                                                                           "maximum": MAX_DIM}))
    dtype: Literal["int32", "float32", "float16", "int8"]


@dataclass
class Verification:
    """The artifact run by its own runtime against the float decoder, chunk by chunk, state carried.

    ``passed`` is true exactly when ``failures`` is empty; ``failures`` lists every check of
    the export that failed (thresholds, and backend checks such as delegation or size).
    """

    snr_db_vs_float: float
    lsd_delta: float
    max_abs_err: float
    lsd_float_vs_music: float
    lsd_artifact_vs_music: float
    seconds_of_music: float = field(metadata=_meta(minimum=0))
    chunks: int = field(metadata=_meta(minimum=0))
    thresholds: dict[str, float]
    passed: bool
    failures: list[str]
    snr_db_by_quarter: list[float] = field(metadata=_meta(minItems=4, maxItems=4))
    runtime: str
    method: str


@dataclass
class Quantization:
    """What runs in int8 (fp32/fp16 builds: ``scheme`` says so and the shares are 0)."""

    scheme: str
    keep_float: list[str]
    int8_mac_share: float = field(metadata=_meta(minimum=0, maximum=1))
    calibration_seconds_per_excerpt: Optional[float]
    sensitivity: Optional[dict]


@dataclass
class Calibration:
    """The real music int8 ranges were fitted on and the artifact was verified on."""

    sources: list[str]
    label: str
    seconds_verified: float = field(metadata=_meta(minimum=0))
    state: Literal["carried chunk by chunk from zeros"]


@dataclass
class Manifest:
    """Every key every backend writes; the first block is what the apps read."""

    manifest_version: Literal[1]
    format: Literal["executorch-xnnpack", "litert", "coreml", "onnxruntime"]
    artifact: str = field(metadata=_meta(pattern=r"^[^/\\]+$", minLength=1))
    artifact_sha256: str = field(metadata=_meta(pattern=SHA256_PATTERN))
    artifact_bytes: int = field(metadata=_meta(minimum=1))
    precision: Literal["int8", "fp16", "fp32"]
    config: str
    config_detail: dict
    checkpoint_sha256: str = field(metadata=_meta(pattern="^([0-9a-fA-F]{64})?$"))  # readers take either case
    checkpoint_trained: bool
    sample_rate: int = field(metadata=_meta(minimum=8000, maximum=192000))
    hop: int = field(metadata=_meta(minimum=1, maximum=MAX_DIM))
    chunk_frames: int = field(metadata=_meta(minimum=1, maximum=256))
    samples_per_chunk: int = field(metadata=_meta(minimum=1, maximum=MAX_DIM * 256))
    channels: int = field(metadata=_meta(minimum=1, maximum=2, description=(
        "channels one call decodes: the first dimension of codes [C, n_q, K], audio [C, 1, samples_per_chunk] "
        "and every state tensor")))
    channel_layout: Literal["planar"] = field(metadata=_meta(description=(
        "planar: channel c is row c of codes, audio and every state tensor (0 left, 1 right); "
        "each channel keeps its own state and the channels never mix")))
    n_codebooks: int = field(metadata=_meta(minimum=1, maximum=64))
    codebook_size: int = field(metadata=_meta(minimum=2, maximum=65536))
    inputs: list[TensorEntry]
    outputs: list[TensorEntry]
    state: list[TensorEntry]
    state_init: Literal["zeros"]
    call: str
    gmacs_per_s: float = field(metadata=_meta(minimum=0, description="GMAC per second of audio per channel"))
    verification: Verification
    quantization: Quantization
    calibration: Calibration
    toolchain: dict[str, str]


# -- JSON Schema from the dataclasses -------------------------------------------------------------
def _type_schema(tp) -> dict:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return {"$ref": f"#/$defs/{tp.__name__}"}
    if origin is Literal:
        return {"enum": list(args)}
    if origin is typing.Union:
        inner = [a for a in args if a is not type(None)]
        return {"anyOf": [_type_schema(inner[0]), {"type": "null"}]}
    if origin is list:
        return {"type": "array", "items": _type_schema(args[0])}
    if origin is dict:
        return {"type": "object", "additionalProperties": _type_schema(args[1])}
    simple = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object"}
    return {"type": simple[tp]}


def _object_schema(cls, closed: bool) -> dict:
    hints = typing.get_type_hints(cls)
    props = {}
    for f in dataclasses.fields(cls):
        s = _type_schema(hints[f.name])
        extra = dict(f.metadata.get("schema", {}))
        if "items" in extra and s.get("type") == "array":
            s["items"] = {**s["items"], **extra.pop("items")}
        props[f.name] = {**s, **extra}
    doc = (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
    return {"type": "object", "description": doc, "properties": props,
            "required": [f.name for f in dataclasses.fields(cls)], "additionalProperties": not closed}


def manifest_schema() -> dict:
    """The JSON Schema of ``Manifest`` (the committed ``manifest.schema.json``)."""
    top = _object_schema(Manifest, closed=False)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/tqcodec/tqcodec-mobile/mobile_export/manifest.schema.json",
        "title": "TQCodec artifact manifest",
        **top,
        "$defs": {c.__name__: _object_schema(c, closed=c is TensorEntry)
                  for c in (TensorEntry, Verification, Quantization, Calibration)},
    }


def schema_problems(manifest) -> list[str]:
    """Every place ``manifest`` breaks the committed schema, as 'key.path: what is wrong'."""
    schema = json.loads(SCHEMA_PATH.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for err in sorted(validator.iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path))):
        where = ".".join(map(str, err.absolute_path)) or "(top level)"
        problems.append(f"{where}: {err.message[:200]}")
    return problems


def validate_manifest(manifest, source="manifest") -> None:
    """Raise ``ArtifactError`` naming ``source`` and the first problems if the schema is broken."""
    problems = schema_problems(manifest)
    if problems:
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        raise ArtifactError(f"{source}: not a valid manifest: {'; '.join(problems[:3])}{more}")


# -- files ---------------------------------------------------------------------------------------------
def file_sha256(path) -> str:
    h = hashlib.sha256()
    p = Path(path)
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    for f in files:  # an .mlpackage is a folder: hash its files in a fixed order
        h.update(str(f.relative_to(p) if p.is_dir() else f.name).encode())
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
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
        "channels": decoder.channels,
        "channel_layout": decoder.channel_layout(),
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


def write_manifest(path, manifest: dict, validate: bool = False) -> None:
    """Write atomically (readers never see half a manifest); ``validate``: check the schema first."""
    if validate:
        validate_manifest(manifest, f"{path} (about to be written)")
    atomic_write(path, (json.dumps(manifest, indent=2) + "\n").encode())


def read_manifest(path) -> dict:
    """The JSON object in ``path``; anything else is an ``ArtifactError`` naming the file."""
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as e:
        raise ArtifactError(f"{path}: cannot read the manifest ({e.strerror or e})") from None
    try:
        data = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        where = f" at line {e.lineno} column {e.colno}" if isinstance(e, json.JSONDecodeError) else \
            f" at byte {e.start}"
        raise ArtifactError(f"{path}: not a JSON manifest{where}: {getattr(e, 'msg', None) or e.reason}") from None
    if not isinstance(data, dict):
        raise ArtifactError(f"{path}: a manifest is a JSON object, found {type(data).__name__}")
    return data


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m mobile_export.manifest", description=__doc__.split("\n")[0])
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--schema", action="store_true", help="print the JSON Schema generated from the dataclasses")
    g.add_argument("--write-schema", action="store_true", help=f"write it to {SCHEMA_PATH.name}")
    g.add_argument("--check", nargs="+", metavar="MANIFEST", help="validate manifests against the schema")
    args = p.parse_args(argv)
    text = json.dumps(manifest_schema(), indent=2, ensure_ascii=False) + "\n"
    if args.schema:
        print(text, end="")
    elif args.write_schema:
        atomic_write(SCHEMA_PATH, text.encode())
        print(f"wrote {SCHEMA_PATH}")
    else:
        bad = 0
        for m in args.check:
            try:
                problems = schema_problems(read_manifest(m))
            except ArtifactError as e:
                problems = [str(e)]
            bad += bool(problems)
            print(f"{m}: " + ("valid" if not problems else "INVALID\n  " + "\n  ".join(problems)))
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The typed manifest: the committed JSON Schema is the one the dataclasses generate, exporters'
manifests validate against it, and the sample manifests the Java and Swift tests read are
checked against it too (they are shaped like the exporter's, with values made up)."""
import json
import re
from pathlib import Path

import pytest

from mobile_export import manifest as mf
from mobile_export.errors import ArtifactError

ROOT = Path(__file__).resolve().parents[1]
JAVA_TEST = ROOT / "android_demo/tqcstream/src/test/java/org/tqcodec/stream/player/ManifestTest.java"
SWIFT_TEST = ROOT / "ios_demo/TQCStream/Tests/TQCStreamTests/ManifestTests.swift"


def test_committed_schema_is_generated_from_the_dataclasses():
    """Regenerate and compare: a field added to the dataclasses without `--write-schema` fails here."""
    committed = json.loads(mf.SCHEMA_PATH.read_text())
    assert committed == mf.manifest_schema(), "run: python -m mobile_export.manifest --write-schema"


def test_schema_requires_what_the_apps_read():
    schema = mf.manifest_schema()
    for key in ("sample_rate", "hop", "chunk_frames", "samples_per_chunk", "n_codebooks", "codebook_size",
                "inputs", "outputs", "state", "state_init", "artifact", "artifact_sha256", "checkpoint_sha256",
                "format", "precision", "config"):
        assert key in schema["required"], key
    tensor = schema["$defs"]["TensorEntry"]
    assert tensor["required"] == ["name", "shape", "dtype"] and tensor["additionalProperties"] is False


def _java_example() -> dict:
    src = JAVA_TEST.read_text()
    block = src[src.index("static final String EXAMPLE ="):]
    block = block[:block.index('"}\\n";') + 6]
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', block)
    return json.loads("".join(p.encode().decode("unicode_escape") for p in parts))


def _swift_example() -> dict:
    src = SWIFT_TEST.read_text()
    start = src.index('static let example = """') + len('static let example = """')
    return json.loads(src[start:src.index('"""', start)])


# What the apps' sample manifests lack against the schema (they are read-only here; the apps'
# readers parse only the keys they need, so the samples carry those and made-up values).
SAMPLE_DIFFERENCES = [
    "(top level): 'quantization' is a required property",
    "(top level): 'calibration' is a required property",
    "(top level): 'toolchain' is a required property",
    "artifact_sha256: '00' does not match '^[0-9a-f]{64}$'",
] + [f"verification: '{k}' is a required property" for k in (
    "lsd_delta", "max_abs_err", "lsd_float_vs_music", "lsd_artifact_vs_music", "seconds_of_music", "thresholds",
    "passed", "failures", "snr_db_by_quarter", "runtime", "method")]


@pytest.mark.parametrize("example", [_java_example, _swift_example], ids=["java", "swift"])
def test_app_sample_manifests_against_the_schema(example):
    """Every key the apps read is present and typed as the schema says; what differs is exactly the
    exporter-only sections and made-up values listed above (reported, not edited: the samples are
    owned by the app tests)."""
    m = example()
    assert mf.schema_problems(m) == SAMPLE_DIFFERENCES
    app_keys = {k: m[k] for k in ("sample_rate", "hop", "chunk_frames", "samples_per_chunk", "n_codebooks",
                                  "codebook_size", "inputs", "outputs", "state", "state_init")}
    schema = mf.manifest_schema()
    for key in app_keys:
        assert not [p for p in mf.schema_problems(m) if p.startswith(f"{key}:")], key
        assert key in schema["properties"]


def test_invalid_manifests_are_named(tmp_path):
    bad = tmp_path / "x.manifest.json"
    bad.write_text("{ not json")
    with pytest.raises(ArtifactError, match=r"x.manifest.json: not a JSON manifest at line 1"):
        mf.read_manifest(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(ArtifactError, match="a manifest is a JSON object"):
        mf.read_manifest(bad)
    with pytest.raises(ArtifactError, match=r"m.json: not a valid manifest: \(top level\): 'manifest_version'"):
        mf.validate_manifest({}, "m.json")


def test_cli_checks_files(tmp_path, capsys):
    good = tmp_path / "a.json"
    good.write_text(json.dumps(_swift_example()))
    assert mf.main(["--check", str(good)]) == 1
    assert "INVALID" in capsys.readouterr().out

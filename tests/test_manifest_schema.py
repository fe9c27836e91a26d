"""The typed manifest: the committed JSON Schema is the one the dataclasses generate, exporters'
manifests validate against it, and the sample manifests the Java and Swift tests read validate
against it too (complete manifests as the exporter writes them, values made up), so all three
readers test against one contract."""
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
    for key in ("sample_rate", "hop", "chunk_frames", "samples_per_chunk", "channels", "channel_layout",
                "n_codebooks", "codebook_size", "inputs", "outputs", "state", "state_init", "artifact",
                "artifact_sha256", "checkpoint_sha256", "format", "precision", "config"):
        assert key in schema["required"], key
    tensor = schema["$defs"]["TensorEntry"]
    assert tensor["required"] == ["name", "shape", "dtype"] and tensor["additionalProperties"] is False


def _java_text() -> str:
    src = JAVA_TEST.read_text()
    block = src[src.index("static final String EXAMPLE ="):]
    block = block[:block.index('"}\\n";') + 6]
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', block)
    return "".join(p.encode().decode("unicode_escape") for p in parts)


def _swift_text() -> str:
    src = SWIFT_TEST.read_text()
    start = src.index('static let example = """') + len('static let example = """')
    return src[start:src.index('"""', start)]


# How both apps' tests make their stereo sample from the mono one (ManifestTest.stereo, ManifestTests.stereo):
# text replacements, each written in the test's source with its quotes escaped.
STEREO_RULE = (('"channels": 1,', '"channels": 2,'), ('"shape": [1,', '"shape": [2,'))


def _stereo(src: Path, declaration: str, mono: str) -> dict:
    """The stereo sample ``src`` declares as its mono one made stereo, with the rule it is checked to use."""
    text = src.read_text()
    assert declaration in text, declaration
    for old, new in STEREO_RULE:
        esc = lambda t: t.replace('"', '\\"')
        assert f'"{esc(old)}"' in text and f'"{esc(new)}"' in text, (src.name, old, new)
        mono = mono.replace(old, new)
    return json.loads(mono)


def _java_example() -> dict:
    return json.loads(_java_text())


def _swift_example() -> dict:
    return json.loads(_swift_text())


def _java_stereo_example() -> dict:
    return _stereo(JAVA_TEST, "static final String EXAMPLE_STEREO = stereo(EXAMPLE);", _java_text())


def _swift_stereo_example() -> dict:
    return _stereo(SWIFT_TEST, "static let exampleStereo = stereo(example)", _swift_text())


# What a backend writes for its own artifact; everything else in the two samples is the same manifest.
BACKEND_KEYS = ("format", "artifact", "artifact_sha256", "toolchain")
BACKEND_VERIFICATION_KEYS = ("runtime",)


SAMPLES = [_java_example, _swift_example, _java_stereo_example, _swift_stereo_example]


@pytest.mark.parametrize("example", SAMPLES, ids=["java", "swift", "java-stereo", "swift-stereo"])
def test_app_sample_manifests_validate_against_the_schema(example):
    """The samples the Java and Swift tests read are complete manifests that validate against the
    schema: a field the schema gains, or a key the apps read that the schema types differently,
    fails here."""
    m = example()
    assert mf.schema_problems(m) == []
    mf.validate_manifest(m, example.__name__)
    schema = mf.manifest_schema()
    for key in ("sample_rate", "hop", "chunk_frames", "samples_per_chunk", "channels", "channel_layout",
                "n_codebooks", "codebook_size", "inputs", "outputs", "state", "state_init"):
        assert key in schema["properties"] and key in schema["required"], key
    # planar: every tensor's first dimension is the channels one call decodes
    assert m["channel_layout"] == "planar"
    for t in m["inputs"] + m["outputs"] + m["state"]:
        assert t["shape"][0] == m["channels"], t


@pytest.mark.parametrize("mono, stereo", [(_java_example, _java_stereo_example),
                                          (_swift_example, _swift_stereo_example)], ids=["java", "swift"])
def test_the_stereo_samples_are_the_mono_ones_with_two_rows(mono, stereo):
    """The stereo sample differs from the mono one only in ``channels`` and the first dimension of
    every tensor, as an exporter's C = 2 manifest does (gmacs_per_s stays per channel)."""
    m, s = mono(), stereo()
    assert (m["channels"], s["channels"]) == (1, 2)
    for group in ("inputs", "outputs", "state"):
        assert [{**t, "shape": [1, *t["shape"][1:]]} for t in s[group]] == m[group]
        assert all(t["shape"][0] == 2 for t in s[group])
    rest = ("channels", "inputs", "outputs", "state")
    assert {k: v for k, v in s.items() if k not in rest} == {k: v for k, v in m.items() if k not in rest}


@pytest.mark.parametrize("java_sample, swift_sample", [(_java_example, _swift_example),
                                                       (_java_stereo_example, _swift_stereo_example)],
                         ids=["mono", "stereo"])
def test_java_and_swift_samples_are_one_manifest(java_sample, swift_sample):
    """Parsed, the two samples are the same manifest but for what each backend writes for itself
    (LiteRT for Android, Core ML for iOS), so the readers are tested against one contract."""
    java, swift = java_sample(), swift_sample()
    assert (java["format"], swift["format"]) == ("litert", "coreml")

    def common(m: dict) -> dict:
        m = {k: v for k, v in m.items() if k not in BACKEND_KEYS}
        m["verification"] = {k: v for k, v in m["verification"].items() if k not in BACKEND_VERIFICATION_KEYS}
        return m

    assert common(java) == common(swift)
    assert set(java) == set(swift) and set(java["verification"]) == set(swift["verification"])


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
    assert mf.main(["--check", str(good)]) == 0
    assert capsys.readouterr().out == f"{good}: valid\n"
    bad = tmp_path / "b.json"
    bad.write_text(json.dumps({**_swift_example(), "artifact_sha256": "00"}))
    assert mf.main(["--check", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{good}: valid" in out and f"{bad}: INVALID" in out and "artifact_sha256: '00'" in out

"""The iOS demo player (ios_demo/), checked from a machine without a Swift toolchain.

Nothing here compiles or runs Swift (that is `swift test` in ios_demo/TQCStream and
`xcodebuild` on a Mac, see ios_demo/README.md). What can be checked here is:

* every ``.swift`` file parses with tree-sitter-swift, with no ERROR or MISSING node;
* the app reads tensor names, shapes and dtypes from the manifest at run time, and the few
  strings the Swift code does hard-code (the manifest's JSON keys, the ``next_`` prefix, the
  dtype strings, ``zeros``) agree with what ``mobile_export`` writes: a manifest is built here by
  the exporter's own ``build_manifest`` for the tiny config, the names ``coreml.convert`` gives
  the model's features are captured, and the tq64 state layout comes from ``state_specs()``;
  renaming a name on either side makes these checks fail (shown on mutated copies);
* the Swift tests decode the keys that tests/vectors/manifest.json and the vector JSONs have,
  and the error kinds Swift knows are Python's ``TQCError`` kinds;
* project.yml, prepare_artifacts.sh and AppResources.swift name the same bundle files, and the
  audio render path takes no lock and allocates nothing (a token scan of its source).
"""
from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IOS = ROOT / "ios_demo"
PACKAGE = IOS / "TQCStream"
SOURCES = PACKAGE / "Sources" / "TQCStream"
SWIFT_TESTS = PACKAGE / "Tests" / "TQCStreamTests"
APP = IOS / "TQCPlayer"
VECTORS = ROOT / "tests" / "vectors"

tree_sitter = pytest.importorskip("tree_sitter")
tree_sitter_swift = pytest.importorskip("tree_sitter_swift")


# --------------------------------------------------------------------------- Swift parsing

@lru_cache(maxsize=1)
def _parser():
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_swift.language()))


def swift_files() -> list[Path]:
    return sorted(p for p in IOS.rglob("*.swift") if ".build" not in p.parts and "DerivedData" not in p.parts)


def syntax_errors(source: bytes, name: str) -> list[str]:
    """``name:line:column`` of every ERROR and MISSING node tree-sitter finds."""
    tree = _parser().parse(source)
    problems = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            line, column = node.start_point
            what = f"missing {node.type}" if node.is_missing else "syntax error"
            snippet = source[node.start_byte:node.end_byte][:60].decode("utf-8", "replace").replace("\n", "\\n")
            problems.append(f"{name}:{line + 1}:{column + 1}: {what} near {snippet!r}")
        stack.extend(node.children)
    return sorted(problems, key=lambda p: [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", p)])


def _text(node, source: bytes) -> str:
    return source[node.start_byte:node.end_byte].decode()


def _walk(node):
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


def _literal(node, source: bytes) -> str | None:
    """The value of a plain string literal (None for one with interpolation)."""
    if node.type != "line_string_literal":
        return None
    if any(c.type == "interpolated_expression" for c in node.children):
        return None
    return "".join(_text(c, source) for c in node.children if c.type == "line_str_text")


def _type_name(node, source: bytes) -> str | None:
    """Name of a struct/class/enum/extension declaration."""
    name = node.child_by_field_name("name")
    return None if name is None else _text(name, source)


@dataclass
class SwiftSource:
    """One parsed Swift file (from disk, or a mutated copy of one)."""

    path: str
    source: bytes

    @property
    def tree(self):
        return _parser().parse(self.source)

    def string_literals(self) -> list[str]:
        return [v for n in _walk(self.tree.root_node) if (v := _literal(n, self.source)) is not None]

    def types(self, name: str):
        return [n for n in _walk(self.tree.root_node)
                if n.type in ("class_declaration", "protocol_declaration") and _type_name(n, self.source) == name]

    def coding_keys(self) -> dict[str, list[str]]:
        """{enclosing type: the JSON keys of its ``enum CodingKeys``} (raw value, else case name)."""
        out: dict[str, list[str]] = {}
        for node in _walk(self.tree.root_node):
            if node.type != "class_declaration" or _type_name(node, self.source) != "CodingKeys":
                continue
            owner = node.parent
            while owner is not None and owner.type != "class_declaration":
                owner = owner.parent
            keys: list[str] = []
            body = node.child_by_field_name("body")
            for entry in (c for c in body.children if c.type == "enum_entry"):
                for i, child in enumerate(entry.children):
                    field = entry.field_name_for_child(i)
                    if field == "name":
                        keys.append(_text(child, self.source))
                    elif field == "raw_value":
                        keys[-1] = _literal(child, self.source)
            out[_type_name(owner, self.source) if owner is not None else "<top>"] = keys
        return out

    def string_constants(self, type_name: str) -> dict[str, str]:
        """``static let NAME = "value"`` members of a type."""
        out = {}
        for decl in self.types(type_name):
            for node in _walk(decl):
                if node.type != "property_declaration":
                    continue
                pattern, value = node.child_by_field_name("name"), node.child_by_field_name("value")
                if pattern is not None and value is not None and (v := _literal(value, self.source)) is not None:
                    out[_text(pattern, self.source)] = v
        return out

    def function(self, name: str) -> str:
        """Source text of the (first) function of that name."""
        for node in _walk(self.tree.root_node):
            if node.type == "function_declaration" and _type_name(node, self.source) == name:
                return _text(node, self.source)
        raise KeyError(f"{self.path}: no function {name}")

    def enum_raw_values(self, type_name: str) -> dict[str, str]:
        """{case: raw value} of an enum with String raw values."""
        out = {}
        for decl in self.types(type_name):
            body = decl.child_by_field_name("body")
            for entry in (c for c in body.children if c.type == "enum_entry"):
                name = None
                for i, child in enumerate(entry.children):
                    field = entry.field_name_for_child(i)
                    if field == "name":
                        name = _text(child, self.source)
                        out[name] = name
                    elif field == "raw_value":
                        out[name] = _literal(child, self.source)
        return out


class SwiftTree:
    """The ios_demo Swift sources, keyed by path relative to ios_demo/ (mutable copies for tests)."""

    def __init__(self, files: dict[str, bytes]):
        self.files = {k: SwiftSource(k, v) for k, v in files.items()}

    @classmethod
    def from_disk(cls) -> "SwiftTree":
        return cls({str(p.relative_to(IOS)): p.read_bytes() for p in swift_files()})

    def __getitem__(self, relative: str) -> SwiftSource:
        return self.files[relative]

    def replaced(self, relative: str, old: str, new: str) -> "SwiftTree":
        text = self.files[relative].source.decode()
        assert old in text, f"{relative} has no {old!r} to mutate"
        return SwiftTree({**{k: v.source for k, v in self.files.items()}, relative: text.replace(old, new).encode()})

    def shipped(self) -> list[SwiftSource]:
        """The package's and the app's own code (not the Swift tests)."""
        return [s for k, s in self.files.items() if not k.startswith("TQCStream/Tests/")]


@lru_cache(maxsize=1)
def disk_tree() -> SwiftTree:
    return SwiftTree.from_disk()


MANIFEST_SWIFT = "TQCStream/Sources/TQCStream/Player/Manifest.swift"
ERROR_SWIFT = "TQCStream/Sources/TQCStream/TQCError.swift"
DECODER_SWIFT = "TQCPlayer/CoreMLChunkDecoder.swift"
VECTORS_SWIFT = "TQCStream/Tests/TQCStreamTests/Vectors.swift"
RESOURCES_SWIFT = "TQCPlayer/AppResources.swift"


# --------------------------------------------------------------------------- 1. every file parses

def test_the_swift_tree_exists():
    names = {str(p.relative_to(IOS)) for p in swift_files()}
    for required in (MANIFEST_SWIFT, ERROR_SWIFT, DECODER_SWIFT, VECTORS_SWIFT, RESOURCES_SWIFT,
                     "TQCPlayer/AudioOutput.swift", "TQCPlayer/TQCPlayerApp.swift",
                     "TQCStream/Sources/TQCStream/StreamReader.swift",
                     "TQCStream/Sources/TQCStream/Player/DecodeLoop.swift",
                     "TQCStream/Sources/TQCStream/Player/FloatRingBuffer.swift",
                     "TQCStream/Tests/TQCStreamTests/CorruptVectorsTests.swift",
                     "TQCStream/Tests/TQCStreamTests/DecodeLoopTests.swift"):
        assert required in names
    assert len(names) >= 25


def test_every_swift_file_parses():
    problems = [p for path in swift_files() for p in syntax_errors(path.read_bytes(), str(path.relative_to(ROOT)))]
    assert not problems, "tree-sitter-swift found:\n" + "\n".join(problems)


@pytest.mark.parametrize("snippet, where", [
    (b"func f( {\n    return 1\n}\n", "x.swift:1:"),               # unbalanced parenthesis
    (b"struct S {\n    let a: Int\n", "x.swift:"),                 # missing closing brace
    (b"func f() {\n    let x = 1 +\n}\n", "x.swift:2:"),            # operator without an operand
    (b"let x = [1, 2\nlet y = 3\n", "x.swift:2:"),                  # unclosed bracket (a MISSING node)
])
def test_the_parse_check_can_fail(snippet, where):
    problems = syntax_errors(snippet, "x.swift")
    assert problems and all(p.startswith("x.swift:") for p in problems)
    assert any(p.startswith(where) for p in problems), problems
    assert not syntax_errors(b"let ok = 1\nfunc f() -> Int { ok }\n", "ok.swift")


def test_no_placeholders_left():
    for path in [*swift_files(), IOS / "README.md", IOS / "project.yml", IOS / "prepare_artifacts.sh"]:
        text = path.read_text()
        for marker in ("TODO", "FIXME", "XXX", "fatalError(\"unimplemented"):
            assert marker not in text, f"{path.relative_to(ROOT)} contains {marker}"


# --------------------------------------------------------------------------- 2. app and exporter agree

@pytest.fixture(scope="module")
def tiny_decoder():
    torch = pytest.importorskip("torch")
    from mobile_export.prune import prune
    from tqcodec.configs import get_config
    from tqcodec.model import TQCodec

    torch.manual_seed(0)
    return prune(TQCodec(get_config("tiny")).eval(), {}).streaming(4)


@pytest.fixture(scope="module")
def reference_manifest(tiny_decoder, tmp_path_factory):
    """What mobile_export writes, from its own code path (tiny config, no export)."""
    from mobile_export.manifest import build_manifest

    artifact = tmp_path_factory.mktemp("artifact") / "tiny-fp16-k4.mlpackage"
    artifact.mkdir()
    (artifact / "Manifest.json").write_text("{}")
    manifest = build_manifest(backend="coreml", artifact=artifact, precision="fp16", decoder=tiny_decoder,
                              source_sha256="ab" * 32, gmacs_per_s=0.1, verification={"passed": True},
                              trained=False)
    return json.loads(json.dumps(manifest))  # exactly what a reader of the file sees


def contract_problems(tree: SwiftTree, manifest: dict) -> list[str]:
    """Where the Swift side and a manifest disagree (empty: they agree)."""
    problems = []
    keys = tree[MANIFEST_SWIFT].coding_keys()
    for key in keys.get("Manifest", ["<no Manifest.CodingKeys>"]):
        if key not in manifest:
            problems.append(f"Manifest.swift decodes key {key!r}, the manifest has none")
    tensors = manifest.get("inputs", []) + manifest.get("outputs", []) + manifest.get("state", [])
    for key in keys.get("TensorSpec", ["<no TensorSpec.CodingKeys>"]):
        if not tensors or any(key not in t for t in tensors):
            problems.append(f"TensorSpec decodes key {key!r}, a tensor entry lacks it")

    contract = tree[MANIFEST_SWIFT].string_constants("ManifestContract")
    prefix = contract.get("nextStatePrefix")
    state, outputs, inputs = manifest.get("state", []), manifest.get("outputs", []), manifest.get("inputs", [])
    if len(outputs) != len(state) + 1 or len(inputs) != len(state) + 1:
        problems.append("the manifest is not [codes, *state] -> [audio, *next_state]")
    for k, s in enumerate(state):
        got = outputs[k + 1]["name"] if k + 1 < len(outputs) else None
        if prefix is None or got != prefix + s["name"]:
            problems.append(f"state {s['name']!r} comes back as {got!r}; Swift expects {prefix}{s['name']}")
    for name, value, what in (
            ("codesDType", inputs[0].get("dtype") if inputs else None, "inputs[0] (codes) dtype"),
            ("audioDType", outputs[0].get("dtype") if outputs else None, "outputs[0] (audio) dtype"),
            ("stateInit", manifest.get("state_init"), "state_init"),
            ("channelLayout", manifest.get("channel_layout"), "channel_layout")):
        if contract.get(name) != value:
            problems.append(f"ManifestContract.{name} = {contract.get(name)!r}, the exporter writes {what} {value!r}")
    for s in state:
        if contract.get("stateDType") != s.get("dtype"):
            problems.append(f"ManifestContract.stateDType = {contract.get('stateDType')!r}, state {s['name']!r} "
                            f"is {s.get('dtype')!r}")

    # Core ML arrays are made from the manifest's dtype strings: each one must map.
    handled = {lit for lit in re.findall(r'case "([^"]+)"', tree[DECODER_SWIFT].function("dataType"))}
    for t in tensors:
        if t.get("dtype") not in handled:
            problems.append(f"CoreMLChunkDecoder.dataType has no case for dtype {t.get('dtype')!r}")

    # Tensor names are never hard-coded: no shipped Swift string literal is one.
    names = {t["name"] for t in tensors}
    for src in tree.shipped():
        for literal in src.string_literals():
            if literal in names:
                problems.append(f"{src.path} hard-codes the tensor name {literal!r}")
    # ...and the decoder takes them from the manifest.
    decoder = tree[DECODER_SWIFT].source.decode()
    for use in ("manifest.codesInput.name", "manifest.audioOutput.name", "manifest.state", "nextStateOutput(",
                ".shape", ".dtype"):
        if use not in decoder:
            problems.append(f"CoreMLChunkDecoder.swift does not use {use}")
    return problems


def test_swift_matches_the_exporters_manifest(reference_manifest):
    assert contract_problems(disk_tree(), reference_manifest) == []


def test_swift_matches_the_exporters_stereo_manifest(tmp_path):
    """A C = 2 artifact's manifest (every shape starting with 2) meets the same contract."""
    pytest.importorskip("torch")
    from mobile_export.prune import prune
    from mobile_export.manifest import build_manifest
    from tqcodec.configs import get_config
    from tqcodec.model import TQCodec

    stereo = prune(TQCodec(get_config("tiny")).eval(), {}).streaming(4, 2)
    artifact = tmp_path / "tiny-fp16-k4.mlpackage"
    artifact.mkdir()
    (artifact / "Manifest.json").write_text("{}")
    manifest = json.loads(json.dumps(build_manifest(
        backend="coreml", artifact=artifact, precision="fp16", decoder=stereo, source_sha256="ab" * 32,
        gmacs_per_s=0.1, verification={"passed": True}, trained=False)))
    assert manifest["channels"] == 2 and manifest["channel_layout"] == "planar"
    assert all(t["shape"][0] == 2 for t in manifest["inputs"] + manifest["outputs"] + manifest["state"])
    assert contract_problems(disk_tree(), manifest) == []


def test_swift_matches_the_tq64_state_layout(reference_manifest):
    """The real tq64 decoder's state (from state_specs, no export) fits the same contract."""
    pytest.importorskip("torch")
    from mobile_export.prune import prune
    from tqcodec.configs import get_config
    from tqcodec.model import TQCodec

    decoder = prune(TQCodec(get_config("tq64")).eval(), {}).streaming(16)
    specs = [s.to_dict() for s in decoder.state_specs()]
    manifest = {**reference_manifest,
                "inputs": [decoder.input_spec().to_dict(), *specs],
                "outputs": [decoder.output_spec().to_dict(), *({**s, "name": f"next_{s['name']}"} for s in specs)],
                "state": specs, "chunk_frames": 16, "n_codebooks": decoder.n_q,
                "samples_per_chunk": decoder.samples_per_chunk}
    assert len(specs) == 12
    assert contract_problems(disk_tree(), manifest) == []


def test_coreml_feature_names_are_the_manifests(tiny_decoder, reference_manifest, monkeypatch):
    """coreml.convert names the model's features as build_manifest lists them (ct.convert captured)."""
    ct = pytest.importorskip("coremltools")
    from coremltools.converters.mil.mil import types

    from mobile_export import coreml

    seen = {}

    def fake_convert(model, inputs, outputs, **kwargs):
        seen.update(inputs=inputs, outputs=outputs)
        return "converted"

    monkeypatch.setattr(ct, "convert", fake_convert)
    assert coreml.convert(tiny_decoder, tiny_decoder) == "converted"
    as_dtype = {"int32": "int32", "fp32": "float32", "fp16": "float16"}
    got_inputs = [(t.name, as_dtype[types.builtin_to_string(t.dtype)]) for t in seen["inputs"]]
    got_outputs = [(t.name, as_dtype[types.builtin_to_string(t.dtype)]) for t in seen["outputs"]]
    assert got_inputs == [(t["name"], t["dtype"]) for t in reference_manifest["inputs"]]
    assert got_outputs == [(t["name"], t["dtype"]) for t in reference_manifest["outputs"]]


@pytest.mark.parametrize("mutate, complaint", [
    (lambda m: m["outputs"][1].update(name=m["state"][0]["name"] + "_next"), "comes back as"),
    (lambda m: m.update(frames_per_chunk=m.pop("chunk_frames")), "'chunk_frames'"),
    (lambda m: m.update(sample_rate_hz=m.pop("sample_rate")), "'sample_rate'"),
    (lambda m: [t.update(dtype="float16") for t in m["state"] + m["inputs"][1:] + m["outputs"][1:]], "stateDType"),
    (lambda m: m["inputs"][0].update(dtype="int64"), "codesDType"),
    (lambda m: m.update(state_init="random"), "stateInit"),
    (lambda m: m.update(channel_layout="interleaved"), "channelLayout"),
    (lambda m: m.update(channel_count=m.pop("channels")), "'channels'"),
    (lambda m: [t.update(type=t.pop("dtype")) for t in m["state"]], "'dtype'"),
])
def test_a_renamed_manifest_name_is_caught(reference_manifest, mutate, complaint):
    manifest = json.loads(json.dumps(reference_manifest))
    mutate(manifest)
    problems = contract_problems(disk_tree(), manifest)
    assert any(complaint in p for p in problems), problems


@pytest.mark.parametrize("path, old, new, complaint", [
    (MANIFEST_SWIFT, 'nextStatePrefix = "next_"', 'nextStatePrefix = "new_"', "Swift expects new_"),
    (MANIFEST_SWIFT, 'case chunkFrames = "chunk_frames"', 'case chunkFrames = "chunkFrames"', "'chunkFrames'"),
    (MANIFEST_SWIFT, 'case dtype = "dtype"', 'case dtype = "type"', "'type'"),
    (MANIFEST_SWIFT, 'stateDType = "float32"', 'stateDType = "float16"', "stateDType"),
    (MANIFEST_SWIFT, 'codesDType = "int32"', 'codesDType = "int64"', "codesDType"),
    (MANIFEST_SWIFT, 'channelLayout = "planar"', 'channelLayout = "interleaved"', "channelLayout"),
    (MANIFEST_SWIFT, 'case channelLayout = "channel_layout"', 'case channelLayout = "layout"', "'layout'"),
    (DECODER_SWIFT, "codesName = manifest.codesInput.name", 'codesName = "codes"', "hard-codes the tensor name"),
    (DECODER_SWIFT, 'case "float32": return .float32', 'case "fp32": return .float32', "no case for dtype"),
])
def test_a_renamed_swift_name_is_caught(reference_manifest, path, old, new, complaint):
    problems = contract_problems(disk_tree().replaced(path, old, new), reference_manifest)
    assert any(complaint in p for p in problems), problems


def test_error_kinds_are_pythons():
    from tqcodec import bitstream

    source = disk_tree()[ERROR_SWIFT]
    kinds = source.enum_raw_values("Kind")
    assert set(kinds.values()) == set(bitstream.KINDS)
    fatal_block = re.search(r"static let fatal: Set<Kind> = \[(.*?)\]", source.source.decode(), re.S).group(1)
    fatal = {kinds[c] for c in re.findall(r"\.(\w+)", fatal_block)}
    assert fatal == set(bitstream.FATAL_KINDS)


# --------------------------------------------------------------------------- 3. the vectors both sides read

def _vector_objects() -> dict[str, list[dict]]:
    """The JSON objects each Decodable type of the Swift tests is read from."""
    index = json.loads((VECTORS / "manifest.json").read_text())
    cases = index["cases"]
    valid = [json.loads((VECTORS / name).read_text()) for name in index["valid"]]
    errors = [c["strict"] for c in cases if c["strict"]] + \
        [c["streaming"]["fatal"] for c in cases if c["streaming"]["fatal"]] + \
        [e for c in cases for e in c["streaming"]["events"]]
    return {
        "VectorIndex": [index],
        "VectorPolicy": [index["policy"]],
        "DamageCase": cases,
        "ConcealmentExpectation": [c["concealment"] for c in cases if c["concealment"]],
        "ExpectedError": errors,
        "StreamingExpectation": [c["streaming"] for c in cases],
        "ValidVector": valid,
        "VectorHeader": [v["header"] for v in valid],
        "VectorPacket": [p for v in valid for p in v["packets"]],
        "VectorBitrate": [v["bitrate"] for v in valid],
    }


def vector_key_problems(tree: SwiftTree, objects: dict[str, list[dict]]) -> list[str]:
    problems = []
    keys = {}
    for name, src in tree.files.items():
        if name.startswith("TQCStream/Tests/"):
            keys.update(src.coding_keys())
    if set(keys) != set(objects):
        problems.append(f"Swift test types {sorted(keys)} vs the vector JSON objects {sorted(objects)}")
    for type_name, type_keys in keys.items():
        for obj in objects.get(type_name, []):
            for key in type_keys:
                if key not in obj:
                    problems.append(f"{type_name} decodes {key!r}, a vector object has only {sorted(obj)}")
                    break
        if not objects.get(type_name):
            problems.append(f"{type_name}: no vector object to read")
    return problems


def test_swift_tests_read_the_keys_the_vectors_have():
    assert vector_key_problems(disk_tree(), _vector_objects()) == []


def test_swift_tests_find_the_shared_vectors():
    vectors = disk_tree()[VECTORS_SWIFT]
    literals = vectors.string_literals()
    assert "manifest.json" in literals and "TQC_VECTORS" in literals
    assert "tests" in literals and "vectors" in literals
    # five levels up from Vectors.swift is the repository root, where tests/vectors lives
    assert (Path(IOS / VECTORS_SWIFT).parents[4] / "tests" / "vectors" / "manifest.json").is_file()
    assert "for _ in 0..<5" in vectors.source.decode()
    for test in ("ValidVectorsTests.swift", "CorruptVectorsTests.swift"):
        assert "Vectors.index()" in (SWIFT_TESTS / test).read_text(), test
    # every expected kind in the vectors is one the Swift reader can produce
    kinds = set(disk_tree()[ERROR_SWIFT].enum_raw_values("Kind").values())
    assert {e["kind"] for e in _vector_objects()["ExpectedError"]} <= kinds


@pytest.mark.parametrize("where, old, new", [
    ("DamageCase", "header_from", "header_source"),
    ("ExpectedError", "packet", "sequence"),
    ("VectorHeader", "n_q", "codebooks"),
    ("VectorIndex", "cases", "damage"),
])
def test_a_renamed_vector_key_is_caught(where, old, new):
    objects = json.loads(json.dumps(_vector_objects()))
    for obj in objects[where]:
        obj[new] = obj.pop(old)
    problems = vector_key_problems(disk_tree(), objects)
    assert any(f"{where} decodes {old!r}" in p for p in problems), problems


def test_a_renamed_swift_test_key_is_caught():
    tree = disk_tree().replaced(VECTORS_SWIFT, 'case headerFrom = "header_from"', 'case headerFrom = "headerFrom"')
    assert any("'headerFrom'" in p for p in vector_key_problems(tree, _vector_objects()))


# --------------------------------------------------------------------------- 4. the build files

def test_package_manifest():
    text = (PACKAGE / "Package.swift").read_text()
    assert text.splitlines()[0] == "// swift-tools-version:5.9"
    assert ".iOS(.v17)" in text and ".macOS(.v14)" in text
    for target in re.findall(r'\.(?:testTarget|target)\(name: "(\w+)"', text):
        folder = PACKAGE / ("Tests" if target.endswith("Tests") else "Sources") / target
        assert folder.is_dir(), target
    assert (PACKAGE / "Sources" / "CTQCAtomics" / "include" / "tqc_atomics.h").is_file()
    # the core builds without Core ML, UIKit or AVFoundation
    for src in (PACKAGE / "Sources").rglob("*.swift"):
        assert not re.search(r"^import (CoreML|UIKit|SwiftUI|AVFoundation)", src.read_text(), re.M), src.name


def test_project_and_artifact_names_agree(tmp_path):
    yaml = pytest.importorskip("yaml")
    project = yaml.safe_load((IOS / "project.yml").read_text())
    assert (IOS / project["packages"]["TQCStream"]["path"] / "Package.swift").is_file()
    target = project["targets"]["TQCPlayer"]
    assert target["platform"] == "iOS" and str(target["deploymentTarget"]) == "17.0"
    assert {"package": "TQCStream", "product": "TQCStream"} in target["dependencies"]
    sources = {s["path"]: s for s in target["sources"]}
    assert (IOS / "TQCPlayer").is_dir() and "TQCPlayer" in sources

    names = disk_tree()[RESOURCES_SWIFT].string_constants("AppResources")
    model = f"Artifacts/{names['modelName']}.mlpackage"
    manifest = f"Artifacts/{names['manifestName']}.{names['manifestExtension']}"
    sample = f"Artifacts/{names['sampleName']}.{names['streamExtension']}"
    assert names["compiledModelExtension"] == "mlmodelc" and names["packageExtension"] == "mlpackage"
    assert sources[model]["buildPhase"] == "sources"  # Xcode compiles the package into the bundle
    assert sources[model]["type"] == "file"  # one file, not a folder of loose resources
    # ...whatever XcodeGen version: the extension itself is declared a compiled single file
    assert project["options"]["fileTypes"]["mlpackage"] == {"file": True, "buildPhase": "sources"}
    assert "audio" in target["info"]["properties"]["UIBackgroundModes"]  # plays with the screen locked
    assert sources[manifest]["buildPhase"] == "resources"
    assert sources[sample]["buildPhase"] == "resources"

    # prepare_artifacts.sh writes exactly those files (run on the golden corrupt_base stream)
    fingerprint = json.loads((VECTORS / "valid" / "corrupt_base.json").read_text())["header"]["fingerprint"]
    export = tmp_path / "coreml"
    (export / "x.mlpackage" / "Data").mkdir(parents=True)
    (export / "x.mlpackage" / "Manifest.json").write_text("{}")
    (export / "x.manifest.json").write_text(json.dumps(
        {"format": "coreml", "artifact": "x.mlpackage", "checkpoint_sha256": fingerprint + "0" * 32}))
    out = tmp_path / "Artifacts"
    run = subprocess.run(["bash", str(IOS / "prepare_artifacts.sh"), str(export / "x.manifest.json"),
                          str(VECTORS / "valid" / "corrupt_base.tqc")], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin:/usr/local/bin", "TQC_ARTIFACTS_DIR": str(out)}, timeout=60)
    assert run.returncode == 0, run.stderr
    made = sorted(str(p.relative_to(tmp_path)) for p in out.iterdir())
    assert made == sorted([model, manifest, sample])
    # a stream made for other weights is refused before it reaches the app
    (export / "x.manifest.json").write_text(json.dumps(
        {"format": "coreml", "artifact": "x.mlpackage", "checkpoint_sha256": "f" * 64}))
    run = subprocess.run(["bash", str(IOS / "prepare_artifacts.sh"), str(export / "x.manifest.json"),
                          str(VECTORS / "valid" / "corrupt_base.tqc")], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin:/usr/local/bin", "TQC_ARTIFACTS_DIR": str(out)}, timeout=60)
    assert run.returncode != 0 and "encoded for weights" in run.stderr


# --------------------------------------------------------------------------- 5. the thin shell

STATE_MACHINE_SWIFT = "TQCStream/Sources/TQCStream/Player/PlayerStateMachine.swift"

# platform callback -> where the shell must handle it
PLATFORM_CALLBACKS = {
    "TQCPlayer/AudioSessionEvents.swift": ("AVAudioSession.interruptionNotification",
                                           "AVAudioSession.routeChangeNotification",
                                           "AVAudioSession.mediaServicesWereResetNotification",
                                           "AVAudioSessionInterruptionOptionKey", ".shouldResume",
                                           ".oldDeviceUnavailable"),
    "TQCPlayer/AudioOutput.swift": (".AVAudioEngineConfigurationChange",),
    "TQCPlayer/NowPlaying.swift": ("playCommand", "pauseCommand", "togglePlayPauseCommand",
                                   "changePlaybackPositionCommand", "MPNowPlayingInfoCenter",
                                   "MPNowPlayingInfoPropertyElapsedPlaybackTime"),
    "TQCPlayer/DecoderModelStore.swift": ("MLModel.compileModel(at:", ".applicationSupportDirectory"),
}


def shell_problems(tree: SwiftTree) -> list[str]:
    """The shell handles each platform callback and sends only events the core's state machine has."""
    machine = tree[STATE_MACHINE_SWIFT]
    events = set(machine.enum_raw_values("Event"))
    actions = set(machine.enum_raw_values("Action"))
    problems = [] if events and actions else [f"{STATE_MACHINE_SWIFT}: no Event or Action enum"]
    for path, needles in PLATFORM_CALLBACKS.items():
        text = tree[path].source.decode()
        problems += [f"{path} does not handle {needle}" for needle in needles if needle not in text]
    sources = {name: tree[f"TQCPlayer/{name}.swift"].source.decode()
               for name in ("AudioSessionEvents", "NowPlaying", "PlayerModel")}
    sent = {e for text in sources.values() for e in re.findall(r"send\(\.(\w+)", text)}
    sent |= set(re.findall(r"return \.(\w+)", sources["AudioSessionEvents"]))  # notification -> event
    sent |= set(re.findall(r"\{ _ in \.(\w+) \}", sources["NowPlaying"]))  # remote command -> event
    sent |= set(re.findall(r"\.(seek)\(seconds:", sources["NowPlaying"]))
    problems += [f"the shell sends .{name}, which PlayerStateMachine.Event lacks" for name in sorted(sent - events)]
    model = tree["TQCPlayer/PlayerModel.swift"].source.decode()
    handled = set(re.findall(r"case (?:let )?\.(\w+)", model.split("func perform", 1)[-1].split("func load", 1)[0]))
    problems += [f"PlayerModel.perform does not carry out .{name}" for name in sorted(actions - handled)]
    for name in ("interruptionBegan", "interruptionEnded", "routeChanged", "engineConfigurationChanged",
                 "mediaServicesReset", "seek", "toggle", "endOfStream", "error"):
        if name not in sent:
            problems.append(f"no platform callback or UI action sends .{name}")
    return problems


def test_the_shell_forwards_platform_callbacks_to_the_state_machine():
    assert shell_problems(disk_tree()) == []
    renamed = disk_tree().replaced(STATE_MACHINE_SWIFT, "case interruptionBegan", "case interruptionStarted")
    assert any(".interruptionBegan, which PlayerStateMachine.Event lacks" in p for p in shell_problems(renamed))
    unhandled = disk_tree().replaced("TQCPlayer/AudioSessionEvents.swift", "routeChangeNotification", "x")
    assert any("routeChangeNotification" in p for p in shell_problems(unhandled))
    dropped = disk_tree().replaced("TQCPlayer/PlayerModel.swift", "case .restartOutput:", "case .other:")
    assert any("does not carry out .restartOutput" in p for p in shell_problems(dropped))


# --------------------------------------------------------------------------- 6. the render path

RENDER_FORBIDDEN = ("lock(", "NSLock", "NSCondition", "DispatchQueue", "Task", "await", "Array(", "[Float](",
                    ".append(", "print(", "String(", "\\(", "decode(", "allocate(", "Thread")


def render_path_problems(tree: SwiftTree) -> list[str]:
    """Tokens that would lock, allocate or decode on the audio render thread."""
    pump = tree["TQCStream/Sources/TQCStream/Player/PlaybackPump.swift"]
    ring = tree["TQCStream/Sources/TQCStream/Player/FloatRingBuffer.swift"]
    output = tree["TQCPlayer/AudioOutput.swift"].source.decode()
    block = re.search(r"AVAudioSourceNode\(format: format\) \{(.*?)\n        \}", output, re.S)
    bodies = {
        "PlaybackPump.render": pump.function("render"),
        "PlaybackPump.take": pump.function("take"),
        "FloatRingBuffer.read": ring.function("read"),
        "AudioOutput render block": block.group(1) if block else "<not found> Task",
    }
    problems = []
    for where, body in bodies.items():
        code = "\n".join(line.split("//")[0] for line in body.splitlines())
        for token in RENDER_FORBIDDEN:
            if token in code:
                problems.append(f"{where} contains {token!r}")
    return problems


def test_the_render_path_takes_no_lock_and_allocates_nothing():
    assert render_path_problems(disk_tree()) == []
    broken = disk_tree().replaced("TQCStream/Sources/TQCStream/Player/PlaybackPump.swift",
                                  "        var produced = 0\n", "        var produced = 0\n        lock.lock()\n")
    assert any("PlaybackPump.render contains 'lock('" in p for p in render_path_problems(broken))

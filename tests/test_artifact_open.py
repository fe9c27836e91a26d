"""Safe artifact opening: every edited, truncated, mismatched or garbage file is refused with one
line naming the file, before any runtime touches it (``mobile_export.artifact.open_artifact``,
used by every runner through ``runners.open_runner``/``load_runner``)."""
import copy
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime")

from mobile_export.artifact import open_artifact  # noqa: E402
from mobile_export.calibration import encode_music  # noqa: E402
from mobile_export.cli import export  # noqa: E402
from mobile_export.errors import ArtifactError  # noqa: E402
from mobile_export.manifest import file_sha256, write_manifest  # noqa: E402
from mobile_export.pipeline import ExportJob  # noqa: E402
from mobile_export.runners import load_runner  # noqa: E402
from tqcodec.checkpoint import save_checkpoint  # noqa: E402
from tqcodec.configs import get_config  # noqa: E402
from tqcodec.model import TQCodec  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
K = 4


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny fp32 ONNX artifact and its manifest, exported and verified by the pipeline."""
    root = tmp_path_factory.mktemp("open")
    torch.manual_seed(0)
    model = TQCodec(get_config("tiny")).eval()
    ckpt = root / "tiny.pt"
    save_checkpoint(ckpt, model, extra={"trained": False})
    music = encode_music(model, None, max_seconds=1.0, excerpt_seconds=0.5)
    res = export("onnx", ExportJob(ckpt, root / "out", "fp32", K, channels=1, progress=False), music)
    assert res.passed, res.failures
    return res.artifact, res.manifest, music


@pytest.fixture
def copy_of(exported, tmp_path):
    """A fresh copy of the artifact and its manifest in tmp_path (each test edits its own)."""
    art, manifest, _ = exported
    dst = tmp_path / art.name
    shutil.copy(art, dst)
    m = copy.deepcopy(manifest)
    mpath = tmp_path / art.name.replace(".onnx", ".manifest.json")
    write_manifest(mpath, m)
    return dst, m, mpath


def _refused(path, match):
    with pytest.raises(ArtifactError, match=match) as e:
        load_runner(path)
    assert "\n" not in str(e.value) and str(path.parent) in str(e.value)  # one line, naming the file


def test_a_good_artifact_opens_and_decodes(copy_of, exported):
    path, m, _ = copy_of
    _, _, music = exported
    dec = load_runner(path)
    audio = dec.decode_channels(music.codes[:, :, :10].numpy(), progress=None)
    assert audio.shape == (music.codes.shape[0], 10 * m["hop"]) and np.isfinite(audio).all()


def test_missing_artifact_or_manifest(tmp_path, copy_of):
    path, _, mpath = copy_of
    _refused(tmp_path / "nope.onnx", "no such artifact")
    mpath.unlink()
    _refused(path, "no manifest found")


@pytest.mark.parametrize("text, match", [
    ("{ not json", r"manifest.json: not a JSON manifest at line 1 column 3"),
    ("{}", r"manifest.json: not a valid manifest: \(top level\): 'manifest_version' is a required property"),
    ("[]", "a manifest is a JSON object"),
    (b"\xff\xfe{}", "not a JSON manifest"),
])
def test_unreadable_manifests(copy_of, text, match):
    path, _, mpath = copy_of
    mpath.write_bytes(text if isinstance(text, bytes) else text.encode())
    _refused(path, match)


def _edit(mpath, m, change):
    m = copy.deepcopy(m)
    change(m)
    mpath.write_text(json.dumps(m))


@pytest.mark.parametrize("change, match", [
    (lambda m: m.update(hop=32), "hop is 32, its config_detail \\(tiny\\) gives 64"),
    (lambda m: m.update(sample_rate=48000), "sample_rate is 48000"),
    (lambda m: m.update(samples_per_chunk=999), "samples_per_chunk is 999"),
    (lambda m: m["state"][0].update(shape=[1, 4, 7]), r"state\[0\] is \('conv_in', \[1, 4, 7\]"),
    (lambda m: m["state"][0].update(shape=[100000, 100000, 100]), "not a valid manifest: state.0.shape.0"),
    (lambda m: m["inputs"][0].update(shape=[1, 3, 5]), r"inputs\[0\] is \('codes', \[1, 3, 5\]"),
    (lambda m: m["outputs"].pop(), r"outputs\[12\] is nothing, the 1-channel tiny decoder .* has \(.next_conv_out."),
    (lambda m: m["config_detail"].update(latent_dim=9999), "config_detail differs from the tiny config"),
    (lambda m: m["config_detail"].update(name="custom", latent_dim=10 ** 9), "config_detail.latent_dim is"),
    (lambda m: m.update(artifact="other.onnx"), "describes 'other.onnx'"),
    (lambda m: m.update(format="litert"), "a litert manifest describes a .tflite file"),
    (lambda m: m.update(artifact_bytes=m["artifact_bytes"] + 1), "bytes, the manifest says"),
    (lambda m: m.update(chunk_frames=100000), "not a valid manifest: chunk_frames"),
])
def test_edited_manifest_is_refused(copy_of, change, match):
    path, m, mpath = copy_of
    _edit(mpath, m, change)
    _refused(path, match)


def test_truncated_or_edited_artifact_is_refused(copy_of):
    path, _, _ = copy_of
    data = bytearray(path.read_bytes())
    path.write_bytes(data[:-100])
    _refused(path, "bytes, the manifest says")
    flipped = bytearray(data)
    for i in range(16):  # 16 flipped bytes in the weights: same size, different digest
        flipped[len(data) // 2 + i] ^= 0xFF
    path.write_bytes(bytes(flipped))
    _refused(path, "SHA-256 .* differs from the manifest's")


def _as_format(copy_of, suffix: str, fmt: str, data: bytes):
    """A file of ``data`` with a manifest that agrees with it in every way (size, digest, name)."""
    path, m, mpath = copy_of
    fake = path.with_suffix(suffix)
    fake.write_bytes(data)
    m = copy.deepcopy(m)
    m.update(format=fmt, artifact=fake.name, artifact_bytes=len(data), artifact_sha256=file_sha256(fake))
    mpath.unlink()
    write_manifest(fake.with_suffix(".manifest.json"), m, validate=True)
    return fake


@pytest.mark.parametrize("seed", range(4))
def test_garbage_pte_is_refused_before_the_loader(copy_of, seed):
    pytest.importorskip("executorch")
    data = np.random.default_rng(seed).bytes(4096)
    fake = _as_format(copy_of, ".pte", "executorch-xnnpack", data)
    _refused(fake, "offset 4: expected the ExecuTorch identifier b'ET12'")


def test_garbage_pte_cannot_take_the_process_down(copy_of):
    """In a child process, as a player would run it: an error line and a normal exit, never SIGABRT."""
    pytest.importorskip("executorch")
    fake = _as_format(copy_of, ".pte", "executorch-xnnpack", np.random.default_rng(9).bytes(8192))
    code = ("import sys\nfrom mobile_export.errors import ArtifactError\nfrom mobile_export.runners import load_runner\n"
            "try:\n    load_runner(sys.argv[1])\nexcept ArtifactError as e:\n    print(e, file=sys.stderr)\n"
            "    sys.exit(3)\n")
    r = subprocess.run([sys.executable, "-c", code, str(fake)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 3, r.stderr[-500:]
    assert str(fake) in r.stderr.strip().splitlines()[-1]


def test_pte_header_bounds():
    from mobile_export.artifact import check_pte_header

    import struct
    good = struct.pack("<I", 64) + b"ET12" + b"eh00" + struct.pack("<IQQQ", 32, 900, 1024, 100)
    check_pte_header(good + bytes(24), 2000, Path("x.pte"))
    for size, match in ((800, "program size 900"), (1100, "segments end at 1124")):
        with pytest.raises(ArtifactError, match=match):
            check_pte_header(good + bytes(24), size, Path("x.pte"))
    with pytest.raises(ArtifactError, match="offset 8: expected the extended header"):
        check_pte_header(good[:8] + b"xx00" + good[12:] + bytes(24), 2000, Path("x.pte"))


def test_garbage_tflite_is_refused(copy_of):
    pytest.importorskip("ai_edge_litert")
    fake = _as_format(copy_of, ".tflite", "litert", np.random.default_rng(1).bytes(4096))
    _refused(fake, "expected the TFLite flatbuffer identifier b'TFL3'")


def test_tflite_header_with_garbage_body_is_one_line(copy_of):
    """A file that passes the identifier check but is no model: LiteRT's own error, as one line."""
    pytest.importorskip("ai_edge_litert")
    body = bytearray(np.random.default_rng(2).bytes(4096))
    body[0:4] = (16).to_bytes(4, "little")
    body[4:8] = b"TFL3"
    fake = _as_format(copy_of, ".tflite", "litert", bytes(body))
    _refused(fake, "LiteRT cannot load it|signature lacks")


def test_garbage_onnx_is_refused(copy_of):
    fake_data = b"\x08" + np.random.default_rng(3).bytes(2048)
    path, m, mpath = copy_of
    path.write_bytes(fake_data)
    m = copy.deepcopy(m)
    m.update(artifact_bytes=len(fake_data), artifact_sha256=hashlib.sha256(path.name.encode() + fake_data).hexdigest())
    write_manifest(mpath, m, validate=True)
    _refused(path, "ONNX Runtime cannot load it")


def test_open_artifact_returns_the_checked_manifest(copy_of):
    path, m, mpath = copy_of
    checked = open_artifact(path)
    assert checked.manifest == json.loads(mpath.read_text()) and checked.format == "onnxruntime"

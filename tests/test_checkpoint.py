"""Checkpoint round trip and every bad-checkpoint error."""
import os
import subprocess
import sys

import pytest
import torch

from tqcodec.checkpoint import CheckpointError, load_checkpoint, read_checkpoint, save_checkpoint
from tqcodec.configs import get_config
from tqcodec.model import TQCodec


def test_round_trip(tmp_path, tiny_model):
    path = tmp_path / "m.pt"
    digest = save_checkpoint(path, tiny_model, step=7, extra={"note": "x"})
    model, meta = load_checkpoint(path)
    assert meta["step"] == 7 and meta["weights_sha256"] == digest and meta["config"] == "tiny"
    for (k, a), (_, b) in zip(tiny_model.state_dict().items(), model.state_dict().items()):
        assert torch.equal(a, b), k
    x = torch.randn(1, 1, 640)
    assert torch.equal(tiny_model.encode(x), model.encode(x))


def test_half_round_trip_is_close(tmp_path, tiny_model):
    path = tmp_path / "h.pt"
    save_checkpoint(path, tiny_model, half=True)
    model, meta = load_checkpoint(path)
    assert meta["dtype"] == "float16"
    assert all(p.dtype == torch.float32 for p in model.parameters())


def _rewrite(tmp_path, tiny_model, mutate):
    path = tmp_path / "bad.pt"
    save_checkpoint(path, tiny_model)
    blob = torch.load(path, weights_only=True)
    mutate(blob)
    torch.save(blob, path)
    return path


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        load_checkpoint(tmp_path / "nope.pt")


def test_not_a_checkpoint(tmp_path):
    p = tmp_path / "junk.pt"
    p.write_bytes(b"not a zip at all")
    with pytest.raises(CheckpointError, match="junk.pt: not a TQCodec checkpoint") as e:
        load_checkpoint(p)
    assert "weights_only" not in str(e.value) and "\n" not in str(e.value)


def test_a_pickle_with_code_is_refused_without_unsafe_advice(tmp_path):
    """torch's own message advises weights_only=False: unsafe for an untrusted file."""
    p = tmp_path / "code.pt"
    torch.save({"format": "tqcodec-checkpoint", "x": ValueError("code")}, p)
    with pytest.raises(CheckpointError, match="code.pt: not a TQCodec checkpoint") as e:
        load_checkpoint(p)
    assert "weights_only" not in str(e.value) and "\n" not in str(e.value)


def test_a_folder_is_not_a_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="is a folder"):
        load_checkpoint(tmp_path)


def test_checkpoint_without_hash_gets_it_computed(tmp_path, tiny_model):
    """Consistent fingerprints: a file without weights_sha256 gets the hash of its weights,
    the same value save_checkpoint records."""
    recorded = save_checkpoint(tmp_path / "a.pt", tiny_model)
    blob = torch.load(tmp_path / "a.pt", weights_only=True)
    del blob["weights_sha256"]
    torch.save(blob, tmp_path / "b.pt")
    _, meta = load_checkpoint(tmp_path / "b.pt")
    assert meta["weights_sha256"] == recorded


def test_saved_checkpoint_mode_follows_umask(tmp_path, tiny_model):
    old = os.umask(0o022)
    try:
        save_checkpoint(tmp_path / "m.pt", tiny_model)
    finally:
        os.umask(old)
    assert (tmp_path / "m.pt").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temp file left


def test_wrong_format(tmp_path):
    p = tmp_path / "other.pt"
    torch.save({"hello": 1}, p)
    with pytest.raises(CheckpointError, match="not a TQCodec checkpoint"):
        load_checkpoint(p)


def test_unknown_config(tmp_path, tiny_model):
    p = _rewrite(tmp_path, tiny_model, lambda b: b["config"].update(name="tq999"))
    with pytest.raises(CheckpointError, match="unknown config 'tq999'"):
        load_checkpoint(p)


def test_future_version(tmp_path, tiny_model):
    p = _rewrite(tmp_path, tiny_model, lambda b: b.update(format_version=99))
    with pytest.raises(CheckpointError, match="format version 99"):
        load_checkpoint(p)


def test_missing_and_unexpected_keys(tmp_path, tiny_model):
    def mutate(b):
        b["state_dict"].pop("quantizer.stages.0.projection.weight")
        b["state_dict"]["bogus.weight"] = torch.zeros(1)
        b.pop("weights_sha256")
    p = _rewrite(tmp_path, tiny_model, mutate)
    with pytest.raises(CheckpointError, match=r"missing keys \['quantizer.stages.0.projection.weight'\].*unexpected keys \['bogus.weight'\]"):
        load_checkpoint(p)


def test_shape_mismatch(tmp_path, tiny_model):
    def mutate(b):
        b["state_dict"]["quantizer.stages.0.projection.weight"] = torch.zeros(3, 3)
        b.pop("weights_sha256")
    p = _rewrite(tmp_path, tiny_model, mutate)
    with pytest.raises(CheckpointError, match="shape mismatch.*projection.weight: file \\(3, 3\\)"):
        load_checkpoint(p)


def test_tampered_weights(tmp_path, tiny_model):
    def mutate(b):
        b["state_dict"]["quantizer.stages.0.projection.weight"] += 1
    p = _rewrite(tmp_path, tiny_model, mutate)
    with pytest.raises(CheckpointError, match="hash mismatch"):
        load_checkpoint(p)


def test_config_mismatch_between_models(tmp_path):
    big = TQCodec(get_config("tiny-subband"))
    path = tmp_path / "m.pt"
    save_checkpoint(path, big)
    blob = read_checkpoint(path)
    blob["config"] = get_config("tiny").to_dict()
    blob.pop("weights_sha256")
    torch.save(blob, path)
    with pytest.raises(CheckpointError, match="do not match config 'tiny'"):
        load_checkpoint(path)


def test_cli_init_and_errors(tmp_path):
    out = tmp_path / "t.pt"
    r = subprocess.run([sys.executable, "-m", "tqcodec.checkpoint", "init", "--config", "tiny", "--out", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.exists()
    r = subprocess.run([sys.executable, "-m", "tqcodec.checkpoint", "show", str(tmp_path / "missing.pt")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "no such checkpoint file" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "tqcodec.checkpoint", "init", "--config", "zzz", "--out", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "unknown config 'zzz'" in r.stderr
    # nothing half-written: no temp files left beside the output
    assert [p.name for p in tmp_path.iterdir()] == ["t.pt"]


def test_bare_names_resolve_to_shipped_checkpoints_and_say_so(tmp_path, tiny_model, monkeypatch):
    import tqcodec.checkpoint as ckpt

    shipped = tmp_path / "checkpoints"
    save_checkpoint(shipped / "tq64-balanced.pt", tiny_model)
    monkeypatch.setattr(ckpt, "SHIPPED_DIR", shipped)
    monkeypatch.chdir(tmp_path)
    said = []
    assert ckpt.resolve_checkpoint("tq64.pt", announce=said.append) == shipped / "tq64-balanced.pt"
    assert "balanced encoder" in said[0] and "tq64.pt" in said[0]
    assert ckpt.resolve_checkpoint("tq64-balanced.pt", announce=said.append) == shipped / "tq64-balanced.pt"
    local = tmp_path / "tq64.pt"
    save_checkpoint(local, tiny_model)
    assert ckpt.resolve_checkpoint("tq64.pt", announce=said.append).resolve() == local  # a real file wins
    with pytest.raises(CheckpointError, match="nor among the shipped ones .*tq64-balanced.pt"):
        ckpt.resolve_checkpoint("tq128.pt")
    with pytest.raises(CheckpointError, match="sub/tq64.pt: no such checkpoint file"):
        ckpt.resolve_checkpoint("sub/tq64.pt")

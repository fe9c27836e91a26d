"""Hostile and unlucky input to the CLI: nothing a stream, an audio file or a checkpoint
claims is trusted before it is checked, every refusal is one line naming the file
(exit 2, no traceback), and it comes before any model is loaded or any work is done.

In-process (``tqcodec.__main__.main``) with a tiny checkpoint, so the whole file runs in
seconds.
"""
from __future__ import annotations

import os
import time

import numpy as np
import pytest
import soundfile as sf
import torch

import tqcodec.__main__ as cli
from tqcodec import bitstream as bs
from tqcodec.checkpoint import load_checkpoint
from tqcodec.concealment import plan_concealment
from tqcodec.configs import get_config
from tqcodec.model import TQCodec

SR = 44_100


@pytest.fixture(scope="module")
def tiny_header(ckpt):
    """Header fields that fit the tiny decoder (mono, its fingerprint)."""
    _, meta = load_checkpoint(ckpt)
    cfg = get_config("tiny")
    return dict(channels=1, n_q=cfg.n_codebooks, codebook_size=cfg.codebook_size,
                fingerprint=bytes.fromhex(meta["weights_sha256"])[:16], total_samples=None)


@pytest.fixture
def wav(tmp_path):
    path = tmp_path / "in.wav"
    sf.write(path, (0.3 * np.sin(np.arange(SR // 4) * 2 * np.pi * 440 / SR)).astype(np.float32), SR)
    return path


def cli_run(capsys, *args):
    """(exit code, stderr lines) of the CLI run in-process."""
    code = cli.main([str(a) for a in args])
    err = capsys.readouterr().err
    return code, [line for line in err.replace("\r", "\n").splitlines() if line.strip()]


def refused(capsys, *args, name, says):
    code, lines = cli_run(capsys, *args)
    assert code == 2, lines
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and not any("Traceback" in line for line in lines), lines
    assert errors[0].startswith(f"error: {name}"), errors[0]
    assert says in errors[0], errors[0]
    return errors[0]


@pytest.fixture
def no_model(monkeypatch):
    """Loading a model or a decoder is an error: the refusal must come first."""
    def boom(*a, **k):
        raise AssertionError("a model was loaded before the arguments were checked")
    monkeypatch.setattr(cli, "_load_model", boom)
    monkeypatch.setattr(cli, "_float_decoder", boom)
    monkeypatch.setattr(cli, "_artifact_decoder", boom)


def write_packets(path, header: bs.StreamHeader, packets):
    """A stream of CRC-valid packets: (sequence, codes) each."""
    path.write_bytes(bs.encode_header(header) + b"".join(bs.encode_packet(header, s, c) for s, c in packets))
    return path


# ----------------------------------------------------------------- 1: forged sequence jumps


@pytest.mark.parametrize("fpp,jumps", [(255, 1), (32, 1), (255, 10)])
def test_forged_sequence_jumps_decode_bounded(tmp_path, capsys, ckpt, tiny_header, fpp, jumps):
    h = bs.StreamHeader(frames_per_packet=fpp, **tiny_header)
    one = np.zeros((1, h.n_q, 1), np.int64)
    seqs = [(i % 2) * 32768 if jumps > 1 else i * 32767 for i in range(jumps + 1)]
    path = write_packets(tmp_path / "j.tqc", h, [(s, one + i) for i, s in enumerate(seqs)])
    t = time.perf_counter()
    code, lines = cli_run(capsys, "decode", "--lenient", path, tmp_path / "o.wav", "--ckpt", ckpt)
    assert code == 0, lines
    assert time.perf_counter() - t < 20
    reader = bs.StreamReader(strict=False)
    packets = reader.feed(path.read_bytes()) + reader.finish()
    plan = plan_concealment(packets, fpp, h.hop_length)
    assert plan.output_frames == jumps + 1 + 4 * jumps  # each jump: a 4-frame fade tail, a reset
    audio, _ = sf.read(tmp_path / "o.wav", always_2d=True)
    assert audio.shape[0] == plan.output_frames * h.hop_length
    assert sum("sequence_gap" in line for line in lines) == jumps
    assert f"{jumps} reset(s)" in lines[-1]


# ----------------------------------------------------------------- 2, 8, 11: paths


def test_lenient_decode_of_a_folder(tmp_path, capsys, no_model):
    refused(capsys, "decode", "--lenient", tmp_path, tmp_path / "o.wav", name=str(tmp_path), says="is a folder")
    refused(capsys, "decode", tmp_path, tmp_path / "o.wav", name=str(tmp_path), says="is a folder")
    refused(capsys, "info", tmp_path, name=str(tmp_path), says="is a folder")


def test_encode_refuses_to_overwrite_its_input(tmp_path, capsys, wav, no_model):
    before = wav.read_bytes()
    refused(capsys, "encode", wav, wav, name=str(wav), says="is the input file")
    os.symlink(wav, tmp_path / "link.wav")
    refused(capsys, "encode", wav, tmp_path / "link.wav", name=str(tmp_path / "link.wav"), says="is the input")
    assert wav.read_bytes() == before


def test_decode_refuses_to_overwrite_its_input(tmp_path, capsys, no_model):
    stream = tmp_path / "s.wav"  # a .tqc under an audio name, decoded onto itself
    stream.write_bytes(b"x")
    refused(capsys, "decode", stream, stream, name=str(stream), says="is the input file")


def test_encode_input_is_a_folder(tmp_path, capsys, no_model):
    refused(capsys, "encode", tmp_path, tmp_path / "o.tqc", name=str(tmp_path), says="is a folder")


@pytest.mark.parametrize("output,says", [("missing/o.wav", "does not exist"), ("o.xyz", "unknown audio format"),
                                         ("o", "unknown audio format"), (".", "is a folder")])
def test_decode_outputs_checked_before_work(tmp_path, capsys, no_model, output, says):
    stream = tmp_path / "s.tqc"
    stream.write_bytes(b"x")
    out = tmp_path / output
    refused(capsys, "decode", stream, out, name=str(out), says=says)


@pytest.mark.parametrize("output,says", [("missing/o.tqc", "does not exist"), (".", "is a folder")])
def test_encode_outputs_checked_before_work(tmp_path, capsys, wav, no_model, output, says):
    out = tmp_path / output
    refused(capsys, "encode", wav, out, name=str(out), says=says)


def test_read_only_output_folder(tmp_path, capsys, wav, no_model):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    refused(capsys, "encode", wav, ro / "o.tqc", name=str(ro / "o.tqc"), says="not writable")


def test_a_bad_header_is_reported_before_any_model_loads(tmp_path, capsys, no_model):
    bad = tmp_path / "b.tqc"
    bad.write_bytes(b"RIFF" + bytes(60))
    refused(capsys, "decode", bad, tmp_path / "o.wav", name=str(bad), says="bad_magic")


@pytest.mark.parametrize("start", ["-1", "nan", "inf"])
def test_bad_start(tmp_path, capsys, no_model, start):
    stream = tmp_path / "s.tqc"
    stream.write_bytes(b"x")
    refused(capsys, "decode", "--start", start, stream, tmp_path / "o.wav", name=str(stream), says="--start")


def test_garbage_checkpoint(tmp_path, capsys, wav):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(os.urandom(3000))
    line = refused(capsys, "encode", wav, tmp_path / "o.tqc", "--ckpt", junk, name=str(junk),
                   says="not a TQCodec checkpoint")
    assert "weights_only" not in line
    stream = tmp_path / "s.tqc"
    bs.write_stream(stream, bs.StreamHeader(channels=1, n_q=3, fingerprint=bytes(16), total_samples=0),
                    np.zeros((1, 3, 0), np.int64))
    line = refused(capsys, "decode", stream, tmp_path / "o.wav", "--ckpt", junk, name=str(junk),
                   says="not a TQCodec checkpoint")
    assert "weights_only" not in line


# ----------------------------------------------------------------- 4: NaN / Inf


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_is_refused_naming_the_sample(tmp_path, capsys, no_model, bad):
    x = np.zeros((SR, 2), np.float32)
    x[22_050, 1] = bad
    x[30_000:30_100] = bad
    path = tmp_path / "bad.wav"
    sf.write(path, x, SR, subtype="FLOAT")
    # the audio is checked before the model loads
    line = refused(capsys, "encode", path, tmp_path / "o.tqc", name=str(path), says="sample 22050 (0.500000 s)")
    assert "channel 1" in line and "201 bad value(s)" in line
    assert not (tmp_path / "o.tqc").exists()


# ----------------------------------------------------------------- 5: empty


def test_empty_audio_round_trips_to_an_empty_stream(tmp_path, capsys, ckpt):
    empty = tmp_path / "e.wav"
    sf.write(empty, np.zeros((0, 2), np.float32), SR)
    code, lines = cli_run(capsys, "encode", empty, tmp_path / "e.tqc", "--ckpt", ckpt, "--quiet")
    assert code == 0 and "wrote an empty stream" in lines[-1]
    header, codes = bs.read_stream(tmp_path / "e.tqc")
    assert header.total_samples == 0 and header.channels == 2 and codes.shape == (2, 3, 0)
    for extra in ([], ["--lenient"]):
        code, lines = cli_run(capsys, "decode", tmp_path / "e.tqc", tmp_path / "e2.wav", "--ckpt", ckpt, *extra)
        assert code == 0, lines
        audio, rate = sf.read(tmp_path / "e2.wav", always_2d=True)
        assert audio.shape == (0, 2) and rate == SR


# ----------------------------------------------------------------- 6: geometry


@pytest.mark.parametrize("fields,field", [
    (dict(bits=10, codebook_size=1024), "codebook_size"), (dict(n_q=5), "n_q"), (dict(n_q=255), "n_q"),
    (dict(sample_rate=1), "sample_rate"), (dict(hop_length=1), "hop_length"), (dict(channels=3), "channels"),
])
@pytest.mark.parametrize("lenient", [False, True])
def test_stream_geometry_is_checked_against_the_decoder(tmp_path, capsys, ckpt, tiny_header, fields, field,
                                                        lenient):
    h = bs.StreamHeader(**{**tiny_header, **fields, "total_samples": None})
    path = write_packets(tmp_path / "g.tqc", h, [(0, np.zeros((h.channels, h.n_q, 3), np.int64))])
    t = time.perf_counter()
    line = refused(capsys, "decode", path, tmp_path / "o.wav", "--ckpt", ckpt, *(["--lenient"] * lenient),
                   name=str(path), says=f"header field {field}")
    assert "[decoder_mismatch]" in line and f"byte {bs._FIELD_OFFSET[field]}" in line
    assert time.perf_counter() - t < 10
    assert not (tmp_path / "o.wav").exists()


def test_geometry_from_an_artifact_manifest():
    g = bs.DecoderGeometry.from_manifest({"sample_rate": 44100, "hop": 64, "n_codebooks": 10,
                                          "codebook_size": 512, "checkpoint_sha256": "ab" * 32})
    assert (g.sample_rate, g.hop_length, g.n_q, g.codebook_size, g.fingerprint) == (44100, 64, 10, 512,
                                                                                     bytes.fromhex("ab" * 16))
    with pytest.raises(bs.TQCError) as e:
        bs.DecoderGeometry.from_manifest({"sample_rate": 44100}, path="x.pte")
    assert e.value.kind == "invalid_argument" and "x.pte" in str(e.value) and "hop" in str(e.value)
    with pytest.raises(bs.TQCError) as e:  # the schema allows an empty hash: then nothing can be checked
        bs.DecoderGeometry.from_manifest({"sample_rate": 44100, "hop": 64, "n_codebooks": 10, "codebook_size": 512,
                                          "checkpoint_sha256": ""}, path="x.pte")
    assert e.value.kind == "invalid_argument" and "x.pte" in str(e.value) and "fingerprint" in str(e.value)


def test_fingerprint_is_checked_first(tmp_path, tiny_header):
    h = bs.StreamHeader(**{**tiny_header, "n_q": 5, "fingerprint": bytes(16)})
    g = bs.DecoderGeometry(sample_rate=SR, hop_length=64, n_q=3, codebook_size=512, fingerprint=b"\x01" * 16)
    with pytest.raises(bs.TQCError) as e:
        bs.check_stream_fits(h, g, "s.tqc")
    assert e.value.kind == "fingerprint_mismatch" and e.value.offset == 32


# ----------------------------------------------------------------- 7: checkpoint without a hash


def test_checkpoint_without_hash_encodes_and_decodes_with_a_checked_fingerprint(tmp_path, capsys, ckpt, wav):
    blob = torch.load(ckpt, weights_only=True)
    recorded = blob.pop("weights_sha256")
    nohash = tmp_path / "nohash.pt"
    torch.save(blob, nohash)
    code, lines = cli_run(capsys, "encode", wav, tmp_path / "s.tqc", "--ckpt", nohash, "--quiet")
    assert code == 0, lines
    assert bs.read_header(tmp_path / "s.tqc").fingerprint == bytes.fromhex(recorded)[:16]
    code, lines = cli_run(capsys, "decode", tmp_path / "s.tqc", tmp_path / "o.wav", "--ckpt", nohash)
    assert code == 0, lines
    torch.manual_seed(9)
    other = tmp_path / "other.pt"
    blob["state_dict"] = TQCodec(get_config("tiny")).state_dict()
    torch.save(blob, other)  # other weights, no hash either: the fingerprint check still runs
    refused(capsys, "decode", tmp_path / "s.tqc", tmp_path / "o2.wav", "--ckpt", other,
            name=str(tmp_path / "s.tqc"), says="fingerprint_mismatch")


# ----------------------------------------------------------------- 9: modes


def test_outputs_follow_the_umask(tmp_path, capsys, ckpt, wav):
    old = os.umask(0o022)
    try:
        assert cli_run(capsys, "encode", wav, tmp_path / "s.tqc", "--ckpt", ckpt, "--quiet")[0] == 0
        assert cli_run(capsys, "decode", tmp_path / "s.tqc", tmp_path / "o.wav", "--ckpt", ckpt)[0] == 0
    finally:
        os.umask(old)
    assert (tmp_path / "s.tqc").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "o.wav").stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", "o.wav", "s.tqc"]  # no temp files


# ----------------------------------------------------------------- a CRC-valid header with nonsense


def test_forged_header_crc_valid_total_samples_huge(tmp_path, capsys, ckpt, tiny_header):
    """total_samples claims 2^63 samples; the output is capped by what the packets hold."""
    h = bs.StreamHeader(**{**tiny_header, "total_samples": 1 << 63})
    path = write_packets(tmp_path / "t.tqc", h, [(0, np.zeros((1, 3, 32), np.int64))])
    code, lines = cli_run(capsys, "decode", "--lenient", path, tmp_path / "o.wav", "--ckpt", ckpt)
    assert code == 0, lines
    assert sf.info(tmp_path / "o.wav").frames == 32 * 64
    refused(capsys, "decode", path, tmp_path / "o2.wav", "--ckpt", ckpt, name=str(path), says="truncated_stream")

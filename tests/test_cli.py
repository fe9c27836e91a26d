"""The codec users run: encode/decode/info/eval, and what bad input gets."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from tqcodec import bitstream
from tqcodec.audio_io import load_audio
from tqcodec.checkpoint import load_checkpoint, save_checkpoint
from tqcodec.compress import encode_audio
from tqcodec.concealment import FADE_SAMPLES

CLIP = Path(__file__).resolve().parents[1] / "assets" / "chaos_god_clip.ogg"


def run(*args):
    return subprocess.run([sys.executable, "-m", "tqcodec", *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def short_music(tmp_path_factory):
    audio, _ = load_audio(CLIP)
    path = tmp_path_factory.mktemp("music") / "clip.flac"
    sf.write(path, audio[:, 44_100 * 2: 44_100 * 5].T, 44_100)  # 3 s of real music, stereo
    return path


def test_file_round_trip_equals_in_memory(tmp_path, ckpt, short_music):
    out = tmp_path / "c.tqc"
    r = run("encode", short_music, out, "--ckpt", ckpt, "--quiet")
    assert r.returncode == 0, r.stderr
    header, codes = bitstream.read_stream(out)
    model, _ = load_checkpoint(ckpt)
    audio, _ = load_audio(short_music)
    assert np.array_equal(codes, encode_audio(model, audio).numpy())
    assert header.channels == 2 and header.total_samples == audio.shape[-1]
    wav = tmp_path / "d.wav"
    r = run("decode", out, wav, "--ckpt", ckpt)
    assert r.returncode == 0, r.stderr
    decoded, sr = sf.read(wav, always_2d=True)
    assert sr == 44_100 and decoded.shape == (audio.shape[-1], 2)
    r = run("info", out)
    assert r.returncode == 0 and "overhead" in r.stdout and "channels           2" in r.stdout


def test_resampled_mono_input(tmp_path, ckpt):
    path = tmp_path / "m.wav"
    sf.write(path, (0.1 * np.sin(np.arange(22_050) / 10)).astype(np.float32), 22_050)
    r = run("encode", path, tmp_path / "m.tqc", "--ckpt", ckpt, "--quiet")
    assert r.returncode == 0, r.stderr
    header, codes = bitstream.read_stream(tmp_path / "m.tqc")
    assert header.channels == 1 and header.total_samples == 44_100


@pytest.mark.parametrize("case", ["unreadable", "too_many_channels", "bad_output_dir", "missing_ckpt"])
def test_bad_input_is_one_clear_line(tmp_path, ckpt, case):
    out = tmp_path / "o.tqc"
    if case == "unreadable":
        bad = tmp_path / "x.wav"
        bad.write_bytes(b"RIFF nonsense")
        r = run("encode", bad, out, "--ckpt", ckpt)
        expect = "x.wav"
    elif case == "too_many_channels":
        bad = tmp_path / "six.wav"
        sf.write(bad, np.zeros((1000, 6), np.float32), 44_100)
        r = run("encode", bad, out, "--ckpt", ckpt)
        expect = "6 channels"
    elif case == "bad_output_dir":
        src = tmp_path / "s.wav"
        sf.write(src, np.zeros(4410, np.float32), 44_100)
        blocker = tmp_path / "file"
        blocker.write_text("")
        r = run("encode", src, blocker / "o.tqc", "--ckpt", ckpt)
        expect = "o.tqc"
    else:
        r = run("encode", CLIP, out, "--ckpt", tmp_path / "none.pt")
        expect = "no such checkpoint file"
    assert r.returncode == 2
    assert expect in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


def test_damaged_stream_strict_and_lenient(tmp_path, ckpt, short_music):
    good = tmp_path / "g.tqc"
    assert run("encode", short_music, good, "--ckpt", ckpt, "--quiet").returncode == 0
    data = bytearray(good.read_bytes())
    header = bitstream.decode_header(bytes(data[:bitstream.HEADER_SIZE]))
    second = bitstream.packet_offset(header, 1)
    data[second + 8] ^= 0xFF  # corrupt packet 1's payload
    bad = tmp_path / "b.tqc"
    bad.write_bytes(bytes(data))
    r = run("decode", bad, tmp_path / "strict.wav", "--ckpt", ckpt)
    assert r.returncode == 2 and "bad_crc" in r.stderr and f"byte {second}" in r.stderr
    assert not (tmp_path / "strict.wav").exists()
    r = run("decode", bad, tmp_path / "lenient.wav", "--ckpt", ckpt, "--lenient")
    assert r.returncode == 0, r.stderr
    assert "bad_crc" in r.stderr
    audio, _ = sf.read(tmp_path / "lenient.wav", always_2d=True)
    hop, fpp = header.hop_length, header.frames_per_packet
    # the lost packet is concealed: a FADE_SAMPLES fade-out, then silence
    assert np.all(audio[fpp * hop + FADE_SAMPLES: 2 * fpp * hop] == 0)
    assert np.any(audio[fpp * hop: fpp * hop + FADE_SAMPLES] != 0)
    assert audio.shape[0] == header.total_samples  # nothing inserted or lost on a short gap


def test_fingerprint_mismatch(tmp_path, ckpt, short_music):
    from tqcodec.configs import get_config
    from tqcodec.model import TQCodec
    other = tmp_path / "other.pt"
    torch.manual_seed(5)
    save_checkpoint(other, TQCodec(get_config("tiny")))
    s = tmp_path / "s.tqc"
    assert run("encode", short_music, s, "--ckpt", ckpt, "--quiet").returncode == 0
    r = run("decode", s, tmp_path / "x.wav", "--ckpt", other)
    assert r.returncode == 2 and "fingerprint_mismatch" in r.stderr


def test_eval_compare_on_real_music(tmp_path, ckpt, short_music):
    r = run("eval", short_music, "--ckpt", ckpt, "--compare", "--json", "--max-seconds", "3", "--visqol-seconds", "2")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    codecs = set(d["mean"])
    assert "tiny" in codecs
    expected = {"opus": "opusenc", "vorbis": "oggenc", "mp3": "lame", "aac": "ffmpeg"}
    for name, tool in expected.items():
        if shutil.which(tool):
            # present tools either scored or reported why not (Vorbis refuses very low rates)
            assert name in codecs or any(f.startswith(name) for f in d["failures"])
            if name in codecs:
                assert d["mean"][name]["kbps"] > 0
        else:
            assert any(tool in t for t in d["missing_tools"])
    for row in d["files"]:
        assert {"lsd", "lsd_l", "lsd_h", "snr", "visqol"} <= set(row)
    from tqcodec.metrics import visqol_available
    if visqol_available():  # every codec scored by ViSQOL (MOS-LQO lies in 1..5)
        assert d["visqol_status"] == "measured"
        assert all(1.0 <= row["visqol"] <= 5.0 for row in d["files"])
    else:
        assert d["visqol_status"] != "measured" and all(row["visqol"] is None for row in d["files"])

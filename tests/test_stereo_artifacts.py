"""Stereo in one call on every backend: a 2-channel artifact decodes each channel as two passes of the
mono artifact do (within int8 tolerance), in one call per chunk, through the manifest's layout."""
from pathlib import Path

import numpy as np
import pytest
import torch

import tqcodec.__main__ as cli
from mobile_export.backends import get_backend
from mobile_export.backends.onnx.runner import OnnxChunkRunner
from mobile_export.calibration import DEFAULT_CLIP, load_music, slice_music
from mobile_export.errors import ExportError
from mobile_export.pipeline import ExportJob, load_sources
from mobile_export.runners import load_runner
from tqcodec.metrics import snr_db
from tqcodec.audio_io import load_audio, save_audio
from tqcodec.prune import load_pruned

K = 4
FRAMES = 160  # ~0.23 s per channel: enough chunks to carry state, cheap on every runtime


@pytest.fixture(scope="module")
def music(ckpt):
    return slice_music(load_music(ckpt, max_seconds=4.0), FRAMES)


def _export(backend, ckpt, music, out, channels):
    try:
        b = get_backend(backend)
    except ExportError as e:
        pytest.skip(str(e))
    seconds = FRAMES * 64 / 44_100  # all of it, stated (ExecuTorch otherwise asks for 20 s of verification)
    job = ExportJob(Path(ckpt), Path(out), "int8", K, channels=channels, progress=False, verify_seconds=seconds)
    job.check(b)
    return b.export(job, load_sources(job, music))


@pytest.mark.parametrize("backend", ["executorch", "litert", "onnx", "coreml"])
def test_stereo_artifact_equals_two_mono_passes(backend, ckpt, music, tmp_path):
    stereo = _export(backend, ckpt, music, tmp_path / "s", 2)
    mono = _export(backend, ckpt, music, tmp_path / "m", 1)
    assert stereo.passed and mono.passed, (stereo.failures, mono.failures)
    assert stereo.artifact.name.endswith(f"-k{K}-stereo{stereo.artifact.suffix}")
    m = stereo.manifest
    assert (m["channels"], m["channel_layout"]) == (2, "planar")
    assert m["inputs"][0]["shape"] == [2, music.codes.shape[1], K]
    assert all(t["shape"][0] == 2 for t in m["inputs"] + m["outputs"] + m["state"])
    assert m["gmacs_per_s"] == pytest.approx(mono.manifest["gmacs_per_s"], rel=1e-6)  # per channel

    codes = music.codes[:2].numpy()
    s_dec, m_dec = load_runner(stereo.artifact), load_runner(mono.artifact)
    calls = {"s": 0, "m": 0}
    for key, dec in (("s", s_dec), ("m", m_dec)):
        run = dec.runner.run_chunk

        def counted(c, st, run=run, key=key):
            calls[key] += 1
            return run(c, st)
        dec.runner.run_chunk = counted
    a_s = s_dec.decode_channels(codes, progress=None)
    a_m = m_dec.decode_channels(codes, progress=None)
    assert calls == {"s": FRAMES // K, "m": 2 * FRAMES // K}  # stereo: one call per chunk
    ref = load_pruned(ckpt).streaming(K, channels=2).decode(torch.from_numpy(codes)).numpy()
    assert a_s.shape == a_m.shape == ref.shape
    for ch in range(2):
        assert snr_db(ref[ch], a_s[ch]) >= 25 and snr_db(ref[ch], a_m[ch]) >= 25
        assert snr_db(a_m[ch], a_s[ch]) >= 25, "stereo and mono int8 artifacts disagree"
    # a mono stream on a stereo artifact: both rows get its codes, row 0 is kept (one call per chunk)
    one = s_dec.decode_channels(codes[:1], progress=None)
    assert one.shape == (1, ref.shape[1]) and snr_db(ref[0], one[0]) >= 25
    with pytest.raises(ValueError, match="2-channel artifact cannot decode a 3-channel stream"):
        s_dec.decode_channels(np.concatenate([codes, codes[:1]]), progress=None)


def test_tqcodec_decode_artifact_plays_a_stereo_stream_in_one_call_per_chunk(ckpt, music, tmp_path, monkeypatch):
    """``python -m tqcodec decode x.tqc out.wav --artifact tiny-…-stereo.onnx``: the user's command
    decodes both channels of a stereo stream through the stereo artifact as the checkpoint does."""

    art = _export("onnx", ckpt, music, tmp_path / "s", 2).artifact
    audio, sr = load_audio(DEFAULT_CLIP)
    wav = tmp_path / "clip.wav"
    save_audio(wav, audio[:, : sr // 2], sr)
    assert cli.main(["encode", str(wav), str(tmp_path / "x.tqc"), "--ckpt", str(ckpt), "--quiet"]) == 0
    calls = []
    run = OnnxChunkRunner.run_chunk

    def counted(self, codes, state):
        calls.append(codes.shape)
        return run(self, codes, state)
    monkeypatch.setattr(OnnxChunkRunner, "run_chunk", counted)
    assert cli.main(["decode", str(tmp_path / "x.tqc"), str(tmp_path / "a.wav"), "--artifact", str(art)]) == 0
    assert calls and all(shape[0] == 2 for shape in calls)  # both channels in every call
    assert cli.main(["decode", str(tmp_path / "x.tqc"), str(tmp_path / "f.wav"), "--ckpt", str(ckpt)]) == 0
    a, _ = load_audio(tmp_path / "a.wav")
    f, _ = load_audio(tmp_path / "f.wav")
    assert a.shape == f.shape and a.shape[0] == 2
    for ch in range(2):
        assert snr_db(f[ch], a[ch]) >= 25

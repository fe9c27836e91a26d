"""LiteRT export: the .tflite runs in ai-edge-litert chunk by chunk with state carried and
matches the float decoder on real music; float32 state at the boundary; the manifest is
the contract the apps and ``tqcodec decode --artifact`` read."""
import json

import numpy as np
import pytest
import torch

pytest.importorskip("litert_torch")
pytest.importorskip("ai_edge_litert")

from pathlib import Path  # noqa: E402

from mobile_export import litert  # noqa: E402
from mobile_export import verify as verify_mod  # noqa: E402
from mobile_export.backends import get_backend  # noqa: E402
from mobile_export.backends.litert.convert import SignatureModule, int8_codebook  # noqa: E402
from mobile_export.backends.litert.quantizer import simulator  # noqa: E402
from mobile_export.backends.litert.runner import LiteRTChunkRunner  # noqa: E402
from mobile_export.pipeline import ExportJob, Sources, torch_threads  # noqa: E402
from mobile_export.runners import load_runner, manifest_path  # noqa: E402
from mobile_export.sensitivity import layer_gains  # noqa: E402


def _short_clip(tmp_path):
    from mobile_export.calibration import DEFAULT_CLIP
    from tqcodec.audio_io import load_audio, save_audio

    audio, sr = load_audio(DEFAULT_CLIP)
    path = tmp_path / "clip.wav"
    save_audio(path, audio[:, 3 * sr:5 * sr], sr)
    return path


def _checkpoint(tmp_path, model):
    from tqcodec.checkpoint import save_checkpoint

    ck = tmp_path / "tiny.pt"
    save_checkpoint(ck, model, extra={"trained": False})
    return ck


def test_litert_cli_tiny_int8(tmp_path, tiny_model):
    out = tmp_path / "out"
    rc = litert.main(["--ckpt", str(_checkpoint(tmp_path, tiny_model)), "--out", str(out), "--chunk-frames", "4",
                      "--channels", "1",
                      "--calibration", str(_short_clip(tmp_path))])
    assert rc == 0
    path = out / "tiny-int8-k4.tflite"
    m = json.loads(manifest_path(path).read_text())
    assert m["format"] == "litert" and m["precision"] == "int8"
    assert m["verification"]["passed"] and m["verification"]["failures"] == []
    assert m["verification"]["passed"] and m["verification"]["snr_db_vs_float"] >= 25
    assert m["verification"]["seconds_of_music"] == pytest.approx(4, abs=0.1)
    io = m["litert_io"]
    assert io["float_state_at_boundary"] is True
    names = [s["name"] for s in m["state"]]
    assert set(io["inputs"]) == {"codes", *names} and set(io["outputs"]) == {"audio", *(f"next_{n}" for n in names)}
    assert io["boundary"]["inputs"]["codes"]["dtype"] == "int32"
    q = m["quantization"]
    # the output stage stays float by default (StreamingDecoder.output_stage): 15 % of tiny's MACs
    assert q["float_modules"] == ["upsamplers.2.conv", "res_blocks.2.0.conv_a.conv", "res_blocks.2.0.conv_b", "conv_out.conv"]
    assert q["int8_mac_share"] == pytest.approx(0.849, abs=0.002)
    assert m["host_timing"]["threads"] == 1 and m["host_timing"]["real_time_factor_median"] > 0
    assert not list(out.glob(".*")), "temporary files left behind"

    # what `tqcodec decode --artifact` does: runner from the file and its manifest alone
    from mobile_export.calibration import encode_music
    from tqcodec.prune import prune

    music = encode_music(tiny_model, _short_clip(tmp_path))
    dec = load_runner(path)
    audio = dec.decode_channels(music.codes[:, :, :100].numpy())
    with torch.no_grad():
        ref = prune(tiny_model, {}).streaming(4).decode(music.codes[0, :, :100]).numpy()
    assert audio.shape == (2, 100 * 64)
    snr = 10 * np.log10(np.sum(ref ** 2) / np.sum((ref - audio[0]) ** 2))
    assert snr >= 25


def test_litert_cli_tiny_fp32_and_failure_exit_code(tmp_path, tiny_model, monkeypatch):
    ck, clip = _checkpoint(tmp_path, tiny_model), _short_clip(tmp_path)
    args = ["--ckpt", str(ck), "--out", str(tmp_path), "--chunk-frames", "4", "--channels", "1", "--calibration", str(clip),
            "--precision", "fp32"]
    assert litert.main(args) == 0
    m = json.loads((tmp_path / "tiny-fp32-k4.manifest.json").read_text())
    assert m["verification"]["snr_db_vs_float"] >= 80 and m["quantization"]["int8_mac_share"] == 0.0
    assert all(v["dtype"] in ("float32", "int32") for v in m["litert_io"]["boundary"]["inputs"].values())

    monkeypatch.setitem(verify_mod.THRESHOLDS, "fp32", {"snr_db_vs_float": 500.0})
    assert litert.main(args) == 1
    m = json.loads((tmp_path / "tiny-fp32-k4.manifest.json").read_text())
    assert m["verification"]["passed"] is False and m["verification"]["failures"]


def test_litert_cli_errors(tmp_path, capsys):
    assert litert.main(["--ckpt", str(tmp_path / "missing.pt"), "--out", str(tmp_path)]) == 2
    assert "error:" in capsys.readouterr().err


def test_runner_quantises_int8_boundary_tensors():
    """If a converter ever makes a boundary tensor int8, the runner (de)quantises it with its details."""
    r = object.__new__(LiteRTChunkRunner)
    r.in_details = {"x": {"dtype": np.int8, "quantization": (0.5, 3)}}
    r.out_details = {"y": {"dtype": np.int8, "quantization": (0.25, -2)}}
    q = r._feed("x", np.array([0.0, 1.0, -70.0, 70.0], np.float32))
    np.testing.assert_array_equal(q, np.array([3, 5, -128, 127], np.int8))
    np.testing.assert_allclose(r._read("y", np.array([-2, 2, 127], np.int8)), [0.0, 1.0, 32.25])


def test_sensitivity_ranks_layers_by_the_db_they_cost(tiny_model):
    """Simulated per-layer gain: each candidate kept in float alone, against one all-int8 baseline."""
    from mobile_export.calibration import encode_music
    from tqcodec.prune import prune

    music = encode_music(tiny_model, None, max_seconds=2, excerpt_seconds=1)
    dec = prune(tiny_model, {}).streaming(4)
    target = int8_codebook(dec)

    def export_fn():
        sig = SignatureModule(target, float_state_boundary=True).eval()
        return torch.export.export(sig, (), sig.sample_kwargs()).module()

    reference = SignatureModule(dec, float_state_boundary=False).eval()
    with torch_threads(1):
        base, costs = layer_gains(simulator(export_fn, reference, dec, music.codes, 0.25),
                                  {"conv_out": 0.01, "upsamplers.2": 0.08}, progress=False)
    assert 20 < base < 80
    assert {c.module for c in costs} == {"conv_out", "upsamplers.2"}
    gains = [c.gain_db for c in costs]
    assert gains == sorted(gains, reverse=True)  # largest gain first
    assert all(c.snr_db_if_float == pytest.approx(base + c.gain_db) for c in costs)


@pytest.fixture(scope="module")
def tq64():
    """The real tq64 decoder (untrained) and real-music codes.

    The codes come from the clip through an untrained tq64-balanced encoder (same 10×512
    code layout): tq64's own 72-GMAC/s encoder would take minutes on a 2-core CI machine,
    and untrained codes are as good as any for comparing an artifact with its float model.
    """
    from mobile_export.calibration import encode_music
    from tqcodec.configs import get_config
    from tqcodec.prune import prune
    from tqcodec.model import TQCodec

    torch.manual_seed(0)
    pruned = prune(TQCodec(get_config("tq64")).eval(), {})
    music = encode_music(TQCodec(get_config("tq64-balanced")).eval(), None, max_seconds=4, excerpt_seconds=2)
    return pruned, music


@pytest.mark.real_size
def test_litert_tq64_int8(tmp_path, tq64):
    pruned, music = tq64
    res = get_backend("litert").export(ExportJob(Path("unused.pt"), tmp_path, "int8", 16, progress=False),
                                       Sources(pruned, music, False, "test"))
    assert res.passed, res.verification.to_dict()
    m = res.manifest
    assert m["litert_io"]["float_state_at_boundary"] is True
    assert m["quantization"]["int8_mac_share"] == pytest.approx(0.873, abs=0.002)  # output stage float
    assert m["artifact_bytes"] < 7e6  # int8 weights and codebook table (fp32: 24 MB)
    assert m["gmacs_per_s"] == pytest.approx(6.2, rel=0.02)
    assert 0 < m["host_timing"]["real_time_factor_median"]

"""ExecuTorch export: the whole path (export → quantize → lower → .pte → runtime → manifest).

The tiny config runs every step (the toolchain's lowering dominates: 10–30 s per program on
a shared 2-core host); the real tq64 decoder is exported once at int8 (untrained weights,
verified over a short slice: the CLI verifies ≥ 20 s), and the float streaming decoder is
checked against the offline decoder over ≥ 30 s of music for K in {1, 5, 16, 64}.
"""
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("executorch")

from mobile_export import executorch as et_cli  # noqa: E402
from mobile_export.backends.executorch.graph import export_decoder  # noqa: E402
from mobile_export.calibration import encode_music  # noqa: E402
from mobile_export.cli import export  # noqa: E402
from mobile_export.pipeline import ExportJob  # noqa: E402
from mobile_export.runners import load_runner, open_runner  # noqa: E402
from tqcodec.metrics import snr_db  # noqa: E402
from tqcodec.macs import chunk_macs  # noqa: E402
from tqcodec.prune import load_pruned, prune  # noqa: E402
from tqcodec.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from tqcodec.configs import get_config  # noqa: E402
from tqcodec.model import TQCodec  # noqa: E402

K_TINY = 2  # the LSTM is unrolled over the chunk: a short chunk lowers fastest


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One thread: the export is latency-bound and the host is shared (two threads thrash)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _checkpoint(tmp_path_factory, name: str):
    path = tmp_path_factory.mktemp(name) / f"{name}.pt"
    torch.manual_seed(0)
    save_checkpoint(path, TQCodec(get_config(name)).eval(), extra={"trained": False})
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = _checkpoint(tmp_path_factory, "tiny")
    model, _ = load_checkpoint(path)
    return path, encode_music(model, None, max_seconds=4.0, excerpt_seconds=2.0)  # 2 excerpts of 2 s


def _export(path, out, precision, K, music, **job):
    """Mono unless asked (the tiny tests check the one-channel layout; tests/test_stereo_artifacts.py
    and the tq64 tests below cover stereo, the CLI's default)."""
    job.setdefault("channels", 1)
    return export("executorch", ExportJob(Path(path), Path(out), precision, K, progress=False, **job), music)


@pytest.fixture(scope="module")
def tiny_fp32(tiny, tmp_path_factory):
    path, music = tiny
    return _export(path, tmp_path_factory.mktemp("fp32"), "fp32", K_TINY, music, verify_seconds=1.0)


@pytest.fixture(scope="module")
def tiny_int8(tiny, tmp_path_factory):
    path, music = tiny
    return _export(path, tmp_path_factory.mktemp("int8"), "int8", K_TINY, music, calibration_seconds=0.25,
                   verify_seconds=1.0)


def test_fp32_matches_float_and_carries_state(tiny, tiny_fp32):
    path, music = tiny
    assert not tiny_fp32.failures
    assert tiny_fp32.artifact.name == "tiny-fp32-k2.pte" and tiny_fp32.artifact.is_file()
    assert tiny_fp32.manifest["verification"]["snr_db_vs_float"] >= 80
    dec = load_pruned(path).streaming(K_TINY)
    codes = music.codes[0, :, : 12 * K_TINY]
    ref = dec.decode(codes).numpy()
    _, runner = open_runner(tiny_fp32.artifact)  # manifest found beside the .pte, every check first
    state, out, fresh = runner.init_state(), [], []
    for start in range(0, codes.shape[-1], K_TINY):
        chunk = codes[None, :, start:start + K_TINY].numpy().astype(np.int32)
        audio, state = runner.run_chunk(chunk, state)
        out.append(audio)
        fresh.append(runner.run_chunk(chunk, runner.init_state())[0])
    np.testing.assert_allclose(np.concatenate(out), ref, atol=1e-4)
    assert np.abs(np.concatenate(fresh) - ref).max() > 1e-3  # the state really matters
    decoded = load_runner(tiny_fp32.artifact).decode_channels(music.codes[:, :, :31].numpy())  # not a multiple of K
    assert decoded.shape == (2, 31 * 64)
    np.testing.assert_allclose(decoded[0], dec.decode(music.codes[0, :, :31]).numpy(), atol=1e-4)


def test_manifest_contract(tiny_fp32):
    m = json.loads(tiny_fp32.manifest_path.read_text())
    assert tiny_fp32.manifest_path.name == "tiny-fp32-k2.manifest.json"
    assert m["format"] == "executorch-xnnpack" and m["precision"] == "fp32" and m["config"] == "tiny"
    assert m["sample_rate"] == 44100 and m["hop"] == 64 and m["chunk_frames"] == K_TINY
    assert len(m["checkpoint_sha256"]) == 64 and m["artifact"] == tiny_fp32.artifact.name
    assert m["inputs"][0] == {"name": "codes", "shape": [1, 3, K_TINY], "dtype": "int32"}
    assert m["outputs"][0] == {"name": "audio", "shape": [1, 1, 64 * K_TINY], "dtype": "float32"}
    assert [s["name"] for s in m["state"]][:3] == ["conv_in", "lstm0_h", "lstm0_c"]
    assert m["inputs"][1:] == m["state"] and len(m["outputs"]) == 1 + len(m["state"])
    assert all(s["dtype"] == "float32" for s in m["state"])
    v = m["verification"]
    for key in ("snr_db_vs_float", "lsd_delta", "max_abs_err", "passed", "runtime", "snr_db_by_quarter"):
        assert key in v
    assert v["passed"] is True and v["failures"] == [] and len(v["snr_db_by_quarter"]) == 4
    t = m["host_timing"]
    assert t["threads"] == 1 and t["real_time_factor_median"] > 0
    assert m["gmacs_per_s"] > 0
    assert m["delegation"]["delegated_mac_share"] >= 0.95 and m["quantization"]["int8_mac_share"] == 0
    assert m["artifact_bytes"] == tiny_fp32.artifact.stat().st_size == m["size_check"]["bytes"]
    # MACs read off the lowered graph agree with fvcore's count of the PyTorch decoder
    per_chunk = m["delegation"]["macs_per_chunk"]
    assert per_chunk == m["macs_per_chunk"]
    assert m["gmacs_per_s"] == pytest.approx(per_chunk * 44100 / (64 * K_TINY) / 1e9, rel=1e-3)


def _int8_share_outside_output_stage(dec) -> float:
    total, by_module = chunk_macs(dec)
    return 1 - sum(by_module[k] for k in dec.output_stage()) / total


def test_int8_is_fully_delegated_and_quantized(tiny, tiny_int8, tiny_fp32):
    m = tiny_int8.manifest
    assert m["precision"] == "int8" and tiny_int8.artifact.name == "tiny-int8-k2.pte"
    assert m["delegation"]["delegated_mac_share"] >= 0.95
    # everything but the output stage, the LSTM's matmuls included
    assert m["quantization"]["int8_mac_share"] == pytest.approx(
        _int8_share_outside_output_stage(load_pruned(tiny[0]).streaming(K_TINY)), abs=1e-6)
    assert m["size_check"]["bytes"] <= m["size_check"]["bound_bytes"]
    assert tiny_int8.artifact.stat().st_size < tiny_fp32.artifact.stat().st_size
    v = m["verification"]
    assert 10 < v["snr_db_vs_float"] < 80  # really quantized, and not garbage
    assert v["passed"] is (not tiny_int8.failures)


def test_quantizer_keeps_named_modules_float(tiny):
    from torch.nn import Conv1d, Linear

    from mobile_export.backends.executorch.delegation import mac_shares
    from mobile_export.backends.executorch.quantizer import quantize

    path, music = tiny
    dec = load_pruned(path).streaming(K_TINY)
    q = quantize(export_decoder(dec), dec, music.codes, keep_float=["conv_out"], calibration_seconds=0.1,
                 desc=None)
    shares = mac_shares(q)  # the q/dq graph, before lowering
    _, by_module = chunk_macs(dec)
    assert shares.total == sum(by_module[n] for n, m in dec.named_modules() if isinstance(m, (Conv1d, Linear)))
    assert shares.int8_share == pytest.approx(1 - by_module["conv_out.conv"] / shares.total)


def test_forced_threshold_failure_still_writes_manifest(tiny, tmp_path, monkeypatch, capsys):
    import mobile_export.pipeline as pipeline
    import mobile_export.verify as verify

    path, music = tiny
    monkeypatch.setitem(verify.THRESHOLDS, "fp32", {"snr_db_vs_float": 1000.0})
    monkeypatch.setattr(pipeline, "load_music", lambda *a, **k: music)  # the CLI would encode the clip
    assert et_cli.main(["--ckpt", str(path), "--out", str(tmp_path), "--precision", "fp32", "--channels", "1",
                    "--chunk-frames", "3"]) == 1
    assert "FAILED" in capsys.readouterr().out
    m = json.loads((tmp_path / "tiny-fp32-k3.manifest.json").read_text())
    assert m["verification"]["passed"] is False and m["verification"]["failures"]
    assert m["verification"]["seconds_of_music"] == pytest.approx(4.0, abs=0.1)


def test_lstm_matmuls_are_int8_and_its_cell_arithmetic_float(tiny):
    """The LSTM's MACs run int8; sigmoid/tanh and the c/h updates see no quantize/dequantize."""
    from mobile_export.backends.executorch.quantizer import module_path, quantize

    path, music = tiny
    dec = load_pruned(path).streaming(K_TINY)
    q = quantize(export_decoder(dec), dec, music.codes, keep_float=[], calibration_seconds=0.1, desc=None)

    def dequantized(node):
        return any("dequantize" in str(a.target) for a in node.all_input_nodes)

    nodes = [n for n in q.graph.nodes if n.op == "call_function"]
    matmuls = [n for n in nodes if "linear" in str(n.target) and module_path(n).startswith("lstm.")]
    cell = [n for n in nodes if module_path(n).startswith("lstm.") and
            any(op in str(n.target) for op in ("sigmoid", "tanh", "mul"))]
    assert len(matmuls) == len(dec.lstm) * (1 + K_TINY)  # input projection + one recurrent call per frame
    assert all(dequantized(n) for n in matmuls)
    assert cell and not any(dequantized(n) for n in cell)
    quantize = torch.ops.quantized_decomposed.quantize_per_tensor.default
    assert all(any(u.target != quantize for u in n.users) for n in cell)  # h is quantized only into the matmul


def test_int8_keeps_the_output_stage_float_by_default(tiny, tiny_int8):
    path, _ = tiny
    stage = list(load_pruned(path).streaming(K_TINY).output_stage())
    assert stage[-1] == "conv_out" and stage[0].startswith("upsamplers.") and stage[1].startswith("res_blocks.")
    assert tiny_int8.manifest["quantization"]["keep_float"][:3] == stage
    assert 0 < tiny_int8.manifest["quantization"]["int8_mac_share"] < 1


def test_int8_below_threshold_keeps_noisiest_layers_fp32(tiny, tmp_path, monkeypatch):
    """A failing int8 build measures each layer's gain if kept float and rebuilds with the best non-LSTM
    layers in fp32 on top of the default output stage."""
    import mobile_export.backends.executorch.export as ex
    import mobile_export.verify as verify

    path, music = tiny
    monkeypatch.setitem(verify.THRESHOLDS, "int8", {"snr_db_vs_float": 150.0, "lsd_delta": 0.05})
    monkeypatch.setattr(ex, "SENSITIVITY_SECONDS", 0.05)
    monkeypatch.setattr(ex, "MIXED_MAX_FLOAT_LAYERS", 1)
    every = ex.decoder_groups
    few = ("<root>", "lstm.0", "conv_out")  # the path is under test, not the figures
    monkeypatch.setattr(ex, "decoder_groups", lambda d: {g: v for g, v in every(d).items() if g in few})
    result = _export(path, tmp_path, "int8", K_TINY, music, calibration_seconds=0.05, verify_seconds=0.5)
    m = result.manifest
    assert result.failures and m["verification"]["passed"] is False  # 150 dB is out of reach
    findings = m["quantization"]["sensitivity"]
    layers = [entry["module"] for entry in findings["layers"]]
    assert sorted(layers) == ["<root>", "lstm.0"]  # conv_out is float already (the output stage)
    gains = [entry["gain_db"] for entry in findings["layers"]]
    assert gains == sorted(gains, reverse=True)
    kept = m["quantization"]["keep_float"]
    stage = list(load_pruned(path).streaming(K_TINY).output_stage())
    assert findings["baseline_keep_float"] == stage
    assert kept == findings["kept_fp32"] and kept == stage + ["<root>"]  # one more, and never the LSTM
    assert 0 < m["quantization"]["int8_mac_share"] < 1.0
    assert m["delegation"]["delegated_mac_share"] >= 0.95


@pytest.mark.parametrize("args, message", [
    (["--ckpt", "/nonexistent/x.pt"], "no such checkpoint"),
    (["--chunk-frames", "0"], "--chunk-frames"),
    (["--chunk-frames", "100000"], "--chunk-frames"),
])
def test_cli_user_errors_are_one_line(tiny, tmp_path, args, message):
    path, _ = tiny
    argv = ["--ckpt", str(path), "--out", str(tmp_path)] + args
    r = subprocess.run([sys.executable, "-m", "mobile_export.executorch", *argv], capture_output=True, text=True,
                       cwd=Path(et_cli.__file__).resolve().parents[1])
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and message in r.stderr
    assert len([ln for ln in r.stderr.splitlines() if ln.startswith("error:")]) == 1


# -- the real size ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tq64(tmp_path_factory):
    """An untrained tq64 checkpoint and the shipped clip's codes (both channels, 24 s)."""
    path = _checkpoint(tmp_path_factory, "tq64")
    model, meta = load_checkpoint(path)
    return path, model, meta, encode_music(model, None)


@pytest.fixture(scope="module")
def tq64_int8(tq64, tmp_path_factory):
    path, _, _, music = tq64
    return _export(path, tmp_path_factory.mktemp("tq64-int8"), "int8", 16, music, calibration_seconds=1.0,
                   verify_seconds=1.0, mixed_precision=False, channels=2)


@pytest.mark.real_size
def test_tq64_int8_export(tq64_int8):
    m = tq64_int8.manifest
    assert m["delegation"]["delegated_mac_share"] >= 0.95
    assert m["quantization"]["int8_mac_share"] == pytest.approx(0.873, abs=0.002)  # all but the output stage
    assert m["size_check"]["bytes"] <= m["size_check"]["bound_bytes"]
    assert m["verification"]["snr_db_vs_float"] >= 25
    assert m["gmacs_per_s"] == pytest.approx(6.2, rel=0.03)


@pytest.mark.real_size
def test_streaming_equals_offline_over_30_seconds(tq64):
    """Chunked float decoding from zero state == TQCodec.decode, for every chunk size."""
    _, model, meta, music = tq64
    cfg = model.config
    seq = torch.cat([music.codes[0], music.codes[1]], dim=-1)  # the clip's two channels, 24 s
    need = math.ceil(30 * cfg.frame_rate)
    seq = torch.cat([seq, seq[:, : need - seq.shape[-1]]], dim=-1)  # plus a repeat: ≥ 30 s
    assert seq.shape[-1] * cfg.hop_length / cfg.sample_rate >= 30
    with torch.inference_mode():
        ref = model.decode(seq[None])[0, 0]
    pruned = prune(model, meta)
    for K in (1, 5, 16, 64):
        with torch.inference_mode():
            out = pruned.streaming(K).decode(seq)
        assert out.shape == ref.shape
        err = float((out - ref).abs().max())
        assert err <= 1e-5, f"K={K}: max abs err {err:.3g}"


@pytest.mark.real_size
def test_int8_state_does_not_drift_over_three_minutes(tq64, tq64_int8):
    """State drift is where backends break: the stereo int8 .pte runs 3 minutes of music codes on
    both channels with its state never reset, and its error against the float decoder must not
    grow with time on either channel."""
    _, model, meta, music = tq64
    cfg = model.config
    assert tq64_int8.manifest["channels"] == 2
    minute = round(60 * cfg.frame_rate) // 16 * 16
    seq = torch.cat([music.codes[0], music.codes[1]], dim=-1)  # 24 s of real-music codes
    seq = seq.repeat(1, math.ceil(3 * minute / seq.shape[-1]))[:, : 3 * minute]
    stereo = torch.stack([seq, seq.roll(seq.shape[-1] // 3, dims=-1)])  # right: the same music, 1 minute later
    with torch.inference_mode():
        ref = prune(model, meta).streaming(16, channels=2).decode(stereo).numpy()
    out = load_runner(tq64_int8.artifact).decode_channels(stereo.numpy(), progress=None)
    hop = cfg.hop_length
    snrs = [[snr_db(ref[ch, i * minute * hop:(i + 1) * minute * hop], out[ch, i * minute * hop:(i + 1) * minute * hop])
             for i in range(3)] for ch in range(2)]
    assert min(min(s) for s in snrs) >= 25, snrs
    for ch in range(2):
        assert snrs[ch][2] >= snrs[ch][0] - 1.0, f"SNR per minute {snrs}: the error grows with time"

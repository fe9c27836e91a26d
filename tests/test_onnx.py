"""ONNX Runtime backend: the streaming decoder exported with explicit state, int8 QDQ by ONNX
Runtime's own static quantizer (fed by the shared streaming calibrator), verified by
``InferenceSession`` chunk by chunk with state carried; MACs read from the file equal fvcore's."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from mobile_export import onnx as onnx_cli  # noqa: E402
from mobile_export.backends import get_backend  # noqa: E402
from mobile_export.backends.onnx.file_macs import read as read_onnx  # noqa: E402
from mobile_export.backends.onnx.runner import OnnxChunkRunner  # noqa: E402
from mobile_export.manifest import schema_problems  # noqa: E402
from mobile_export.pipeline import ExportJob, Sources  # noqa: E402
from mobile_export.runners import load_runner, manifest_path  # noqa: E402
from profiling import artifact_macs  # noqa: E402
from tqcodec.macs import chunk_macs  # noqa: E402

K = 4


def _short_clip(tmp_path):
    from mobile_export.calibration import DEFAULT_CLIP
    from tqcodec.audio_io import load_audio, save_audio

    audio, sr = load_audio(DEFAULT_CLIP)
    path = tmp_path / "clip.wav"
    save_audio(path, audio[:, 3 * sr:5 * sr], sr)
    return path


@pytest.fixture(scope="module")
def tiny_int8(tmp_path_factory):
    """The CLI on a tiny checkpoint: int8, K=4, 2 × 2 s of the shipped clip."""
    from tqcodec.checkpoint import save_checkpoint
    from tqcodec.configs import get_config
    from tqcodec.model import TQCodec

    root = tmp_path_factory.mktemp("onnx")
    torch.manual_seed(0)
    model = TQCodec(get_config("tiny")).eval()
    ckpt = root / "tiny.pt"
    save_checkpoint(ckpt, model, extra={"trained": False})
    rc = onnx_cli.main(["--ckpt", str(ckpt), "--out", str(root / "out"), "--chunk-frames", str(K), "--channels", "1",
                        "--calibration", str(_short_clip(root)), "--threads", "1"])
    return rc, root / "out" / f"tiny-int8-k{K}.onnx", model


def test_cli_exports_a_verified_int8_model(tiny_int8):
    rc, path, _ = tiny_int8
    assert rc == 0
    m = json.loads(manifest_path(path).read_text())
    assert schema_problems(m) == []
    assert m["format"] == "onnxruntime" and m["precision"] == "int8" and m["verification"]["passed"]
    assert m["verification"]["snr_db_vs_float"] >= 25 and m["verification"]["lsd_delta"] <= 0.05
    assert m["host_timing"]["threads"] == 1 and m["host_timing"]["real_time_factor_median"] > 0
    q = m["quantization"]
    assert q["keep_float"] == ["upsamplers.2", "res_blocks.2", "conv_out"]
    assert q["int8_mac_share"] == pytest.approx(0.849, abs=0.002)  # the output stage float, as on every backend
    assert not list(path.parent.glob(".*")), "temporary files left behind"


def test_macs_from_the_file_equal_fvcore(tiny_int8):
    _, path, model = tiny_int8
    from tqcodec.prune import prune

    ops = read_onnx(path).mac_ops
    assert sum(op.macs for op in ops) == chunk_macs(prune(model, {}).streaming(K))[0]
    assert len(ops) == 21  # conv_in, 2 × (1 + K) LSTM matmuls, 3 × (up + 2 convs), conv_out
    assert sum(op.macs for op in ops if op.int8) / sum(op.macs for op in ops) == pytest.approx(0.849, abs=0.002)
    r = artifact_macs.analyse_artifact(path)  # profiling.macs --artifact reads .onnx too
    assert r.passed, r.problems
    assert not r.unmatched_artifact and not r.unmatched_reference


def test_lstm_cell_arithmetic_and_output_stage_stay_float(tiny_int8):
    _, path, _ = tiny_int8
    g = onnx.load(str(path)).graph
    producer = {o: n for n in g.node for o in n.output}

    def dequantized(name):
        return getattr(producer.get(name), "op_type", "") == "DequantizeLinear"

    lstm_matmuls = [n for n in g.node if n.op_type in ("MatMul", "Gemm") and n.name.startswith("/lstm.")]
    assert lstm_matmuls and all(dequantized(n.input[0]) and dequantized(n.input[1]) for n in lstm_matmuls)
    cell = [n for n in g.node if n.name.startswith("/lstm.") and n.op_type in ("Sigmoid", "Tanh", "Mul")]
    assert cell and not any(dequantized(i) for n in cell for i in n.input)
    out_stage = [n for n in g.node if n.op_type == "Conv" and n.name.startswith(("/conv_out/", "/upsamplers.2/",
                                                                                  "/res_blocks.2."))]
    assert len(out_stage) == 4 and not any(dequantized(n.input[1]) for n in out_stage)


def test_runner_threads_and_decode_by_artifact(tiny_int8, tmp_path):
    _, path, model = tiny_int8
    from mobile_export.calibration import encode_music
    from tqcodec.prune import prune

    runner = OnnxChunkRunner(path, json.loads(manifest_path(path).read_text()), threads=2)
    assert runner.session.get_session_options().intra_op_num_threads == 2
    music = encode_music(model, _short_clip(tmp_path))
    audio = load_runner(path).decode_channels(music.codes[:, :, :40].numpy(), progress=None)
    with torch.no_grad():
        ref = prune(model, {}).streaming(K).decode(music.codes[0, :, :40]).numpy()
    snr = 10 * np.log10(np.sum(ref ** 2) / np.sum((ref - audio[0]) ** 2))
    assert audio.shape == (2, 40 * 64) and snr >= 25


@pytest.mark.real_size
def test_onnx_tq64_int8(tmp_path):
    """The real tq64 decoder (untrained) on codes from an untrained tq64-balanced encoder."""
    from mobile_export.calibration import encode_music
    from tqcodec.configs import get_config
    from tqcodec.model import TQCodec
    from tqcodec.prune import prune

    torch.manual_seed(0)
    pruned = prune(TQCodec(get_config("tq64")).eval(), {})
    music = encode_music(TQCodec(get_config("tq64-balanced")).eval(), None, max_seconds=4, excerpt_seconds=2)
    res = get_backend("onnx").export(ExportJob(Path("unused.pt"), tmp_path, "int8", 16, progress=False,
                                               calibration_seconds=1.0), Sources(pruned, music, False, "test"))
    assert res.passed, res.failures
    m = res.manifest
    assert m["quantization"]["int8_mac_share"] == pytest.approx(0.873, abs=0.002)
    assert m["onnx"]["macs_per_chunk_from_file"] == m["onnx"]["macs_per_chunk_fvcore"]
    assert m["gmacs_per_s"] == pytest.approx(6.2, rel=0.02)


def test_int8_is_the_fused_u8s8_qdq_pattern(tiny_int8):
    """uint8 activations, int8 weights read straight from initializers (the LSTM's recurrent weight too,
    once per unrolled step: graph.fold_weight_identities): the QDQ ONNX Runtime fuses on CPU."""
    _, path, _ = tiny_int8
    g = onnx.load(str(path)).graph
    inits = {i.name: i.data_type for i in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    assert not [n.name for n in g.node if n.op_type == "Identity" and n.input[0] in inits]
    for n in g.node:
        if n.op_type in ("Conv", "MatMul") and producer.get(n.input[0], n).op_type == "DequantizeLinear":
            w, x = producer[n.input[1]], producer[n.input[0]]
            assert w.op_type == "DequantizeLinear" and inits.get(w.input[0]) == onnx.TensorProto.INT8, n.name
            assert inits.get(x.input[2]) == onnx.TensorProto.UINT8, n.name  # the activation's zero point

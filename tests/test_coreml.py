"""Core ML export: the NumPy MIL interpreter op by op against torch, then whole exports.

Core ML cannot run on Linux, so the saved package's ML program is read back and run by
``mobile_export.backends.coreml.mil_interpreter``; each op it knows is checked here against torch on
random data, an op it does not know must raise, and a float32 program of the real decoder
graph must match PyTorch exactly.  On macOS, Core ML itself runs the exported package too.
"""
import json
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

ct = pytest.importorskip("coremltools")

from coremltools.converters.mil import Builder as mb  # noqa: E402
from coremltools.converters.mil.mil import types  # noqa: E402

from pathlib import Path  # noqa: E402

from mobile_export import coreml  # noqa: E402
from mobile_export.backends import get_backend  # noqa: E402
from mobile_export.backends.coreml.convert import save_atomically  # noqa: E402
from mobile_export.backends.coreml.mil_interpreter import (KERNELS, MILProgram, UnsupportedOpError,  # noqa: E402
                                                           single_threaded_blas)
from mobile_export.backends.coreml.runner import CoreMLChunkRunner, MILChunkRunner  # noqa: E402
from mobile_export.pipeline import ExportJob, Sources, torch_threads  # noqa: E402
from mobile_export.verify import verify  # noqa: E402


def export(pruned, music, out, precision, K):
    """The Core ML backend on a decoder and music already in hand (no checkpoint file)."""
    return get_backend("coreml").export(ExportJob(Path("unused.pt"), Path(out), precision, K, channels=1, progress=False),
                                        Sources(pruned, music, False, "test"))

RNG = np.random.default_rng(0)
_NP_TO_MIL = {np.float32: types.fp32, np.float16: types.fp16, np.int32: types.int32}


def rand(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def run_mil(build, opset=None, **inputs):
    """Build a one-function MIL program ``build(**inputs)`` and run it with the interpreter."""
    specs = [mb.TensorSpec(shape=v.shape, dtype=_NP_TO_MIL[v.dtype.type]) for v in inputs.values()]
    names = list(inputs)
    src = f"lambda {', '.join(names)}: build({', '.join(f'{n}={n}' for n in names)})"
    prog = mb.program(input_specs=specs, opset_version=opset or ct.target.iOS17)(eval(src, {"build": build}))
    program = MILProgram(prog)
    out = program.run(inputs)
    return next(iter(out.values())), program


def t(x):
    return torch.from_numpy(np.asarray(x))


# --- one case per kernel: (MIL build function, inputs, torch reference) ---------------

def _conv_case():
    x, w, b = rand(1, 4, 20), rand(6, 2, 3), rand(6)
    y, _ = run_mil(lambda x: mb.conv(x=x, weight=w, bias=b, strides=[2], pad_type="custom", pad=[4, 1],
                                     dilations=[2], groups=2), x=x)
    ref = F.conv1d(F.pad(t(x), (4, 1)), t(w), t(b), stride=2, dilation=2, groups=2)
    np.testing.assert_allclose(y, ref.numpy(), rtol=1e-5, atol=1e-5)
    w1 = rand(5, 4, 4)
    y, _ = run_mil(lambda x: mb.conv(x=x, weight=w1, pad_type="same"), x=x)
    np.testing.assert_allclose(y, F.conv1d(t(x), t(w1), padding="same").numpy(), rtol=1e-5, atol=1e-5)
    y, _ = run_mil(lambda x: mb.conv(x=x, weight=w1, pad_type="valid"), x=x)
    np.testing.assert_allclose(y, F.conv1d(t(x), t(w1)).numpy(), rtol=1e-5, atol=1e-5)


def _elementwise(name, torch_fn, y_shape=(3, 1)):
    def case():
        x, y = rand(2, 3, 4), rand(*y_shape)
        out, _ = run_mil(lambda x, y: getattr(mb, name)(x=x, y=y), x=x, y=y)
        np.testing.assert_allclose(out, torch_fn(t(x), t(y)).numpy(), rtol=1e-6, atol=1e-6)
    return case


def _unary(name, torch_fn, **kw):
    def case():
        x = rand(3, 5) * 3
        out, _ = run_mil(lambda x: getattr(mb, name)(x=x, **kw), x=x)
        np.testing.assert_allclose(out, torch_fn(t(x)).numpy(), rtol=1e-5, atol=1e-6)
    return case


def _gather_case():
    table, idx = rand(10, 4), np.array([3, 0, 9, 3, 7], dtype=np.int32)
    out, _ = run_mil(lambda i: mb.gather(x=table, indices=i, axis=0), i=idx)
    np.testing.assert_array_equal(out, F.embedding(t(idx).long(), t(table)).numpy())
    with pytest.raises(IndexError):
        run_mil(lambda i: mb.gather(x=table, indices=i, axis=0), i=np.array([10], dtype=np.int32))


def _slice_case():
    x = rand(2, 5, 7)
    out, _ = run_mil(lambda x: mb.slice_by_index(x=x, begin=[0, 1, 2], end=[0, 5, 7], stride=[1, 2, 1],
                                                 end_mask=[True, False, False]), x=x)
    np.testing.assert_array_equal(out, t(x)[:, 1:5:2, 2:7].numpy())
    out, _ = run_mil(lambda x: mb.slice_by_index(x=x, begin=[1, 0, -3], end=[2, 5, 0], begin_mask=[False, True, False],
                                                 end_mask=[False, True, True], squeeze_mask=[True, False, False]), x=x)
    np.testing.assert_array_equal(out, t(x)[1, :, -3:].numpy())


def _concat_case():
    a, b = rand(1, 2, 3), rand(1, 2, 3)
    out, _ = run_mil(lambda a, b: mb.concat(values=[a, b], axis=2), a=a, b=b)
    np.testing.assert_array_equal(out, torch.cat([t(a), t(b)], 2).numpy())
    out, _ = run_mil(lambda a, b: mb.concat(values=[a, b], axis=1, interleave=True), a=a, b=b)
    np.testing.assert_array_equal(out, torch.stack([t(a), t(b)], 2).reshape(1, 4, 3).numpy())


def _reshape_case():
    x = rand(2, 3, 4)
    out, _ = run_mil(lambda x: mb.reshape(x=x, shape=[0, -1]), x=x)
    np.testing.assert_array_equal(out, t(x).reshape(3, 8).numpy())  # iOS17: a 0 copies the dim aligned from the right
    out, _ = run_mil(lambda x: mb.reshape(x=x, shape=[1, 0, -1, 0]), x=x)
    np.testing.assert_array_equal(out, t(x).reshape(1, 2, 3, 4).numpy())
    y = rand(2, 50)  # the example in the iOS17 reshape documentation
    out, _ = run_mil(lambda y: mb.reshape(x=y, shape=[1, 0, -1, 0]), y=y)
    assert out.shape == (1, 1, 2, 50)
    out, _ = run_mil(lambda x: mb.reshape(x=x, shape=[-1, 4, 1]), x=x)
    np.testing.assert_array_equal(out, t(x).reshape(6, 4, 1).numpy())


def _quantize_case():
    x = rand(2, 3, 5)
    q, _ = run_mil(lambda x: mb.quantize(input=x, scale=np.float32(0.02), zero_point=np.uint8(128),
                                         output_dtype="uint8"), x=x)
    ref = torch.quantize_per_tensor(t(x), 0.02, 128, torch.quint8)
    np.testing.assert_array_equal(q, ref.int_repr().numpy())
    scales = np.array([0.01, 0.02, 0.05], np.float32)
    q, _ = run_mil(lambda x: mb.quantize(input=x, scale=scales, zero_point=np.zeros(3, np.int8), axis=1,
                                         output_dtype="int8"), x=x)
    ref = torch.quantize_per_channel(t(x), t(scales).double(), torch.zeros(3, dtype=torch.long), 1, torch.qint8)
    np.testing.assert_array_equal(q, ref.int_repr().numpy())


def _dequantize_case():
    x = rand(2, 3, 5)
    y, _ = run_mil(lambda x: mb.dequantize(input=mb.quantize(input=x, scale=np.float32(0.02), zero_point=np.uint8(128),
                                                             output_dtype="uint8"),
                                           scale=np.float32(0.02), zero_point=np.uint8(128)), x=x)
    ref = torch.quantize_per_tensor(t(x), 0.02, 128, torch.quint8).dequantize()
    np.testing.assert_allclose(y, ref.numpy(), rtol=0, atol=1e-7)


def _affine_dequantize_case():
    data = RNG.integers(-127, 128, (4, 3)).astype(np.int8)
    scale, zp = np.array([0.1, 0.2, 0.3, 0.4], np.float32), np.array([0, 1, -2, 3], np.int8)
    x = rand(4, 3)
    y, _ = run_mil(lambda x: mb.add(x=x, y=mb.constexpr_affine_dequantize(quantized_data=data, zero_point=zp,
                                                                          scale=scale, axis=0)), x=x)
    w = torch._make_per_channel_quantized_tensor(t(data), t(scale).double(), t(zp).long(), 0).dequantize()
    np.testing.assert_allclose(y, (t(x) + w).numpy(), rtol=1e-6, atol=1e-6)


def _blockwise_case():
    data = RNG.integers(-127, 128, (4, 6)).astype(np.int8)
    scale, offset = rand(4, 2).astype(np.float16), RNG.integers(-3, 4, (4, 2)).astype(np.int8)
    x = rand(4, 6).astype(np.float16)
    y, _ = run_mil(lambda x: mb.add(x=x, y=mb.constexpr_blockwise_shift_scale(data=data, scale=scale, offset=offset)),
                   opset=ct.target.iOS18, x=x)
    w = t(scale).float().repeat_interleave(3, 1) * (t(data).float() - t(offset).float().repeat_interleave(3, 1))
    assert y.dtype == np.float16
    np.testing.assert_allclose(y.astype(np.float32), (t(x).float() + w.half().float()).half().float().numpy(),
                               rtol=2e-3, atol=2e-3)


def _cast_case():
    x = rand(3, 4) * 100
    y, _ = run_mil(lambda x: mb.cast(x=x, dtype="fp16"), x=x)
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y, t(x).half().numpy())
    i = RNG.integers(0, 5000, (6,)).astype(np.int32)
    y, _ = run_mil(lambda i: mb.cast(x=i, dtype="int16"), i=i)
    np.testing.assert_array_equal(y, t(i).to(torch.int16).numpy())


def _select_case():
    x, y = rand(3, 4), rand(3, 4)
    out, _ = run_mil(lambda x, y: mb.select(cond=mb.greater_equal(x=x, y=np.float32(0)), a=x, b=y), x=x, y=y)
    np.testing.assert_array_equal(out, torch.where(t(x) >= 0, t(x), t(y)).numpy())


def _greater_equal_case():
    x, y = rand(3, 4), rand(4)
    out, _ = run_mil(lambda x, y: mb.greater_equal(x=x, y=y), x=x, y=y)
    np.testing.assert_array_equal(out, torch.ge(t(x), t(y)).numpy())


def _linear_case():
    x, w, b = rand(5, 8), rand(3, 8), rand(3)
    y, _ = run_mil(lambda x: mb.linear(x=x, weight=w, bias=b), x=x)
    np.testing.assert_allclose(y, F.linear(t(x), t(w), t(b)).numpy(), rtol=1e-5, atol=1e-5)


def _matmul_case():
    x, y = rand(2, 5, 4), rand(2, 3, 4)
    out, _ = run_mil(lambda x, y: mb.matmul(x=x, y=y, transpose_y=True), x=x, y=y)
    np.testing.assert_allclose(out, torch.matmul(t(x), t(y).transpose(-1, -2)).numpy(), rtol=1e-5, atol=1e-5)


def _reduce_sum_case():
    x = rand(3, 4, 5)
    out, _ = run_mil(lambda x: mb.reduce_sum(x=x, axes=[0], keep_dims=False), x=x)
    np.testing.assert_allclose(out, t(x).sum(0).numpy(), rtol=1e-5, atol=1e-6)
    out, _ = run_mil(lambda x: mb.reduce_sum(x=x, axes=[-1], keep_dims=True), x=x)
    np.testing.assert_allclose(out, t(x).sum(-1, keepdim=True).numpy(), rtol=1e-5, atol=1e-6)


def _shape_case(name, torch_fn, **kw):
    def case():
        x = rand(2, 1, 3)
        out, _ = run_mil(lambda x: getattr(mb, name)(x=x, **kw), x=x)
        np.testing.assert_array_equal(out, torch_fn(t(x)).numpy())
    return case


CASES = {
    "add": _elementwise("add", torch.add),
    "sub": _elementwise("sub", torch.sub),
    "mul": _elementwise("mul", torch.mul),
    "real_div": _elementwise("real_div", torch.div),
    "maximum": _elementwise("maximum", torch.maximum),
    "minimum": _elementwise("minimum", torch.minimum),
    "greater_equal": _greater_equal_case,
    "select": _select_case,
    "relu": _unary("relu", torch.relu),
    "exp": _unary("exp", torch.exp),
    "sigmoid": _unary("sigmoid", torch.sigmoid),
    "tanh": _unary("tanh", torch.tanh),
    "elu": _unary("elu", lambda x: F.elu(x, 0.5), alpha=np.float32(0.5)),
    "clip": _unary("clip", lambda x: torch.clamp(x, -0.5, 0.7), alpha=np.float32(-0.5), beta=np.float32(0.7)),
    "conv": _conv_case,
    "linear": _linear_case,
    "matmul": _matmul_case,
    "concat": _concat_case,
    "slice_by_index": _slice_case,
    "reshape": _reshape_case,
    "transpose": _shape_case("transpose", lambda x: x.permute(2, 0, 1), perm=[2, 0, 1]),
    "expand_dims": _shape_case("expand_dims", lambda x: x[None, ..., None], axes=[0, -1]),
    "squeeze": _shape_case("squeeze", lambda x: x.squeeze(1), axes=[1]),
    "gather": _gather_case,
    "reduce_sum": _reduce_sum_case,
    "cast": _cast_case,
    "quantize": _quantize_case,
    "dequantize": _dequantize_case,
    "constexpr_affine_dequantize": _affine_dequantize_case,
    "constexpr_blockwise_shift_scale": _blockwise_case,
}


def test_every_kernel_has_a_case():
    assert set(CASES) == set(KERNELS)


@pytest.mark.parametrize("op", sorted(CASES))
def test_mil_op_matches_torch(op):
    CASES[op]()


def test_fp16_program_rounds_every_op_to_fp16():
    x, y = rand(4, 6).astype(np.float16), rand(4, 6).astype(np.float16)
    out, program = run_mil(lambda x, y: mb.mul(x=mb.add(x=x, y=y), y=np.float16(1.37)), x=x, y=y)
    assert out.dtype == np.float16
    np.testing.assert_array_equal(out, ((t(x) + t(y)) * torch.tensor(1.37, dtype=torch.float16)).numpy())


def test_unknown_op_raises():
    x = rand(2, 5)
    with pytest.raises(UnsupportedOpError, match="softmax"):
        run_mil(lambda x: mb.softmax(x=x, axis=-1), x=x)
    with pytest.raises(UnsupportedOpError, match="spatial"):  # a known op in a form it does not implement
        run_mil(lambda x: mb.conv(x=x, weight=rand(2, 1, 3, 3)), x=rand(1, 1, 5, 5))


# --- whole decoder --------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny():
    from mobile_export.calibration import encode_music
    from tqcodec.configs import get_config
    from tqcodec.model import TQCodec
    from tqcodec.prune import prune

    torch.manual_seed(0)
    model = TQCodec(get_config("tiny")).eval()
    return prune(model, {}), encode_music(model, None, max_seconds=4, excerpt_seconds=2)


def test_interpreter_equals_pytorch_on_fp32_decoder_program(tmp_path, tiny):
    """The real decoder graph, converted at fp32: every op the decoder uses, checked at once."""
    pruned, music = tiny
    dec = pruned.streaming(4)
    save_atomically(coreml.convert(dec, dec, compute="fp32"), tmp_path / "f.mlpackage")
    runner = MILChunkRunner(tmp_path / "f.mlpackage")
    with single_threaded_blas(), torch_threads(1):
        v = verify(runner.run_chunk, runner.init_state(), dec, music, "fp32")
    assert v.snr_db_vs_float >= 100, v.to_dict()
    assert {"conv", "linear", "gather", "sigmoid", "tanh", "elu"} <= set(runner.program.op_counts)


def _short_clip(tmp_path):
    from tqcodec.audio_io import load_audio, save_audio
    from mobile_export.calibration import DEFAULT_CLIP

    audio, sr = load_audio(DEFAULT_CLIP)
    path = tmp_path / "clip.wav"
    save_audio(path, audio[:, 3 * sr:5 * sr], sr)
    return path


def test_coreml_cli_tiny_int8(tmp_path, tiny_model):
    from mobile_export.runners import manifest_path
    from tqcodec.checkpoint import save_checkpoint

    ck = tmp_path / "tiny.pt"
    save_checkpoint(ck, tiny_model, extra={"trained": False})
    out = tmp_path / "out"
    rc = coreml.main(["--ckpt", str(ck), "--out", str(out), "--chunk-frames", "4", "--channels", "1",
                      "--calibration", str(_short_clip(tmp_path))])
    assert rc == 0
    pkg = out / "tiny-int8-k4.mlpackage"
    m = json.loads(manifest_path(pkg).read_text())
    assert pkg.is_dir() and m["format"] == "coreml" and m["verification"]["failures"] == []
    assert m["precision"] == "int8" and m["verification"]["passed"] and m["verification"]["snr_db_vs_float"] >= 25
    assert m["checkpoint_trained"] is False and m["calibration"]["seconds_verified"] == pytest.approx(4, abs=0.1)
    ops = m["coreml"]["mil_ops"]
    assert ops["quantize"] > 0 and ops["dequantize"] > 0 and ops["constexpr_affine_dequantize"] > 0
    assert m["quantization"]["int8_mac_share"] == pytest.approx(0.849, abs=0.002)  # output stage float
    assert not {"upsamplers.2.conv", "res_blocks.2.0.conv_a.conv", "res_blocks.2.0.conv_b",
                "conv_out.conv"} & set(m["quantization"]["int8_activation_modules"])
    spec = ct.models.MLModel(str(pkg), skip_model_load=True).get_spec()
    fp32 = ct.proto.FeatureTypes_pb2.ArrayFeatureType.FLOAT32
    names = [s["name"] for s in m["state"]]
    assert [i.name for i in spec.description.input] == ["codes", *names]
    assert [o.name for o in spec.description.output] == ["audio", *(f"next_{n}" for n in names)]
    assert all(f.type.multiArrayType.dataType == fp32 for f in list(spec.description.input)[1:])
    assert all(f.type.multiArrayType.dataType == fp32 for f in spec.description.output)
    assert not list(out.glob(".*")), "temporary files left behind"


def test_coreml_fp16_tiny_and_failure_is_reported(tmp_path, tiny, monkeypatch):
    from mobile_export import verify as verify_mod

    pruned, music = tiny
    res = export(pruned, music, tmp_path, "fp16", 4)
    # fp16 costs the 4-channel toy config ~57 dB (tq64: 64 dB, tested below); the verdict must follow the numbers
    assert res.verification.snr_db_vs_float >= 50
    assert res.manifest["verification"]["passed"] is res.passed
    assert res.manifest["quantization"]["int8_mac_share"] == 0.0
    monkeypatch.setitem(verify_mod.THRESHOLDS, "fp16", {"snr_db_vs_float": 500.0})
    res = export(pruned, music, tmp_path, "fp16", 4)
    assert not res.passed and res.manifest["verification"]["failures"] == res.failures and res.failures
    assert json.loads(res.manifest_path.read_text())["verification"]["passed"] is False


@pytest.mark.skipif(sys.platform != "darwin", reason="Core ML runs only on macOS")
def test_coreml_runtime_on_macos(tmp_path, tiny):
    pruned, music = tiny
    res = export(pruned, music, tmp_path, "int8", 4)
    runner = CoreMLChunkRunner(res.artifact, res.manifest, compute_units="CPU_ONLY")
    v = verify(runner.run_chunk, runner.init_state(), pruned.streaming(4), music, "int8")
    assert not v.failures(), v.to_dict()


@pytest.fixture(scope="module")
def tq64():
    """The real tq64 decoder (untrained) and real-music codes.

    The codes come from the clip through an untrained tq64-balanced encoder (same 10×512
    code layout): tq64's own 72-GMAC/s encoder would take minutes on a 2-core CI machine,
    and untrained codes are as good as any for comparing an artifact with its float model.
    """
    from mobile_export.calibration import encode_music
    from tqcodec.configs import get_config
    from tqcodec.model import TQCodec
    from tqcodec.prune import prune

    torch.manual_seed(0)
    pruned = prune(TQCodec(get_config("tq64")).eval(), {})
    music = encode_music(TQCodec(get_config("tq64-balanced")).eval(), None, max_seconds=4, excerpt_seconds=2)
    return pruned, music


@pytest.mark.real_size
def test_coreml_tq64_int8_and_fp16(tmp_path, tq64):
    pruned, music = tq64
    res = export(pruned, music, tmp_path, "int8", 16)
    assert res.passed, res.verification.to_dict()
    assert res.manifest["quantization"]["int8_mac_share"] == pytest.approx(0.873, abs=0.002)  # output stage float
    assert res.manifest["artifact_bytes"] < 7e6  # int8 weights and table: ~4x under fp32's 24 MB
    res = export(pruned, music, tmp_path, "fp16", 16)
    assert res.passed, res.verification.to_dict()  # ≥ 60 dB with fp16 state carried

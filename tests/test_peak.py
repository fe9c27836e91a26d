"""profiling.peak: the runtime's matmul peak, measured through the same runtimes that run the artifacts.

Small matmuls keep it fast; the assertions are about structure (every point built, timed with
the one harness and summarised) and one ordering that holds by a wide margin (a 1-row matmul
cannot beat a 256-row one per MAC), never about absolute speed."""
import pytest

from profiling import peak


def _peak() -> peak.Peak:
    pts = [peak.PeakPoint("int8", "linear", 1, 8, 8, 64, 0.001, 5),  # 0.064 GMAC/s
           peak.PeakPoint("int8", "linear", 256, 8, 8, 16384, 0.002, 5),  # 8.192
           peak.PeakPoint("fp32", "linear", 256, 8, 8, 16384, 0.004, 5),  # 4.096
           peak.PeakPoint("fp32", "conv", 256, 8, 8, 3 * 16384, 0.008, 5)]  # 6.144
    return peak.Peak("executorch", 1, pts)


def test_peak_arithmetic():
    p = _peak()
    assert p.gmacs("int8") == pytest.approx(8.192) and p.gmacs("int8", 1) == pytest.approx(0.064)
    assert p.gmacs("fp32") == pytest.approx(6.144)  # the best point of the dtype, conv included
    assert p.gmacs("fp32", 2) is None
    # 8.192e9 int8 MACs take 1 s at the int8 peak, 6.144e9 float MACs 1 s at the fp32 peak
    assert p.ideal_ms(8.192e9, 6.144e9) == pytest.approx(2000)
    assert p.fraction(8.192e9, 1.0, 2000) == pytest.approx(0.5)
    assert p.fraction(8.192e9 + 6.144e9, 8.192 / (8.192 + 6.144), 4000) == pytest.approx(0.5)
    assert peak.Peak("torch", 1, p.points[2:]).fraction(1e9, 0.5, 1.0) is None  # no int8 peak: not guessed
    again = peak.Peak.from_dict(p.to_dict())
    assert again.points == p.points and again.to_dict()["peak_gmacs_per_s"] == p.to_dict()["peak_gmacs_per_s"]


def test_shapes():
    got = peak.shapes(512, (1, 2, 64, 256))
    assert [(s.kind, s.rows) for s in got] == [("linear", 1), ("linear", 2), ("linear", 64), ("linear", 256),
                                                ("conv", 64), ("conv", 256)]
    assert got[0].macs == 512 * 512 and got[-1].macs == 256 * 512 * 512 * 3
    import torch

    for s in got:
        y = s.module()(*s.sample(torch.Generator().manual_seed(0)))
        assert y.numel() * s.k * (3 if s.kind == "conv" else 1) == s.macs  # the MACs the op really does


def test_torch_peak_one_row_is_slower_than_many():
    p = peak.measure("torch", threads=1, size=256, rows=(1, 256), repeats=20)
    assert {(q.dtype, q.kind, q.rows) for q in p.points} == {("fp32", "linear", 1), ("fp32", "linear", 256),
                                                            ("fp32", "conv", 256)}
    assert all(q.calls == 20 and q.ms_median > 0 for q in p.points)
    assert p.gmacs("fp32", 1) < p.gmacs("fp32", 256)  # ~10x apart: weights read once per row


def test_executorch_peak_is_int8_and_fp32_xnnpack(tmp_path):
    pytest.importorskip("executorch")
    import torch

    from profiling.xnnpack import build_program

    # the int8 point is really int8 inside XNNPACK (the exporter's quantizer), the fp32 one float
    shape = peak.Shape("linear", 4, 64, 64)
    samples = [shape.sample(torch.Generator().manual_seed(i)) for i in range(2)]
    shares = build_program(shape.module(), samples, "int8", (), tmp_path / "i8.pte")
    assert shares.int8_share == 1.0 and shares.delegated_share == 1.0
    shares = build_program(shape.module(), samples, "fp32", (), tmp_path / "f32.pte")
    assert shares.int8_share == 0.0 and shares.delegated_share == 1.0

    p = peak.measure("executorch", threads=1, size=64, rows=(1, 64), repeats=5)
    assert {(q.dtype, q.kind, q.rows) for q in p.points} == {(d, k, m) for d in ("int8", "fp32")
                                                            for k, m in (("linear", 1), ("linear", 64), ("conv", 64))}
    assert all(q.calls == 5 and q.gmacs_per_s > 0 for q in p.points)


def test_onnx_peak(tmp_path):
    pytest.importorskip("onnxruntime")
    import onnx

    from mobile_export.backends.onnx.quantizer import DEFAULT_VARIANT, MAC_OPS, VARIANTS

    v = VARIANTS[DEFAULT_VARIANT]  # the peak's int8 is the backend's
    assert (v["format"].name, v["activation"].name, v["per_channel"]) == (
        peak.ONNX_INT8["format"], peak.ONNX_INT8["activation"], peak.ONNX_INT8["per_channel"])
    assert tuple(MAC_OPS) == peak.ONNX_INT8["op_types"]

    timed = peak.timers("onnx", tmp_path, 1, ("int8",), 64, (2,))
    (dtype, shape, _), = timed
    assert (dtype, shape.kind, shape.rows) == ("int8", "linear", 2)
    ops = {n.op_type for n in onnx.load(str(tmp_path / "peak-int8-linear-m2-64x64-int8.onnx")).graph.node}
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops  # QDQ int8, the backend's format
    p = peak.measure("onnx", threads=1, dtypes=("int8", "fp32"), size=64, rows=(2,), repeats=5)
    assert {q.dtype for q in p.points} == {"int8", "fp32"} and all(q.gmacs_per_s > 0 for q in p.points)


def test_cli_prints_the_table(capsys):
    assert peak.main(["--runtime", "torch", "--size", "64", "--rows", "1,2", "--repeats", "3", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "torch fp32 peak" in out and "linear M=1 64→64" in out and "linear M=2 64→64" in out


@pytest.mark.parametrize("args", [["--rows", "0"], ["--rows", "a"], ["--threads", "0"], ["--runtime", "litert"]])
def test_cli_usage_errors(args, capsys):
    with pytest.raises(SystemExit) as e:
        peak.main(args)
    assert e.value.code == 2

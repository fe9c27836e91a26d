"""MACs counted from exported artifacts (``python -m profiling.macs --artifact FILE``).

A toy with one op of every counted kind (conv, depthwise conv, transposed conv, linear,
batch matmul) is exported to each format and counted by hand; the tiny decoder is
exported to LiteRT, ExecuTorch (XNNPACK) and Core ML and must equal fvcore's count of the
reference decoder; the CLI's exit codes and error lines are checked; a real tq64
artifact (an ExecuTorch export made here) must be within the budget and within 2 % of
fvcore.  The main job counts its own tq64 artifacts on every backend (``profiling.macs``);
the tests never read its build/ folder, so they give the same verdict before and after it.
"""
import dataclasses
import json
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch
from torch import nn

from profiling import artifact_macs as am
from profiling import budget, macs
from tqcodec.configs import get_config
from tqcodec.model import TQCodec

ROOT = Path(__file__).resolve().parents[1]
K_TINY = 2  # the LSTM is unrolled over the chunk: a short chunk exports fastest


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One thread: export is latency-bound and the host is shared (two threads thrash)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# -- the toy: every counted op kind, counted by hand ----------------------------------------
class Toy(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 6, 3)
        self.dw = nn.Conv1d(6, 6, 5, groups=6, padding=2)
        self.tr = nn.ConvTranspose1d(6, 3, 4, stride=2)
        self.fc = nn.Linear(3, 8)

    def forward(self, x, y):  # x [1, 4, 20], y [1, 8, 5]
        h = self.tr(self.dw(self.conv(x)))  # [1, 6, 18] → [1, 6, 18] → [1, 3, 38]
        return torch.bmm(self.fc(h.transpose(1, 2)), y)  # [1, 38, 8] @ [1, 8, 5]


TOY_INPUTS = (torch.randn(1, 4, 20), torch.randn(1, 8, 5))
TOY_BY_KIND = {
    "conv": 18 * 6 * 4 * 3,  # output positions × C_out × C_in × taps
    "depthwise_conv": 18 * 6 * 1 * 5,  # one input channel per group
    "transposed_conv": 18 * 6 * 3 * 4,  # input positions × C_in × C_out × taps
    "fully_connected": 38 * 3 * 8,
    "matmul": 38 * 8 * 5,
}


def _only_conv_out_rewrite(r) -> bool:
    """The streaming decoder counts like the offline one except ``conv_out`` (``TapSumConv1d``: its pointwise
    conv also runs over the k - 1 context frames), and that difference is named, nothing else."""
    causes = [e["cause"] for e in r.explained]
    return causes == [c for c in causes if "as conv_out" in c] and len(causes) <= 1 and \
        abs(r.unexplained_relative_difference) < 1e-9


def _by_kind(graph) -> dict:
    out: dict = {}
    for op in graph.mac_ops:
        out[op.kind] = out.get(op.kind, 0) + op.macs
    return out


def test_toy_hand_count_is_fvcores():
    total, _ = macs.count_macs(Toy().eval(), TOY_INPUTS)
    assert total == sum(TOY_BY_KIND.values()) == 5564


@pytest.fixture(scope="module")
def toy_artifacts(tmp_path_factory):
    """The toy in every format: LiteRT, Core ML, ExecuTorch on the portable kernels, ExecuTorch
    int8 in an XNNPACK delegate."""
    import coremltools as ct
    import litert_torch
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )
    from executorch.exir import to_edge, to_edge_transform_and_lower
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    out = tmp_path_factory.mktemp("toy")
    torch.manual_seed(0)
    toy = Toy().eval()
    litert_torch.config.show_progress = False
    litert_torch.convert(toy, TOY_INPUTS).export(str(out / "toy.tflite"))
    traced = torch.jit.trace(toy, TOY_INPUTS)
    ct.convert(traced, inputs=[ct.TensorType(name="x", shape=(1, 4, 20)), ct.TensorType(name="y", shape=(1, 8, 5))],
               convert_to="mlprogram", minimum_deployment_target=ct.target.iOS17,
               skip_model_load=True).save(str(out / "toy.mlpackage"))
    (out / "toy-portable.pte").write_bytes(to_edge(torch.export.export(toy, TOY_INPUTS)).to_executorch().buffer)
    quantizer = XNNPACKQuantizer()
    quantizer.set_global(get_symmetric_quantization_config(is_per_channel=True))
    prepared = prepare_pt2e(torch.export.export(toy, TOY_INPUTS).module(), quantizer)
    prepared(*TOY_INPUTS)
    q = torch.export.export(convert_pt2e(prepared), TOY_INPUTS)
    (out / "toy-xnnpack-int8.pte").write_bytes(
        to_edge_transform_and_lower(q, partitioner=[XnnpackPartitioner()]).to_executorch().buffer)
    return out


@pytest.mark.parametrize("name, op_names", [
    ("toy.tflite", {"CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", "FULLY_CONNECTED", "BATCH_MATMUL"}),
    ("toy.mlpackage", {"conv", "conv_transpose", "linear", "matmul"}),
    ("toy-xnnpack-int8.pte", {"XNNConv2d", "XNNDepthwiseConv2d", "XNNConvTranspose2d", "XNNFullyConnected",
                              "XNNBatchMatrixMultiply"}),
    ("toy-portable.pte", {"aten::convolution.out", "aten::bmm.out"}),
])
def test_toy_counted_from_each_format(toy_artifacts, name, op_names):
    g = am.read_artifact(toy_artifacts / name)
    assert {op.op for op in g.mac_ops} == op_names
    assert not g.uncounted
    kinds = _by_kind(g)
    if name == "toy-portable.pte":  # the edge dialect decomposes linear into a bmm
        assert kinds == {"conv": TOY_BY_KIND["conv"], "depthwise_conv": TOY_BY_KIND["depthwise_conv"],
                         "transposed_conv": TOY_BY_KIND["transposed_conv"],
                         "matmul": TOY_BY_KIND["fully_connected"] + TOY_BY_KIND["matmul"]}
        assert all(op.where == "portable kernels" for op in g.mac_ops)
    else:
        assert kinds == TOY_BY_KIND
    if name == "toy-xnnpack-int8.pte":
        assert all(op.where.startswith("XnnpackBackend") for op in g.mac_ops)
        convs = [op for op in g.mac_ops if op.kind != "matmul"]
        assert convs and all(op.int8 for op in convs)  # quantized XNNPACK values are read through


# -- the tiny decoder in all three formats ------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_pruned():
    from tqcodec.prune import prune

    torch.manual_seed(0)
    return prune(TQCodec(get_config("tiny")).eval(), {"weights_sha256": "0" * 64})


def _manifest(path: Path, backend: str, precision: str, decoder, **extra) -> Path:
    from mobile_export.manifest import build_manifest, write_manifest

    m = build_manifest(backend=backend, artifact=path, precision=precision, decoder=decoder, source_sha256="0" * 64,
                       gmacs_per_s=0.0, verification={}, trained=False, extra=extra)
    mpath = path.with_suffix(".manifest.json")
    write_manifest(mpath, m)
    return mpath


@pytest.fixture(scope="module")
def tiny_artifacts(tiny_pruned, tmp_path_factory):
    """tiny-fp32-k2.tflite, tiny-fp32-k2.pte (XNNPACK) and tiny-fp16-k2.mlpackage, each with its manifest."""
    from mobile_export.backends.coreml.convert import convert as coreml_convert
    from mobile_export.backends.executorch.graph import export_decoder, lower
    from mobile_export.backends.litert.convert import convert as litert_convert

    out = tmp_path_factory.mktemp("tiny")
    for backend in ("litert", "executorch", "coreml"):  # one folder each, as the exporters do
        (out / backend).mkdir()
    dec = tiny_pruned.streaming(K_TINY)
    paths = {}
    p = out / "litert" / "tiny-fp32-k2.tflite"
    litert_convert(dec, "fp32").export(str(p))
    _manifest(p, "litert", "fp32", dec)
    paths["litert"] = p
    p = out / "executorch" / "tiny-fp32-k2.pte"
    _, program = lower(export_decoder(dec), dec)
    p.write_bytes(program.buffer)
    _manifest(p, "executorch-xnnpack", "fp32", dec)
    paths["executorch"] = p
    p = out / "coreml" / "tiny-fp16-k2.mlpackage"
    coreml_convert(dec, dec).save(str(p))
    _manifest(p, "coreml", "fp16", dec)
    paths["coreml"] = p
    return paths


@pytest.fixture(scope="module")
def tiny_reference():
    """profiling.macs's own count of the tiny decoder (GMAC/s), independent of artifact_macs."""
    torch.manual_seed(0)
    return macs.analyse_model(TQCodec(get_config("tiny"))).decoder_gmacs_per_s


@pytest.mark.parametrize("backend", ["litert", "executorch", "coreml"])
def test_tiny_artifact_equals_fvcore(tiny_artifacts, tiny_pruned, tiny_reference, backend):
    from tqcodec.macs import chunk_macs

    r = am.analyse_artifact(tiny_artifacts[backend])
    assert r.passed, r.problems
    assert r.graph.backend == backend and r.chunk_frames == K_TINY and r.samples_per_chunk == 64 * K_TINY
    dec = tiny_pruned.streaming(K_TINY)
    per_chunk, _ = chunk_macs(dec)
    assert r.macs_per_chunk == per_chunk  # op for op what the streaming decoder does
    assert r.gmacs_per_s == pytest.approx(tiny_reference, rel=0.02)
    assert r.reference.gmacs_per_s == pytest.approx(tiny_reference, rel=1e-9)
    assert r.agrees and _only_conv_out_rewrite(r)
    assert not r.unmatched_artifact and not r.unmatched_reference
    layers = r.by_layer()
    assert set(layers) >= {"conv_in.conv", "lstm.0.input_proj", "lstm.0.recurrent", "conv_out.conv"}
    assert layers["lstm.0.recurrent"] == K_TINY * 4 * 32 * 32  # one recurrent matmul per frame
    assert sum(r.graph.other_ops.values()) > 0  # the elementwise ops are listed, not counted


def test_stereo_artifact_counts_per_channel(tiny_pruned, tiny_reference, tmp_path):
    """A stereo program (codes [2, n_q, K]) does every MAC twice per call: per channel it is the mono
    decoder's count and fvcore's; ExecuTorch fp32 (XNNPACK) and LiteRT fp32, lowered here."""
    from mobile_export.backends.executorch.graph import export_decoder, lower
    from mobile_export.backends.litert.convert import convert as litert_convert
    from tqcodec.macs import chunk_macs

    mono_macs, _ = chunk_macs(tiny_pruned.streaming(K_TINY))
    dec = tiny_pruned.streaming(K_TINY, channels=2)
    for sub in ("executorch", "litert"):  # one folder each: the manifests share the stem
        (tmp_path / sub).mkdir()
    pte = tmp_path / "executorch" / "tiny-fp32-k2-stereo.pte"
    _, program = lower(export_decoder(dec), dec)
    pte.write_bytes(program.buffer)
    tfl = tmp_path / "litert" / "tiny-fp32-k2-stereo.tflite"
    litert_convert(dec, "fp32").export(str(tfl))
    for path, backend in ((pte, "executorch-xnnpack"), (tfl, "litert")):
        _manifest(path, backend, "fp32", dec)
        r = am.analyse_artifact(path)
        assert r.passed, r.problems
        assert r.channels == 2 and r.chunk_frames == K_TINY and r.samples_per_chunk == 64 * K_TINY
        assert r.macs_per_chunk == 2 * mono_macs  # one call, both channels
        assert r.gmacs_per_s == pytest.approx(mono_macs * 44100 / (64 * K_TINY) / 1e9, rel=1e-12)
        assert r.gmacs_per_s == pytest.approx(tiny_reference, rel=0.02)
        assert r.reference.streaming_gmacs_per_s == pytest.approx(r.gmacs_per_s, rel=1e-12)
        assert not r.unmatched_artifact and not r.unmatched_reference and r.agrees and _only_conv_out_rewrite(r)
        d = am.to_json(r)
        assert d["channels"] == 2 and d["macs_per_chunk"] == 2 * mono_macs
    # a manifest that says mono for a stereo program is caught
    m = json.loads(pte.with_suffix(".manifest.json").read_text())
    m["channels"] = 1
    pte.with_suffix(".manifest.json").write_text(json.dumps(m))
    r = am.analyse_artifact(pte)
    assert any("decodes 2 channel(s), the manifest says channels=1" in p for p in r.problems) and not r.passed, r.problems


def test_cli_json_exit_0(tiny_artifacts, capsys):
    args = ["--artifact", str(tiny_artifacts["litert"]), "--artifact", str(tiny_artifacts["executorch"]), "--json"]
    assert macs.main(args) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["passed"] is True and d["hard_budget_gmacs_per_s"] == budget.BUDGET_HARD_GMACS
    assert [a["format"] for a in d["artifacts"]] == ["litert", "executorch"]
    for a in d["artifacts"]:
        for key in ("macs_per_chunk", "gmacs_per_s", "by_op", "other_ops", "reference", "relative_difference",
                    "within_hard_bound", "chunk_frames", "samples_per_chunk", "problems"):
            assert key in a
        assert a["agrees_within_2pct"] and a["within_hard_bound"] and a["chunk_frames"] == K_TINY
        assert a["gmacs_per_s"] == pytest.approx(a["macs_per_chunk"] * 44100 / (64 * K_TINY) / 1e9)
        assert sum(e["macs_per_chunk"] for e in a["by_op"].values()) == a["macs_per_chunk"]


def test_cli_table_and_over_bound_exit_1(tiny_artifacts, monkeypatch, capsys):
    monkeypatch.setattr(budget, "BUDGET_HARD_GMACS", 1e-6)
    assert macs.main(["--artifact", str(tiny_artifacts["coreml"])]) == 1
    out = capsys.readouterr().out
    assert "OVER the 1e-06 GMAC/s hard bound" in out and "FAIL" in out and "conv" in out and "linear" in out


def _copy(src: Path, dst_dir: Path) -> Path:
    dst = dst_dir / src.name
    shutil.copy(src, dst)
    shutil.copy(src.with_suffix(".manifest.json"), dst.with_suffix(".manifest.json"))
    return dst


def test_reference_disagreement_exit_1(tiny_artifacts, tmp_path, capsys):
    """A manifest naming another config (twice the filters): the artifact no longer agrees, and
    nothing structural explains it."""
    art = _copy(tiny_artifacts["litert"], tmp_path)
    mpath = art.with_suffix(".manifest.json")
    m = json.loads(mpath.read_text())
    m["config_detail"]["decoder"]["n_filters"] *= 2
    mpath.write_text(json.dumps(m))
    assert macs.main(["--artifact", str(art)]) == 1
    out = capsys.readouterr().out
    assert "without a structural explanation" in out and "in the reference only" in out
    r = am.analyse_artifact(art)
    assert r.relative_difference < -0.5 and r.unmatched_reference and not r.agrees_after_explanation


def test_structural_difference_is_explained(tiny_pruned, tmp_path):
    """A Core ML export whose codebook lookup is a one-hot matmul (1536 codebook rows) costs
    +140 %; the difference is named, with its MACs, and nothing is left unexplained."""
    from mobile_export import coreml

    dec = tiny_pruned.streaming(K_TINY)

    def one_hot_embed(self, codes):
        flat = (codes.to(torch.int32) + self.offsets).reshape(-1)
        rows = torch.arange(self.table.shape[0], dtype=torch.int32)
        hot = (flat[:, None] == rows[None, :]).to(self.table.dtype)
        return (hot @ self.table).reshape(self.n_q, self.chunk_frames, self.latent_dim).sum(0).t().unsqueeze(0)

    dec.embed = types.MethodType(one_hot_embed, dec)
    art = tmp_path / "tiny-onehot-k2.mlpackage"
    coreml.convert(dec, dec).save(str(art))
    _manifest(art, "coreml", "fp16", dec)
    r = am.analyse_artifact(art)
    lookup = K_TINY * 3 * 1536 * 16  # rows × one-hot width (3 codebooks × 512) × latent dim
    assert [op.macs for op in r.unmatched_artifact] == [lookup]
    assert not r.unmatched_reference
    assert r.macs_per_chunk - lookup == r.reference.streaming_macs_per_chunk
    assert not r.agrees and r.agrees_after_explanation and r.passed
    (cause,) = [e for e in r.explained if "one-hot" in e["cause"]]
    assert "one-hot matmul" in cause["cause"] and cause["gmacs_per_s"] == pytest.approx(r.per_s(lookup))
    assert abs(r.unexplained_relative_difference) < 1e-9


def test_streaming_rewrite_differences_are_attributed_per_layer(tiny_artifacts):
    """Where the streaming decoder counts differently from the offline one, the layer and the
    GMAC/s are named (simulated: the offline LSTM counted 10 % lower)."""
    r = am.analyse_artifact(tiny_artifacts["litert"])
    ref = r.reference
    offline = dict(ref.offline_layers)
    lstm = next(k for k, (module, _) in ref.layer_names.items() if module == "lstm")
    cut = offline[lstm] // 10
    offline[lstm] -= cut
    r.reference = dataclasses.replace(ref, offline_layers=offline, offline_macs=ref.offline_macs - cut)
    r.explained = []
    am._explain(r)
    (cause,) = [e for e in r.explained if " as lstm" in e["cause"]]
    assert cause["cause"].startswith(f"streaming rewrite of {lstm} as lstm")
    assert cause["gmacs_per_s"] == pytest.approx(cut / ref.offline_seconds / 1e9)
    assert abs(r.unexplained_relative_difference) < 1e-9


def test_manifest_checks(tiny_artifacts, tmp_path):
    # no manifest: counted from the program's own shapes, but the reference cannot be named
    bare = tmp_path / "bare" / "tiny.pte"
    bare.parent.mkdir()
    shutil.copy(tiny_artifacts["executorch"], bare)
    r = am.analyse_artifact(bare)
    assert r.chunk_frames == K_TINY and r.samples_per_chunk == 128 and r.macs_per_chunk > 0
    assert not r.passed and any("no manifest" in p for p in r.problems)
    # a manifest that disagrees with the program's input shape
    art = _copy(tiny_artifacts["executorch"], tmp_path)
    mpath = art.with_suffix(".manifest.json")
    m = json.loads(mpath.read_text())
    m["chunk_frames"], m["samples_per_chunk"] = 4, 256
    mpath.write_text(json.dumps(m))
    r = am.analyse_artifact(art)
    assert any("has K=2, the manifest says chunk_frames=4" in p for p in r.problems) and not r.passed


# -- user errors: one line, exit 2 -----------------------------------------------------------
def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_user_errors_exit_2(tiny_artifacts, tmp_path, capsys):
    cases = []
    cases.append((tmp_path / "missing.tflite", "no such file"))
    other = tmp_path / "decoder.bin"
    other.write_bytes(b"\0" * 64)
    cases.append((other, "unknown artifact type '.bin'"))
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(bytes(range(256)) * 4)
    cases.append((junk, "not a LiteRT flatbuffer"))
    real = tiny_artifacts["litert"].read_bytes()
    cut = tmp_path / "truncated.tflite"
    cut.write_bytes(real[:len(real) // 3])
    cases.append((cut, "cannot parse the LiteRT flatbuffer"))
    junk_pte = tmp_path / "junk.pte"
    junk_pte.write_bytes(b"\0" * 4096)
    cases.append((junk_pte, "not an ExecuTorch program"))
    pte = tiny_artifacts["executorch"].read_bytes()
    cut_pte = tmp_path / "truncated.pte"
    cut_pte.write_bytes(pte[:len(pte) // 2])
    cases.append((cut_pte, "cannot parse the ExecuTorch program"))
    bad_pkg = tmp_path / "broken.mlpackage"
    bad_pkg.mkdir()
    (bad_pkg / "Manifest.json").write_text("{not json")
    cases.append((bad_pkg, "cannot read the Core ML package"))
    file_pkg = tmp_path / "file.mlpackage"
    file_pkg.write_bytes(b"x")
    cases.append((file_pkg, "must be a folder"))
    for path, message in cases:
        assert macs.main(["--artifact", str(path)]) == 2, path
        line = _error_line(capsys)
        assert str(path) in line and message in line, line
    # a bad file among good ones: still a user error, nothing half-printed
    assert macs.main(["--artifact", str(tiny_artifacts["litert"]), "--artifact", str(junk)]) == 2
    assert "junk.tflite" in _error_line(capsys)


def test_cli_subprocess_error_is_one_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "profiling.macs", "--artifact", str(tmp_path / "nope.pte")],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and r.stdout == ""
    assert "Traceback" not in r.stderr
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert errors == [f"error: {tmp_path / 'nope.pte'}: no such file"]


# -- the real size ------------------------------------------------------------------------------
@pytest.mark.real_size
def test_tq64_artifacts_within_budget_and_fvcore(tmp_path):
    """An ExecuTorch fp32 export of tq64 made here (lowering only, ~30 s): within 10 GMAC/s and
    within 2 % of fvcore's count of the tq64 decoder (profiling.macs.analyse_model)."""
    from mobile_export.backends.executorch.graph import export_decoder, lower
    from tqcodec.prune import prune

    torch.manual_seed(0)
    model = TQCodec(get_config("tq64"))
    fvcore = macs.analyse_model(model).decoder_gmacs_per_s
    assert fvcore == pytest.approx(6.31, rel=0.03)
    dec = prune(model, {"weights_sha256": "0" * 64}).streaming(16)
    pte = tmp_path / "tq64-fp32-k16.pte"
    _, program = lower(export_decoder(dec), dec)
    pte.write_bytes(program.buffer)
    _manifest(pte, "executorch-xnnpack", "fp32", dec)
    r = am.analyse_artifact(pte)
    assert r.reference.config == "tq64"
    assert r.gmacs_per_s <= budget.BUDGET_HARD_GMACS
    assert r.gmacs_per_s == pytest.approx(fvcore, rel=0.02)
    assert not r.unmatched_artifact and not r.unmatched_reference
    assert r.passed, r.problems
    assert len(r.graph.mac_ops) == 45  # conv_in, 2 × (1 + 16) LSTM matmuls, 3 × (up + 2 convs), conv_out

"""Pruning keeps exactly what decoding needs, and streaming equals offline."""
import subprocess
import sys

import pytest
import torch

from tqcodec.prune import load_pruned, prune
from tqcodec.checkpoint import save_checkpoint


def test_prune_cli_and_reload(tmp_path, tiny_model):
    ck = tmp_path / "t.pt"
    save_checkpoint(ck, tiny_model)
    out = tmp_path / "t-decoder.pt"
    r = subprocess.run([sys.executable, "-m", "mobile_export.prune", "--ckpt", str(ck), "--out", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "parameters" in r.stdout
    pruned = load_pruned(out)
    # decoder weights (weight norm folded: one tensor per conv) + one [512, d] table per stage
    folded = sum(v.numel() for v in pruned.build_decoder().state_dict().values())
    assert pruned.parameter_count == folded + 3 * 512 * 16
    assert folded < sum(p.numel() for p in tiny_model.decoder.parameters())
    assert not any("encoder" in k for k in pruned.decoder_state)
    codes = torch.randint(0, 512, (1, 3, 48))
    ref = tiny_model.decode(codes)[0, 0]
    assert torch.allclose(pruned.streaming(16).decode(codes[0]), ref, atol=1e-6)


def test_prune_errors(tmp_path):
    r = subprocess.run([sys.executable, "-m", "mobile_export.prune", "--ckpt", str(tmp_path / "no.pt"),
                        "--out", str(tmp_path / "o.pt")], capture_output=True, text=True)
    assert r.returncode == 2 and "no such checkpoint file" in r.stderr and "Traceback" not in r.stderr


def test_streaming_chunk_sizes_tiny(tiny_model):
    pruned = prune(tiny_model, {})
    codes = torch.randint(0, 512, (1, 3, 130))
    ref = tiny_model.decode(codes)[0, 0]
    for k in (1, 5, 16, 64):
        y = pruned.streaming(k).decode(codes[0])
        assert y.shape == ref.shape
        assert (y - ref).abs().max() <= 1e-5


def test_native_elu_is_the_same_decoder(tiny_model):
    """The ExecuTorch export writes ELU as one aten.elu; it must decode exactly like the default form."""
    pruned = prune(tiny_model, {})
    codes = torch.randint(0, 512, (3, 160))
    ref = pruned.streaming(16).decode(codes)
    native = pruned.streaming(16).use_native_elu()
    assert all(b.native_elu for stage in native.res_blocks for b in stage)
    assert (native.decode(codes) - ref).abs().max() <= 1e-6
    graph = torch.export.export(native, (codes[None, :, :16].int(), *native.init_state())).graph
    blocks = sum(len(stage) for stage in native.res_blocks)
    elus = len(native.upsamplers) + 2 * blocks + 1  # before each upsampler, two per residual unit, before conv_out
    assert sum(n.target is torch.ops.aten.elu.default for n in graph.nodes) == elus


def test_stereo_step_equals_two_mono_passes(tiny_model):
    """One stereo call per chunk (codes [2, n_q, K], per-channel state) decodes each channel exactly
    as its own mono pass does, chunk sizes that do and do not divide the stream."""
    pruned = prune(tiny_model, {})
    codes = torch.randint(0, 512, (2, 3, 130))
    for k in (1, 16, 48):
        stereo = pruned.streaming(k, channels=2)
        assert stereo.input_spec().shape == (2, 3, k)
        assert stereo.output_spec().shape == (2, 1, stereo.samples_per_chunk)
        assert all(s.shape[0] == 2 for s in stereo.state_specs())
        y = stereo.decode(codes)
        mono = pruned.streaming(k)
        for ch in range(2):
            assert (y[ch] - mono.decode(codes[ch])).abs().max() <= 1e-5
    # the channels never mix: changing the right channel's codes leaves the left one bit-exact
    other = codes.clone()
    other[1] = torch.randint(0, 512, (3, 130))
    assert torch.equal(stereo.decode(other)[0], y[0])


def test_stereo_decoder_refuses_the_wrong_codes(tiny_model):
    stereo = prune(tiny_model, {}).streaming(16, channels=2)
    with pytest.raises(ValueError, match=r"codes \[2, n_q, F\]"):
        stereo.decode(torch.zeros(3, 32, dtype=torch.int32))
    with pytest.raises(ValueError, match="channels must be 1"):
        prune(tiny_model, {}).streaming(16, channels=3)

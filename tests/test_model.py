"""Shapes, code ranges, causality and stereo handling of the reference model."""
import pytest
import torch

from tqcodec.configs import CONFIGS, get_config
from tqcodec.model import TQCodec

NAMED = ["tq32", "tq64", "tq128", "tq64-subband", "tq64-balanced", "tq64-dac", "tiny", "tiny-subband"]


@pytest.mark.parametrize("name", NAMED)
def test_shapes_and_code_range(name):
    torch.manual_seed(0)
    cfg = get_config(name)
    model = TQCodec(cfg).eval()
    audio = torch.randn(2, 1, 64 * 8 + 3) * 0.1
    codes = model.encode(audio)
    frames = -(-(audio.shape[-1] + model.delay) // 64)
    assert codes.shape == (2, cfg.n_codebooks, frames)
    assert codes.dtype == torch.int64
    assert int(codes.min()) >= 0 and int(codes.max()) < cfg.codebook_size
    out = model(audio)
    assert out.audio.shape == audio.shape
    assert out.codebook_loss.ndim == 0 and out.commitment_loss.ndim == 0
    decoded = model.decode(codes)
    assert decoded.shape == (2, 1, frames * 64 - model.delay)


def test_bitrate_arithmetic():
    assert get_config("tq32").kbps_per_channel == pytest.approx(31.0, abs=0.05)
    assert get_config("tq64").kbps_per_channel == pytest.approx(62.0, abs=0.05)
    assert get_config("tq128").kbps_per_channel == pytest.approx(124.0, abs=0.1)
    assert get_config("tq128").kbps_stereo == pytest.approx(248.1, abs=0.1)
    assert get_config("tq64").frame_rate == pytest.approx(689.0625)
    assert get_config("tq64").hop_length == 64


def test_unknown_config_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown config 'tq65'"):
        get_config("tq65")


def _causal_check(fn, x, cut):
    """Changing input from ``cut`` onwards must leave outputs before the matching point unchanged."""
    y1 = fn(x)
    x2 = x.clone()
    x2[..., cut:] = torch.randn_like(x2[..., cut:])
    y2 = fn(x2)
    return y1, y2


@pytest.mark.parametrize("name", ["tiny", "tiny-subband"])
def test_encoder_is_causal(name):
    torch.manual_seed(1)
    model = TQCodec(get_config(name)).eval()
    x = torch.randn(1, 1, 64 * 40)
    cut = 64 * 25
    with torch.no_grad():
        z1, z2 = _causal_check(model.encoder, torch.nn.functional.pad(x, (0, 0)), cut)
    # latent frame f sees input samples < (f + 1) * 64 only
    assert torch.equal(z1[..., : cut // 64], z2[..., : cut // 64])
    assert not torch.equal(z1, z2)


@pytest.mark.parametrize("name", ["tiny", "tiny-subband"])
def test_decoder_is_causal(name):
    torch.manual_seed(2)
    cfg = get_config(name)
    model = TQCodec(cfg).eval()
    z = torch.randn(1, cfg.quantized_dim, 40)
    cut = 25
    with torch.no_grad():
        y1, y2 = _causal_check(model.decoder, z, cut)
    assert torch.equal(y1[..., : cut * 64], y2[..., : cut * 64])
    assert not torch.equal(y1, y2)


def test_stereo_is_two_mono_passes(tiny_model):
    stereo = torch.randn(2, 64 * 30) * 0.1
    codes = tiny_model.encode_channels(stereo)
    assert codes.shape[0] == 2
    left = tiny_model.encode(stereo[:1, None])
    right = tiny_model.encode(stereo[1:, None])
    assert torch.equal(codes[0], left[0]) and torch.equal(codes[1], right[0])
    audio = tiny_model.decode_channels(codes)
    assert audio.shape == (2, 64 * 30)
    assert torch.allclose(audio[1], tiny_model.decode(right)[0, 0], atol=1e-6)


def test_every_named_config_is_listed():
    assert {"tq32", "tq64", "tq128", "tq64-subband", "tiny"} <= set(CONFIGS)


def test_rejects_non_mono_batch(tiny_model):
    with pytest.raises(ValueError, match=r"expected mono audio \[B, 1, T\]"):
        tiny_model.encode(torch.zeros(1, 2, 640))

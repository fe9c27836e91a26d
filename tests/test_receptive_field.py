"""The analytic receptive field equals what perturbing one code frame actually changes."""
import pytest
import torch

from tqcodec.configs import get_config
from tqcodec.model import TQCodec
from tqcodec.receptive_field import decoder_receptive_field


def _silence_lstm(decoder):
    # With zero weights and biases an LSTM outputs h = o·tanh(c) = 0, leaving only the skip.
    for m in decoder.modules():
        if isinstance(m, torch.nn.LSTM):
            for p in m.parameters():
                p.data.zero_()


@pytest.mark.parametrize("name", ["tiny", "tq64"])
def test_perturbing_one_frame(name):
    torch.manual_seed(0)
    cfg = get_config(name)
    decoder = TQCodec(cfg).decoder.eval()
    _silence_lstm(decoder)
    frames, f = 40, 10
    z = torch.randn(1, cfg.latent_dim, frames)
    z2 = z.clone()
    z2[..., f] += 1.0
    with torch.no_grad():
        diff = (decoder(z) - decoder(z2)).abs()[0, 0]
    changed = torch.nonzero(diff > 0).flatten()
    first, last = int(changed.min()), int(changed.max())
    assert first == f * cfg.hop_length  # causal: nothing before the frame's own samples
    assert last - first + 1 == decoder_receptive_field(decoder)
    if name == "tq64":
        assert decoder_receptive_field(decoder) == 550

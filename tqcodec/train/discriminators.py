"""DAC's discriminators: multi-period (periods 2, 3, 5, 7, 11) and multi-band multi-scale STFT.

Same topology as DAC (Kumar et al. 2023), written afresh and slimmed so that a CPU step
stays affordable: DAC's period discriminators climb to 1024 channels (8.2 M parameters
each); the defaults here (``DiscriminatorConfig``) stop at 256 (0.55 M each), and the STFT
discriminators use 16 channels instead of 32 (0.12 M each; 3.1 M parameters in all). Every convolution is weight-normed
and followed by LeakyReLU(0.1) except the 1-channel output ("logits") layer.

Each sub-discriminator returns its list of feature maps, the last entry being the
logits; ``MultiDiscriminator`` returns one such list per sub-discriminator.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrizations

# Fractions of the STFT's bins per band (DAC's split): 0–10 %, 10–25 %, 25–50 %, 50–75 %, 75–100 %.
BANDS = ((0.0, 0.1), (0.1, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0))


@dataclass(frozen=True)
class DiscriminatorConfig:
    periods: tuple[int, ...] = (2, 3, 5, 7, 11)
    mpd_channels: tuple[int, ...] = (32, 64, 128, 256, 256)  # DAC: 32, 128, 512, 1024, 1024
    fft_sizes: tuple[int, ...] = (2048, 1024, 512)
    mrd_channels: int = 16  # DAC: 32
    bands: tuple[tuple[float, float], ...] = field(default=BANDS)

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict) -> "DiscriminatorConfig":
        return DiscriminatorConfig(periods=tuple(d["periods"]), mpd_channels=tuple(d["mpd_channels"]),
                                   fft_sizes=tuple(d["fft_sizes"]), mrd_channels=int(d["mrd_channels"]),
                                   bands=tuple(tuple(b) for b in d["bands"]))


def _wn_conv2d(cin: int, cout: int, kernel, stride=1, padding=0) -> nn.Module:
    return parametrizations.weight_norm(nn.Conv2d(cin, cout, kernel, stride, padding))


class PeriodDiscriminator(nn.Module):
    """Folds the waveform into [T / p, p] and convolves along time only (kernel (5, 1))."""

    def __init__(self, period: int, channels: tuple[int, ...]):
        super().__init__()
        self.period = period
        layers, cin = [], 1
        for i, cout in enumerate(channels):
            stride = (3, 1) if i < len(channels) - 1 else (1, 1)
            layers.append(_wn_conv2d(cin, cout, (5, 1), stride, (2, 0)))
            cin = cout
        self.convs = nn.ModuleList(layers)
        self.post = _wn_conv2d(cin, 1, (3, 1), 1, (1, 0))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        t = x.shape[-1]
        x = F.pad(x, (0, (-t) % self.period), mode="reflect")
        x = x.view(x.shape[0], 1, -1, self.period)
        fmaps = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.1)
            fmaps.append(x)
        fmaps.append(self.post(x))
        return fmaps


class BandedSTFTDiscriminator(nn.Module):
    """One STFT resolution (hop n_fft/4); real and imaginary parts as two input channels;
    each frequency band has its own conv stack, the bands are re-joined before the logits."""

    def __init__(self, n_fft: int, channels: int, bands):
        super().__init__()
        self.n_fft, self.hop = n_fft, n_fft // 4
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        n_bins = n_fft // 2 + 1
        self.bands = [(int(lo * n_bins), int(hi * n_bins)) for lo, hi in bands]
        ch = channels

        def stack() -> nn.ModuleList:
            return nn.ModuleList([
                _wn_conv2d(2, ch, (3, 9), (1, 1), (1, 4)),
                _wn_conv2d(ch, ch, (3, 9), (1, 2), (1, 4)),
                _wn_conv2d(ch, ch, (3, 9), (1, 2), (1, 4)),
                _wn_conv2d(ch, ch, (3, 9), (1, 2), (1, 4)),
                _wn_conv2d(ch, ch, (3, 3), (1, 1), (1, 1)),
            ])

        self.band_convs = nn.ModuleList([stack() for _ in self.bands])
        self.post = _wn_conv2d(ch, 1, (3, 3), 1, (1, 1))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        spec = torch.stft(x[:, 0], self.n_fft, self.hop, window=self.window, center=True,
                          return_complex=True)  # [B, F, frames]
        spec = torch.view_as_real(spec).permute(0, 3, 2, 1)  # [B, 2, frames, F]
        fmaps, outs = [], []
        for (lo, hi), convs in zip(self.bands, self.band_convs):
            h = spec[..., lo:hi]
            for conv in convs:
                h = F.leaky_relu(conv(h), 0.1)
                fmaps.append(h)
            outs.append(h)
        fmaps.append(self.post(torch.cat(outs, dim=-1)))
        return fmaps


class MultiDiscriminator(nn.Module):
    """All period and STFT discriminators. Input [B, 1, T]; like DAC, each input is made
    zero-mean and peak-normalised to 0.8 first, so the critics judge shape, not loudness."""

    def __init__(self, cfg: DiscriminatorConfig = DiscriminatorConfig()):
        super().__init__()
        self.config = cfg
        self.discriminators = nn.ModuleList(
            [PeriodDiscriminator(p, cfg.mpd_channels) for p in cfg.periods]
            + [BandedSTFTDiscriminator(n, cfg.mrd_channels, cfg.bands) for n in cfg.fft_sizes])

    @staticmethod
    def preprocess(x: torch.Tensor) -> torch.Tensor:
        x = x - x.mean(dim=-1, keepdim=True)
        return 0.8 * x / (x.abs().amax(dim=-1, keepdim=True) + 1e-9)

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        x = self.preprocess(x)
        return [d(x) for d in self.discriminators]

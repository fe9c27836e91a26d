"""Generator and discriminator losses of the training recipe (TQCODEC.md, paper §3.1.3).

* ``MultiScaleMelLoss`` — DAC's: seven STFTs (windows 32 … 2048, hop = window / 4, Hann)
  projected onto 5 … 320 mel bands; per scale L1 of the mel magnitudes plus L1 of their
  log10 (clamped at 1e-5); summed over scales. The mel filterbank is built here (Slaney
  mel scale and area normalisation, librosa's default) so no audio library is needed.
* waveform L1, feature matching (L1 between the discriminators' feature maps of real and
  generated audio, summed over layers and discriminators, real side detached) and the
  hinge adversarial losses: D: E[relu(1 − D(x))] + E[relu(1 + D(x̂))], G: −E[D(x̂)].
* ``LossWeights`` holds the recipe's weights: mel 15, waveform 1, feature 2, adversarial 1,
  codebook 1, commitment 0.25.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class LossWeights:
    mel: float = 15.0
    waveform: float = 1.0
    feature: float = 2.0
    adversarial: float = 1.0
    codebook: float = 1.0
    commitment: float = 0.25

    def to_dict(self) -> dict:
        return asdict(self)


def hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, f / f_sp)


def mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0,
                   fmax: float | None = None) -> np.ndarray:
    """[n_mels, n_fft // 2 + 1] triangular filters with Slaney area normalisation
    (numerically librosa.filters.mel's default)."""
    fmax = sample_rate / 2 if fmax is None else fmax
    fft_freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2: n_mels + 2] - mel_f[:n_mels]))[:, None]
    return weights.astype(np.float32)


class MelSpectrogram(nn.Module):
    """Mel magnitude spectrogram [B, n_mels, frames] of audio [B, 1, T] (centred, reflect padding)."""

    def __init__(self, sample_rate: int, window_length: int, n_mels: int):
        super().__init__()
        self.n_fft, self.hop = window_length, window_length // 4
        self.register_buffer("window", torch.hann_window(window_length), persistent=False)
        fb = torch.from_numpy(mel_filterbank(sample_rate, window_length, n_mels))
        self.register_buffer("filterbank", fb, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(x.reshape(-1, x.shape[-1]), self.n_fft, self.hop, window=self.window,
                          center=True, pad_mode="reflect", return_complex=True)
        return self.filterbank @ spec.abs()


class MultiScaleMelLoss(nn.Module):
    def __init__(self, sample_rate: int = 44_100,
                 window_lengths: tuple[int, ...] = (32, 64, 128, 256, 512, 1024, 2048),
                 n_mels: tuple[int, ...] = (5, 10, 20, 40, 80, 160, 320),
                 mag_weight: float = 1.0, log_weight: float = 1.0, clamp_eps: float = 1e-5):
        super().__init__()
        self.mels = nn.ModuleList([MelSpectrogram(sample_rate, w, m) for w, m in zip(window_lengths, n_mels)])
        self.mag_weight, self.log_weight, self.clamp_eps = mag_weight, log_weight, clamp_eps

    @property
    def min_length(self) -> int:
        """Reflect padding needs more than half the largest window."""
        return max(m.n_fft for m in self.mels) // 2 + 1

    def forward(self, estimate: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        loss = estimate.new_zeros(())
        for mel in self.mels:
            x, y = mel(estimate), mel(reference)
            loss = loss + self.mag_weight * F.l1_loss(x, y)
            loss = loss + self.log_weight * F.l1_loss(x.clamp_min(self.clamp_eps).log10(),
                                                      y.clamp_min(self.clamp_eps).log10())
        return loss


def feature_matching_loss(fake: list[list[torch.Tensor]], real: list[list[torch.Tensor]]) -> torch.Tensor:
    """Σ over discriminators and their hidden layers (not the logits) of mean |f(x̂) − f(x)|."""
    loss = fake[0][0].new_zeros(())
    for fmaps_fake, fmaps_real in zip(fake, real):
        for f, r in zip(fmaps_fake[:-1], fmaps_real[:-1]):
            loss = loss + F.l1_loss(f, r.detach())
    return loss


def generator_adversarial_loss(fake: list[list[torch.Tensor]]) -> torch.Tensor:
    """Hinge GAN generator term −E[D(x̂)], summed over discriminators."""
    return sum(-fmaps[-1].mean() for fmaps in fake)


def discriminator_loss(fake: list[list[torch.Tensor]], real: list[list[torch.Tensor]]) -> torch.Tensor:
    """Hinge: E[relu(1 − D(x))] + E[relu(1 + D(x̂))], summed over discriminators."""
    return sum(F.relu(1 - r[-1]).mean() + F.relu(1 + f[-1]).mean() for f, r in zip(fake, real))

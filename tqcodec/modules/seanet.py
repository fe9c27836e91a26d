"""SEANet encoder and decoder (Encodec-style, causal, with a 2-layer LSTM).

Widths follow ``SEANetConfig``: the encoder doubles its channels at every down-sampling
stage (``n → 2n → 4n → 8n`` for strides 2·4·8) and the decoder mirrors it.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..configs import SEANetConfig
from .conv import StreamableConv1d, StreamableConvTranspose1d
from .lstm import SLSTM


class SEANetResnetBlock(nn.Module):
    """ELU → conv(k, dilation) → ELU → conv(1), added to the input (identity skip)."""

    def __init__(self, dim: int, kernel_size: int = 3, dilation: int = 1, compress: int = 2):
        super().__init__()
        hidden = max(1, dim // compress)
        self.block = nn.Sequential(
            nn.ELU(),
            StreamableConv1d(dim, hidden, kernel_size, dilation=dilation),
            nn.ELU(),
            StreamableConv1d(hidden, dim, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


def _residual_stack(dim: int, cfg: SEANetConfig) -> list[nn.Module]:
    return [SEANetResnetBlock(dim, cfg.residual_kernel_size, cfg.dilation_base ** j, cfg.compress)
            for j in range(cfg.n_residual_layers)]


class SEANetEncoder(nn.Module):
    """Waveform [B, channels, T] → latent [B, dimension, T / prod(ratios)]."""

    def __init__(self, cfg: SEANetConfig, dimension: int, ratios: Sequence[int], channels: int = 1):
        super().__init__()
        n = cfg.n_filters
        layers: list[nn.Module] = [StreamableConv1d(channels, n, cfg.kernel_size)]
        mult = 1
        for ratio in reversed(ratios):  # encoder goes 2·4·8
            layers += _residual_stack(mult * n, cfg)
            layers += [nn.ELU(), StreamableConv1d(mult * n, 2 * mult * n, 2 * ratio, stride=ratio)]
            mult *= 2
        if cfg.lstm_layers:
            layers.append(SLSTM(mult * n, cfg.lstm_layers))
        layers += [nn.ELU(), StreamableConv1d(mult * n, dimension, cfg.last_kernel_size)]
        self.model = nn.Sequential(*layers)
        self.hop_length = int(torch.tensor(list(ratios)).prod())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class SEANetDecoder(nn.Module):
    """Latent [B, dimension, T] → waveform [B, channels, T * prod(ratios)].

    Layout (indices matter to the streaming rewrite in ``mobile_export.streaming``):
    conv-in, SLSTM, then per stride ELU → transposed conv → residual blocks, then
    ELU → conv-out.
    """

    def __init__(self, cfg: SEANetConfig, dimension: int, ratios: Sequence[int], channels: int = 1):
        super().__init__()
        n = cfg.n_filters
        mult = 2 ** len(ratios)
        layers: list[nn.Module] = [StreamableConv1d(dimension, mult * n, cfg.kernel_size)]
        if cfg.lstm_layers:
            layers.append(SLSTM(mult * n, cfg.lstm_layers))
        for ratio in ratios:
            layers += [nn.ELU(), StreamableConvTranspose1d(mult * n, mult * n // 2, 2 * ratio, stride=ratio)]
            layers += _residual_stack(mult * n // 2, cfg)
            mult //= 2
        layers += [nn.ELU(), StreamableConv1d(n, channels, cfg.last_kernel_size)]
        self.model = nn.Sequential(*layers)
        self.hop_length = int(torch.tensor(list(ratios)).prod())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(z)

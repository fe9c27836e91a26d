"""SEANet's LSTM with a skip connection (``y = lstm(x) + x``), on [B, C, T] tensors."""
from __future__ import annotations

import torch
from torch import nn


class SLSTM(nn.Module):
    """A multi-layer unidirectional LSTM over time with an identity skip.

    Unidirectional keeps it causal; the streaming decoder in ``mobile_export`` re-writes
    it as gate matmuls with explicit ``h``/``c`` state using these same weights.
    """

    def __init__(self, dim: int, num_layers: int = 2):
        super().__init__()
        self.lstm = nn.LSTM(dim, dim, num_layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(2, 0, 1)  # [T, B, C]
        y, _ = self.lstm(x)
        return (y + x).permute(1, 2, 0)

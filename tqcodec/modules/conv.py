"""Causal (streamable) convolutions: the one place where padding arithmetic lives.

Every convolution in TQCodec pads on the left only, so an output sample never depends
on future input and the decoder can run in chunks.  Inputs are expected to be whole
multiples of the stride (the codec pads audio to a multiple of the hop once, at the
model boundary), which keeps lengths exact: ``T -> T // stride`` for a conv and
``T -> T * stride`` for a transposed conv.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrizations, parametrize


def apply_weight_norm(module: nn.Module) -> nn.Module:
    return parametrizations.weight_norm(module, name="weight")


def remove_weight_norm(module: nn.Module) -> None:
    """Fold every weight-norm parametrisation of ``module`` into plain weights."""
    for m in module.modules():
        if parametrize.is_parametrized(m, "weight"):
            parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)


class StreamableConv1d(nn.Module):
    """Conv1d with causal left padding ``(k - 1) * dilation - (stride - 1)``.

    With kernel ``2 * stride`` (SEANet's down-sampling convs) this maps ``T`` samples to
    exactly ``T / stride`` frames.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 dilation: int = 1, bias: bool = True, norm: bool = True):
        super().__init__()
        conv = nn.Conv1d(in_channels, out_channels, kernel_size, stride=stride, dilation=dilation, bias=bias)
        self.conv = apply_weight_norm(conv) if norm else conv
        self.padding = (kernel_size - 1) * dilation - (stride - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (self.padding, 0)))


class StreamableConvTranspose1d(nn.Module):
    """ConvTranspose1d trimmed causally: the ``k - stride`` overlap tail on the right is
    dropped, so ``T`` frames give ``T * stride`` samples and the tail is what a streaming
    decoder carries into the next chunk."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int,
                 bias: bool = True, norm: bool = True):
        super().__init__()
        convtr = nn.ConvTranspose1d(in_channels, out_channels, kernel_size, stride=stride, bias=bias)
        self.convtr = apply_weight_norm(convtr) if norm else convtr
        self.trim = kernel_size - stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.convtr(x)
        return y[..., : y.shape[-1] - self.trim] if self.trim else y

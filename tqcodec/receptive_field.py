"""Receptive field of the decoder's convolutional path, computed analytically.

Method (stated in every report): the LSTM is excluded (its memory is unbounded); we
propagate the interval of time steps that a single code frame can reach through each
layer (conv: ``+ (k-1)·dilation``; causal transposed conv: ``p → [p·s, p·s + k - 1]``;
residual block: the union of skip and branch) and report how many output samples at
44.1 kHz one frame influences.  ``tests/test_receptive_field.py`` confirms it by
perturbing one frame of a decoder whose LSTM contributes nothing.
"""
from __future__ import annotations

from torch import nn

from .modules.conv import StreamableConv1d, StreamableConvTranspose1d
from .modules.lstm import SLSTM
from .modules.seanet import SEANetDecoder, SEANetResnetBlock


def _span(module: nn.Module, hi: int) -> int:
    """Last time index reached, given that indices [0, hi] are reached at the input."""
    if isinstance(module, StreamableConv1d):
        conv = module.conv
        if conv.stride[0] != 1:
            raise ValueError("strided convolutions do not occur in the decoder")
        return hi + (conv.kernel_size[0] - 1) * conv.dilation[0]
    if isinstance(module, StreamableConvTranspose1d):
        tr = module.convtr
        return hi * tr.stride[0] + tr.kernel_size[0] - 1
    if isinstance(module, SEANetResnetBlock):
        for m in module.block:
            hi = _span(m, hi)
        return hi
    if isinstance(module, (SLSTM, nn.ELU)):
        return hi  # LSTM excluded by definition; ELU is pointwise
    if isinstance(module, nn.Sequential):
        for m in module:
            hi = _span(m, hi)
        return hi
    raise TypeError(f"no receptive-field rule for {type(module).__name__}")


def decoder_receptive_field(decoder: SEANetDecoder) -> int:
    """Output samples influenced by one code frame (convolutions only)."""
    return _span(decoder.model, 0) + 1

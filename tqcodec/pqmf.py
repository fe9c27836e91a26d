"""Causal 16-band pseudo-QMF filter bank for the perception-driven subband variant.

A Kaiser-window prototype low-pass is cosine-modulated into analysis and synthesis
filters (near-perfect reconstruction).  Both run causally (left padding), so analysis
followed by synthesis is a pure delay of ``taps`` samples; the codec compensates it.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import minimize_scalar
from scipy.signal.windows import kaiser
from torch import nn


def _prototype(taps: int, cutoff: float, beta: float) -> np.ndarray:
    n = np.arange(taps + 1) - taps / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        h = np.sin(cutoff * math.pi * n) / (math.pi * n)
    h[taps // 2] = cutoff
    return h * kaiser(taps + 1, beta)


def design_prototype(bands: int, taps: int, beta: float = 9.0) -> np.ndarray:
    """Choose the cutoff that makes ``h * h[::-1]`` closest to a 2·bands-th band filter
    (the Kaiser approach of Lin & Vaidyanathan), which minimises aliasing after synthesis."""

    def objective(cutoff: float) -> float:
        h = _prototype(taps, cutoff, beta)
        conv = np.convolve(h, h[::-1])
        center = len(conv) // 2
        side = conv[center % (2 * bands)::2 * bands]
        side = np.delete(side, center // (2 * bands))
        return float(np.abs(side).max())

    res = minimize_scalar(objective, bounds=(0.2 / bands, 1.0 / bands), method="bounded")
    return _prototype(taps, res.x, beta)


class PQMF(nn.Module):
    def __init__(self, bands: int = 16, taps: int = 256, beta: float = 9.0):
        super().__init__()
        self.bands, self.taps = bands, taps
        h = design_prototype(bands, taps, beta)
        n = np.arange(taps + 1) - taps / 2
        k = np.arange(bands)[:, None]
        phase = (-1.0) ** k * math.pi / 4
        arg = (2 * k + 1) * math.pi / (2 * bands) * n[None]
        analysis = 2 * h[None] * np.cos(arg + phase)
        synthesis = 2 * h[None] * np.cos(arg - phase)
        self.register_buffer("analysis_filter", torch.tensor(analysis, dtype=torch.float32)[:, None])
        self.register_buffer("synthesis_filter", torch.tensor(synthesis, dtype=torch.float32)[None])

    @property
    def delay(self) -> int:
        return self.taps

    def analysis(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 1, T] → [B, bands, T / bands]."""
        return F.conv1d(F.pad(x, (self.taps, 0)), self.analysis_filter, stride=self.bands)

    def synthesis(self, x: torch.Tensor) -> torch.Tensor:
        """[B, bands, T'] → [B, 1, T' * bands]."""
        b, k, t = x.shape
        up = torch.zeros(b, k, t * self.bands, dtype=x.dtype, device=x.device)
        up[..., :: self.bands] = x * self.bands
        return F.conv1d(F.pad(up, (self.taps, 0)), self.synthesis_filter)

"""Residual quantisation: each stage codes what the previous stages left over."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..configs import CodecConfig
from .dac_vq import FactorizedVQStage
from .simvq import SimVQStage


@dataclass
class QuantizerOutput:
    quantized: torch.Tensor  # [B, d, T], straight-through
    codes: torch.Tensor  # [B, n_q, T] int64
    codebook_loss: torch.Tensor
    commitment_loss: torch.Tensor


class ResidualQuantizer(nn.Module):
    def __init__(self, cfg: CodecConfig):
        super().__init__()
        dim, k = cfg.quantized_dim, cfg.codebook_size
        if cfg.quantizer == "simvq":
            stages = [SimVQStage(dim, k, seed=i) for i in range(cfg.n_codebooks)]
        elif cfg.quantizer == "dac":
            stages = [FactorizedVQStage(dim, k, cfg.codebook_dim) for _ in range(cfg.n_codebooks)]
        else:
            raise ValueError(f"unknown quantizer {cfg.quantizer!r} (expected 'simvq' or 'dac')")
        self.stages = nn.ModuleList(stages)

    def forward(self, z: torch.Tensor) -> QuantizerOutput:
        residual, quantized = z, torch.zeros_like(z)
        codes, cb_loss, commit_loss = [], z.new_zeros(()), z.new_zeros(())
        for stage in self.stages:
            q, c, cb, cm = stage(residual)
            residual = residual - q
            quantized = quantized + q
            codes.append(c)
            cb_loss, commit_loss = cb_loss + cb, commit_loss + cm
        return QuantizerOutput(quantized, torch.stack(codes, 1), cb_loss, commit_loss)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        if codes.shape[1] != len(self.stages):
            raise ValueError(f"expected {len(self.stages)} codebooks, got codes of shape {tuple(codes.shape)}")
        return sum(stage.decode(codes[:, i]) for i, stage in enumerate(self.stages))

    def lookup_tables(self) -> torch.Tensor:
        """[n_q, K, d]: decoding is ``sum_i tables[i][codes[i]]``."""
        return torch.stack([s.lookup_table() for s in self.stages])

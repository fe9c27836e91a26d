"""DAC's improved VQ stage (factorised low-dimensional, l2-normalised lookup).

Kept for the ablation against SimVQ; it deploys the same way (a [K, d] table: the
out-projection of every code).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..modules.conv import apply_weight_norm


class FactorizedVQStage(nn.Module):
    def __init__(self, dim: int, codebook_size: int = 512, codebook_dim: int = 8):
        super().__init__()
        self.in_proj = apply_weight_norm(nn.Conv1d(dim, codebook_dim, 1))
        self.out_proj = apply_weight_norm(nn.Conv1d(codebook_dim, dim, 1))
        self.codebook = nn.Embedding(codebook_size, codebook_dim)

    def forward(self, residual: torch.Tensor):
        z_e = self.in_proj(residual)  # [B, cd, T]
        b, cd, t = z_e.shape
        flat = F.normalize(z_e.transpose(1, 2).reshape(-1, cd), dim=1)
        codebook = F.normalize(self.codebook.weight, dim=1)
        codes = (flat.detach() @ codebook.detach().t()).argmax(dim=1)
        z_q = self.codebook(codes).view(b, t, cd).transpose(1, 2)
        commitment_loss = F.mse_loss(z_e, z_q.detach())
        codebook_loss = F.mse_loss(z_q, z_e.detach())
        z_q = z_e + (z_q - z_e).detach()
        return self.out_proj(z_q), codes.view(b, t), codebook_loss, commitment_loss

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        return self.out_proj(self.codebook(codes).transpose(1, 2))

    def lookup_table(self) -> torch.Tensor:
        table = self.out_proj(self.codebook.weight.t()[None])[0]  # [d, K]
        return table.t().detach()

"""One SimVQ stage: a frozen random codebook ``C`` seen through a learned linear map ``W``.

Only ``W`` is trained, so every code moves together and none dies (the failure mode of
plain VQ).  The effective codebook ``C·W`` is what the decoder needs; ``mobile_export``
materialises it as a plain lookup table.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def nearest_code(x: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """Index of the nearest row of ``codebook`` [K, d] for each vector of ``x`` [N, d]."""
    dist = x.pow(2).sum(1, keepdim=True) - 2 * x @ codebook.t() + codebook.pow(2).sum(1)[None]
    return dist.argmin(dim=1)


class SimVQStage(nn.Module):
    def __init__(self, dim: int, codebook_size: int = 512, seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.register_buffer("frozen_codebook", torch.randn(codebook_size, dim, generator=gen) * dim ** -0.5)
        self.projection = nn.Linear(dim, dim, bias=False)

    def effective_codebook(self) -> torch.Tensor:
        return self.projection(self.frozen_codebook)

    def forward(self, residual: torch.Tensor):
        """residual [B, d, T] → (quantized with straight-through [B, d, T], codes [B, T],
        codebook loss, commitment loss)."""
        b, d, t = residual.shape
        flat = residual.transpose(1, 2).reshape(-1, d)
        codebook = self.effective_codebook()
        codes = nearest_code(flat.detach(), codebook.detach())
        quantized = codebook[codes].view(b, t, d).transpose(1, 2)
        codebook_loss = F.mse_loss(quantized, residual.detach())
        commitment_loss = F.mse_loss(residual, quantized.detach())
        quantized = residual + (quantized - residual).detach()
        return quantized, codes.view(b, t), codebook_loss, commitment_loss

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, T] → [B, d, T]."""
        return F.embedding(codes, self.effective_codebook()).transpose(1, 2)

    def lookup_table(self) -> torch.Tensor:
        """The [K, d] table a deployed decoder indexes (``C·W``)."""
        return self.effective_codebook().detach()

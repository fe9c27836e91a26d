"""TQCodec: SEANet encoder → residual quantiser → SEANet decoder (optionally in PQMF subbands).

The public surface is small on purpose: ``encode`` (audio → codes), ``decode``
(codes → audio) and ``forward`` (the training pass, with the quantiser's losses).
Audio is mono [B, 1, T] at 44.1 kHz; stereo is two mono passes (``encode_channels``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .configs import CodecConfig, SEANetConfig
from .modules.seanet import SEANetDecoder, SEANetEncoder
from .pqmf import PQMF
from .quantization import ResidualQuantizer


@dataclass
class CodecOutput:
    audio: torch.Tensor  # [B, 1, T]
    codes: torch.Tensor  # [B, n_q, frames]
    codebook_loss: torch.Tensor
    commitment_loss: torch.Tensor


def _subband_ratios(cfg: CodecConfig) -> tuple[int, ...]:
    """In the subband domain the hop is ``hop / bands`` (64 / 16 = 4 → strides 2·2)."""
    hop = cfg.hop_length // cfg.pqmf_bands
    ratios, r = [], hop
    while r > 1:
        ratios.append(2)
        r //= 2
    if 2 ** len(ratios) != hop:
        raise ValueError(f"subband hop {hop} must be a power of two")
    return tuple(ratios)


def _quarter(cfg: SEANetConfig, divisor: int) -> SEANetConfig:
    return dataclasses.replace(cfg, n_filters=max(1, cfg.n_filters // divisor))


class _SubbandEncoder(nn.Module):
    """PQMF analysis; core bands through a full-width SEANet, high bands through a narrow one."""

    def __init__(self, cfg: CodecConfig, pqmf: PQMF):
        super().__init__()
        self.pqmf, self.core_bands = pqmf, cfg.core_bands
        high = cfg.pqmf_bands - cfg.core_bands
        ratios = _subband_ratios(cfg)
        self.core = SEANetEncoder(cfg.encoder, cfg.latent_dim, ratios, channels=cfg.core_bands)
        self.high = SEANetEncoder(_quarter(cfg.encoder, cfg.high_band_width_divisor),
                                  high * cfg.high_band_latent, ratios, channels=high)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bands = self.pqmf.analysis(x)
        return torch.cat([self.core(bands[:, : self.core_bands]), self.high(bands[:, self.core_bands:])], 1)


class _SubbandDecoder(nn.Module):
    def __init__(self, cfg: CodecConfig, pqmf: PQMF):
        super().__init__()
        self.pqmf, self.latent_dim = pqmf, cfg.latent_dim
        high = cfg.pqmf_bands - cfg.core_bands
        ratios = _subband_ratios(cfg)
        self.core = SEANetDecoder(cfg.decoder, cfg.latent_dim, ratios, channels=cfg.core_bands)
        self.high = SEANetDecoder(_quarter(cfg.decoder, cfg.high_band_width_divisor),
                                  high * cfg.high_band_latent, ratios, channels=high)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        bands = torch.cat([self.core(z[:, : self.latent_dim]), self.high(z[:, self.latent_dim:])], 1)
        return self.pqmf.synthesis(bands)


class TQCodec(nn.Module):
    def __init__(self, cfg: CodecConfig):
        super().__init__()
        self.config = cfg
        if cfg.subband:
            pqmf = PQMF(cfg.pqmf_bands)
            self.encoder: nn.Module = _SubbandEncoder(cfg, pqmf)
            self.decoder: nn.Module = _SubbandDecoder(cfg, pqmf)
            self.delay = pqmf.delay
        else:
            self.encoder = SEANetEncoder(cfg.encoder, cfg.latent_dim, cfg.ratios)
            self.decoder = SEANetDecoder(cfg.decoder, cfg.latent_dim, cfg.ratios)
            self.delay = 0  # samples of algorithmic delay compensated by encode/decode
        self.quantizer = ResidualQuantizer(cfg)

    @property
    def hop_length(self) -> int:
        return self.config.hop_length

    def _pad(self, audio: torch.Tensor) -> torch.Tensor:
        if audio.dim() != 3 or audio.shape[1] != 1:
            raise ValueError(f"expected mono audio [B, 1, T], got shape {tuple(audio.shape)}")
        total = audio.shape[-1] + self.delay
        return F.pad(audio, (0, self.delay + (-total) % self.hop_length))

    def forward(self, audio: torch.Tensor) -> CodecOutput:
        length = audio.shape[-1]
        q = self.quantizer(self.encoder(self._pad(audio)))
        y = self.decoder(q.quantized)[..., self.delay: self.delay + length]
        return CodecOutput(y, q.codes, q.codebook_loss, q.commitment_loss)

    @torch.no_grad()
    def encode(self, audio: torch.Tensor) -> torch.Tensor:
        """[B, 1, T] → codes [B, n_q, ceil((T + delay) / hop)] (int64 in [0, codebook_size))."""
        return self.quantizer(self.encoder(self._pad(audio))).codes

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, n_q, F] → audio [B, 1, F * hop - delay]."""
        return self.decoder(self.quantizer.decode(codes))[..., self.delay:]

    @torch.no_grad()
    def encode_channels(self, audio: torch.Tensor) -> torch.Tensor:
        """[C, T] (C = 1 or 2) → codes [C, n_q, F]: each channel is an independent mono pass."""
        return self.encode(audio[:, None])

    @torch.no_grad()
    def decode_channels(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [C, n_q, F] → [C, F * hop - delay]."""
        return self.decode(codes)[:, 0]

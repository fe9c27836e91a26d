"""Residual vector quantisers (SimVQ, and DAC's factorised VQ for the ablation)."""
from .residual import QuantizerOutput, ResidualQuantizer

__all__ = ["QuantizerOutput", "ResidualQuantizer"]

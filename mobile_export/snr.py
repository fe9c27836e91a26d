"""The exporters' one SNR: an artifact against the float decoder, sample-aligned by construction.

``tqcodec.metrics.snr`` estimates a delay and averages per-channel SNRs: right for a codec
against music, wrong here, where the artifact and the float decoder run the same chunks and
any lag is itself a bug.  This is the plain pooled ratio, capped so that identical
signals give a finite figure.
"""
from __future__ import annotations

import math

import numpy as np

SNR_CAP_DB = 200.0


def snr_db(reference, estimate) -> float:
    """10·log10(Σref² / Σ(ref − est)²) over every sample, capped at ``SNR_CAP_DB``."""
    ref = np.asarray(reference, dtype=np.float64)
    est = np.asarray(estimate, dtype=np.float64)
    noise = float(np.sum((ref - est) ** 2))
    if noise == 0.0:
        return SNR_CAP_DB
    signal = float(np.sum(ref ** 2))
    if signal == 0.0:
        return -SNR_CAP_DB
    return min(SNR_CAP_DB, 10 * math.log10(signal / noise))

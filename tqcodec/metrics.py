"""Objective quality metrics of the paper (§4.1): LSD, LSD-L, LSD-H and SNR; and ViSQOL.

Definitions fixed by TQCODEC.md, with the choices the paper leaves open stated here
(and to be named in every report):

* **LSD** — STFT with a periodic Hann window, ``n_fft = 2048``, hop 512, centred frames
  (zero padding of ``n_fft // 2`` at both ends, so any length works). Per frame, the
  root-mean-square over frequency bins of ``log10(|X|² + EPS) − log10(|X̂|² + EPS)``;
  then the mean over frames. ``EPS = 1e-10`` on the (unnormalised) power spectrum keeps
  digital silence finite; bins that are silent in both signals contribute 0.
* **LSD-L** uses the bins below ``LSD_SPLIT_HZ = 11025`` Hz, **LSD-H** those at or above
  it (at 44.1 kHz: bins 0–511 and 512–1024). Because each is an RMS over its own bins,
  LSD is *not* the mean of LSD-L and LSD-H.
* **SNR** — ``10·log10(Σx² / Σ(x − x̂)²)`` in dB over the overlap after delay alignment:
  the lag in ``[-max_lag, max_lag]`` (default ``MAX_LAG = 2048`` samples, 46 ms) that
  maximises the cross-correlation, summed over channels, is removed first. The result is
  clamped to ``±SNR_CAP_DB = 100`` dB, so identical signals give exactly 100 (``snr_db`` is
  the ratio itself, unaligned: the exporters use it for artifact against float).
  LSD is computed without alignment, as the paper defines it; the delay found is reported
  so that a codec with non-zero delay is visible.
* Signals of different lengths are cropped to the shorter. Multi-channel input ``[C, T]``
  (or any ``[..., T]``) is scored per channel and the metrics averaged over channels.

* **ViSQOL** — ViSQOL v3 in audio mode (MOS-LQO, 1–5; the paper's perceptual score), from
  ``visqol-python`` (a pure-Python port of Google's v3.3.3 with its bundled SVR model), an
  optional dependency: ``visqol_available()`` says whether it is installed and callers
  report the score as skipped when it is not, never as a number. Audio mode is defined at
  48 kHz, so both signals are resampled to 48 kHz (soxr, VHQ) first; multi-channel input is
  mixed to mono (channel mean), as ViSQOL's own command line does. It is slow (~20 s per 10 s
  of audio on one CPU core), so callers score a bounded excerpt.

Inputs may be numpy arrays or torch tensors; the arithmetic is float64.
"""
from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass

import numpy as np
import torch
from scipy import signal as sps

N_FFT = 2048
HOP = 512
EPS = 1e-10
LSD_SPLIT_HZ = 11_025.0
SNR_CAP_DB = 100.0
MAX_LAG = 2048
VISQOL_RATE = 48_000
VISQOL_MISSING = "skipped (visqol-python not installed)"


@dataclass(frozen=True)
class MetricResult:
    """Scores of one reconstruction against its reference (channel means)."""

    lsd: float
    lsd_l: float
    lsd_h: float
    snr: float  # dB, after delay alignment, clamped to ±SNR_CAP_DB
    delay: int  # samples the estimate lags the reference by (negative: it leads)

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return (f"LSD {self.lsd:.4f}  LSD-L {self.lsd_l:.4f}  LSD-H {self.lsd_h:.4f}  "
                f"(split {LSD_SPLIT_HZ:.0f} Hz)  SNR {self.snr:.2f} dB  delay {self.delay}")


def _as_channels(x) -> np.ndarray:
    """Any ``[..., T]`` array or tensor as float64 ``[C, T]``."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        raise ValueError("expected audio with a time axis, got a scalar")
    return x.reshape(-1, x.shape[-1])


def _pair(reference, estimate) -> tuple[np.ndarray, np.ndarray]:
    ref, est = _as_channels(reference), _as_channels(estimate)
    if ref.shape[0] != est.shape[0]:
        raise ValueError(f"channel count differs: reference {ref.shape[0]}, estimate {est.shape[0]}")
    n = min(ref.shape[1], est.shape[1])
    if n == 0:
        raise ValueError("cannot score empty audio")
    return ref[:, :n], est[:, :n]


def split_bins(sample_rate: int = 44_100, n_fft: int = N_FFT) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks over the ``n_fft // 2 + 1`` bins: (below LSD_SPLIT_HZ, at or above it)."""
    freqs = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    low = freqs < LSD_SPLIT_HZ
    return low, ~low


def _log_power(x: np.ndarray) -> np.ndarray:
    """[C, T] → log10(|STFT|² + EPS) as [C, bins, frames]."""
    spec = torch.stft(torch.from_numpy(x), N_FFT, HOP, window=torch.hann_window(N_FFT, dtype=torch.float64),
                      center=True, pad_mode="constant", return_complex=True)
    return torch.log10(spec.abs().square() + EPS).numpy()


def lsd(reference, estimate, sample_rate: int = 44_100) -> tuple[float, float, float]:
    """(LSD, LSD-L, LSD-H), each the mean over frames of the per-frame RMS log-power difference."""
    ref, est = _pair(reference, estimate)
    diff_sq = np.square(_log_power(ref) - _log_power(est))  # [C, bins, frames]
    low, high = split_bins(sample_rate)

    def score(mask: np.ndarray) -> float:
        per_frame = np.sqrt(diff_sq[:, mask].mean(axis=1))  # [C, frames]
        return float(per_frame.mean(axis=1).mean())

    return score(np.ones_like(low)), score(low), score(high)


def estimate_delay(reference, estimate, max_lag: int = MAX_LAG) -> int:
    """Lag ``d`` (|d| ≤ max_lag) maximising Σ_c Σ_n x[n]·x̂[n + d]; ties go to the smallest |d|."""
    ref, est = _pair(reference, estimate)
    n = ref.shape[1]
    corr = sum(sps.correlate(e, r, mode="full", method="fft") for r, e in zip(ref, est))
    lags = np.arange(-(n - 1), n)
    keep = np.abs(lags) <= max_lag
    corr, lags = corr[keep], lags[keep]
    best = np.flatnonzero(corr >= corr.max() - 1e-12 * max(abs(corr.max()), 1.0))
    return int(lags[best[np.argmin(np.abs(lags[best]))]])


def snr_db(reference, estimate) -> float:
    """``10·log10(Σref² / Σ(ref − est)²)`` pooled over every sample, no alignment, clamped to
    ±``SNR_CAP_DB``: an exact match (even of silence) scores the cap, noise over silence −cap.

    The project's one SNR: ``snr`` applies it per channel after delay alignment (a codec against
    music); the exporters apply it as is (an artifact against the float decoder, sample-aligned
    by construction: there any lag is itself a bug)."""
    ref = np.asarray(reference, dtype=np.float64)
    est = np.asarray(estimate, dtype=np.float64)
    signal_energy = float(np.sum(ref ** 2))
    noise_energy = float(np.sum((ref - est) ** 2))
    if noise_energy == 0.0:
        return SNR_CAP_DB
    if signal_energy == 0.0:
        return -SNR_CAP_DB
    return float(np.clip(10.0 * np.log10(signal_energy / noise_energy), -SNR_CAP_DB, SNR_CAP_DB))


def snr(reference, estimate, max_lag: int = MAX_LAG) -> tuple[float, int]:
    """(SNR in dB after delay alignment, delay in samples); mean over channels."""
    ref, est = _pair(reference, estimate)
    d = estimate_delay(ref, est, max_lag)
    n = ref.shape[1]
    if abs(d) >= n:
        raise ValueError(f"delay {d} leaves no overlap in {n} samples")
    if d >= 0:
        ref, est = ref[:, : n - d], est[:, d:]
    else:
        ref, est = ref[:, -d:], est[:, : n + d]
    return float(np.mean([snr_db(r, e) for r, e in zip(ref, est)])), d


def compute_metrics(reference, estimate, sample_rate: int = 44_100, max_lag: int = MAX_LAG) -> MetricResult:
    """All four metrics of ``estimate`` against ``reference`` (see the module docstring)."""
    full, low, high = lsd(reference, estimate, sample_rate)
    snr_db, delay = snr(reference, estimate, max_lag)
    return MetricResult(lsd=full, lsd_l=low, lsd_h=high, snr=snr_db, delay=delay)


def mean_metrics(results: list[MetricResult]) -> MetricResult:
    """Average of several excerpts' scores (each excerpt weighs the same); delay is the median."""
    if not results:
        raise ValueError("no metric results to average")
    return MetricResult(
        lsd=float(np.mean([r.lsd for r in results])),
        lsd_l=float(np.mean([r.lsd_l for r in results])),
        lsd_h=float(np.mean([r.lsd_h for r in results])),
        snr=float(np.mean([r.snr for r in results])),
        delay=int(np.median([r.delay for r in results])),
    )


def visqol_available() -> bool:
    """Whether ``visqol-python`` can be imported (``pip install visqol-python``)."""
    try:
        importlib.import_module("visqol")
    except ImportError:
        return False
    return True


_visqol_api = None


def visqol(reference, estimate, sample_rate: int = 44_100) -> float:
    """ViSQOL v3 audio-mode MOS-LQO of ``estimate`` against ``reference`` (see the module
    docstring); raises ImportError when visqol-python is missing."""
    global _visqol_api
    import logging

    import soxr
    from visqol import VisqolApi

    ref, est = _pair(reference, estimate)
    ref, est = ref.mean(axis=0), est.mean(axis=0)
    if sample_rate != VISQOL_RATE:
        ref = soxr.resample(ref, sample_rate, VISQOL_RATE, quality="VHQ")
        est = soxr.resample(est, sample_rate, VISQOL_RATE, quality="VHQ")
    if _visqol_api is None:  # loading the SVR model takes a while: once per process
        _visqol_api = VisqolApi()
        _visqol_api.create(mode="audio")
    logging.getLogger("visqol").setLevel(logging.ERROR)  # its per-call duration warnings are noise here
    return float(_visqol_api.measure_from_arrays(ref, est, VISQOL_RATE).moslqo)

"""Hand-checkable cases for tqcodec.metrics (LSD, LSD-L/H split, SNR with delay alignment)."""
import math

import numpy as np
import pytest
import torch

from tqcodec.metrics import (EPS, LSD_SPLIT_HZ, SNR_CAP_DB, MetricResult, compute_metrics, estimate_delay, lsd,
                             mean_metrics, snr, split_bins)

SR = 44_100


@pytest.fixture
def noise():
    return np.random.default_rng(0).standard_normal(SR).astype(np.float32) * 0.3


def test_identical_signals(noise):
    m = compute_metrics(noise, noise)
    assert m.lsd == 0.0 and m.lsd_l == 0.0 and m.lsd_h == 0.0
    assert m.snr == SNR_CAP_DB and m.delay == 0


def test_gain_of_two_gives_log10_4_in_every_bin(noise):
    # log10(|2X|²) − log10(|X|²) = log10(4) per bin (EPS is negligible against this noise's power).
    full, low, high = lsd(noise, 2 * noise)
    for value in (full, low, high):
        assert value == pytest.approx(math.log10(4), abs=1e-6)
    # x − 2x = −x: the noise has the signal's energy, SNR = 0 dB.
    assert snr(noise, 2 * noise)[0] == pytest.approx(0.0, abs=1e-9)


def test_half_amplitude_snr(noise):
    # x − x/2 = x/2: SNR = 10·log10(4) = 6.0206 dB.
    assert snr(noise, noise / 2)[0] == pytest.approx(10 * math.log10(4), abs=1e-9)


def test_split_bins_at_11025_hz():
    low, high = split_bins(SR, 2048)
    assert low.sum() == 512 and high.sum() == 513  # bin 512 is exactly 11025 Hz → LSD-H
    assert np.flatnonzero(high)[0] * SR / 2048 == LSD_SPLIT_HZ


def _scale_band(x: np.ndarray, gain: float, lo_hz: float, hi_hz: float = SR) -> np.ndarray:
    """``x`` with the (whole-signal) spectrum between lo_hz and hi_hz multiplied by ``gain``."""
    spec = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(len(x), 1 / SR)
    spec[(freqs >= lo_hz) & (freqs < hi_hz)] *= gain
    return np.fft.irfft(spec, len(x))


def test_high_band_error_shows_in_lsd_h_only(noise):
    est = _scale_band(noise, 2.0, LSD_SPLIT_HZ)  # doubled from 11025 Hz up, untouched below
    full, low, high = lsd(noise, est)  # only bins next to the edge see leakage from the other side
    assert low < 0.03
    assert high == pytest.approx(math.log10(4), abs=0.02)
    assert low < full < high


def test_low_band_error_shows_in_lsd_l_only(noise):
    est = _scale_band(noise, 2.0, 0.0, LSD_SPLIT_HZ)  # doubled below 11025 Hz, untouched above
    full, low, high = lsd(noise, est)
    assert low == pytest.approx(math.log10(4), abs=0.02)
    assert high < 0.03


def test_delay_alignment_recovers_shifted_copy(noise):
    shift = 37
    late = np.concatenate([np.zeros(shift, np.float32), noise[:-shift]])  # estimate lags by 37 samples
    assert estimate_delay(noise, late) == shift
    value, delay = snr(noise, late)
    assert delay == shift and value == SNR_CAP_DB
    early = np.concatenate([noise[shift:], np.zeros(shift, np.float32)])
    assert snr(noise, early) == (SNR_CAP_DB, -shift)
    # Beyond max_lag the shift is not searched, and the SNR stays poor.
    assert snr(noise, late, max_lag=10)[0] < 3


def test_multichannel_is_channel_mean(noise):
    ref = np.stack([noise, noise[::-1].copy()])
    est = np.stack([noise, 2 * noise[::-1]])
    m = compute_metrics(ref, est)
    assert m.lsd == pytest.approx(math.log10(4) / 2, abs=1e-6)
    assert m.snr == pytest.approx((SNR_CAP_DB + 0.0) / 2, abs=1e-9)


def test_torch_input_and_length_mismatch(noise):
    est = torch.from_numpy(noise)[None, None]  # [1, 1, T]
    m = compute_metrics(noise[None], torch.cat([est, torch.zeros(1, 1, 100)], -1)[0])
    assert m.lsd == 0.0 and m.snr == SNR_CAP_DB


def test_silence_is_finite():
    silent = np.zeros(4096)
    m = compute_metrics(silent, silent)
    assert m.lsd == 0.0 and m.snr == SNR_CAP_DB
    m = compute_metrics(silent, np.full(4096, 1e-3))
    assert m.snr == -SNR_CAP_DB and np.isfinite(m.lsd) and m.lsd > 0
    assert EPS > 0


def test_result_dict_and_mean():
    a = MetricResult(1.0, 0.5, 1.5, 10.0, 0)
    b = MetricResult(3.0, 1.5, 2.5, 20.0, 2)
    assert mean_metrics([a, b]).to_dict() == {"lsd": 2.0, "lsd_l": 1.0, "lsd_h": 2.0, "snr": 15.0, "delay": 1}

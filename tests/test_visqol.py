"""ViSQOL (v3 audio mode via visqol-python) in the metrics and the eval report: high for a
signal against itself, low against noise, and reported as skipped — never a number — when the
package is missing. Three seconds of the demo clip keep the slow measurement short."""
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tqcodec.audio_io import load_audio
from tqcodec.evaluate import evaluate
from tqcodec.metrics import VISQOL_MISSING, visqol, visqol_available

CLIP = Path(__file__).resolve().parents[1] / "assets" / "chaos_god_clip.ogg"
needs_visqol = pytest.mark.skipif(not visqol_available(), reason="visqol-python not installed")


@pytest.fixture(scope="module")
def music() -> np.ndarray:
    audio, _ = load_audio(CLIP)
    return audio[:, 5 * 44_100: 8 * 44_100]  # 3 s, stereo


@needs_visqol
def test_visqol_is_high_for_the_signal_itself_and_low_for_noise(music):
    noise = 0.2 * np.random.default_rng(0).standard_normal(music.shape).astype(np.float32)
    same, noisy = visqol(music, music), visqol(music, noise)
    assert same > 4.5, same
    assert noisy < 2.0, noisy


def test_eval_reports_visqol_as_skipped_when_the_package_is_missing(music, tmp_path, monkeypatch):
    sf.write(tmp_path / "a.wav", music[:, :44_100].T, 44_100)
    monkeypatch.setitem(sys.modules, "visqol", None)  # import visqol now raises ImportError
    assert not visqol_available()
    result = evaluate(tmp_path, lambda a: (a * 0.5, 124.0), "half", 124.0, progress=False)
    assert result.visqol_status == VISQOL_MISSING == "skipped (visqol-python not installed)"
    assert result.scores[0].visqol is None and result.to_dict()["mean"]["half"]["visqol"] is None
    assert VISQOL_MISSING in result.table() and VISQOL_MISSING in result.scores[0].describe(result.visqol_status)
    off = evaluate(tmp_path, lambda a: (a * 0.5, 124.0), "half", 124.0, progress=False, with_visqol=False)
    assert off.visqol_status == "off" and off.scores[0].visqol is None

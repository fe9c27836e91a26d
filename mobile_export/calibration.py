"""Real-music codes for calibration and verification.

Quantisation ranges and every artifact's verdict come from codes made by encoding real
music with the full checkpoint (the encoder runs here, never on the phone).  The default
is the shipped 12-s clip (both channels: 24 s of mono audio); ``--calibration DIR`` takes
every audio file in a folder.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CLIP = ROOT / "assets" / "chaos_god_clip.ogg"


@dataclass
class MusicCodes:
    """Codes [N, n_q, F] of N mono excerpts, and the audio [N, F·hop] they came from."""

    codes: torch.Tensor
    audio: np.ndarray
    sources: list[str]

    @property
    def seconds(self) -> float:
        return self.audio.size / 44_100


def audio_files(source: str | Path | None) -> list[Path]:
    """The shipped clip by default, else every audio file of a file or folder."""
    from tqcodec.evaluate import music_files
    return [DEFAULT_CLIP] if source is None else music_files(source)


def encode_music(model, source: str | Path | None = None, max_seconds: float = 24.0,
                 excerpt_seconds: float = 12.0) -> MusicCodes:
    """Encode up to ``max_seconds`` of mono excerpts (each channel is an excerpt)."""
    from tqcodec.audio_io import load_audio

    hop = model.config.hop_length
    excerpt = int(excerpt_seconds * 44_100) // hop * hop
    pieces, names, total = [], [], 0
    for path in audio_files(source):
        audio, _ = load_audio(path)
        for ch in range(audio.shape[0]):
            x = audio[ch, : excerpt]
            x = x[: len(x) // hop * hop]
            if len(x) < hop * 16:
                continue
            pieces.append(x)
            names.append(f"{path.name}[ch{ch}]")
            total += len(x)
            if total >= max_seconds * 44_100:
                break
        if total >= max_seconds * 44_100:
            break
    if not pieces:
        raise ValueError(f"no usable audio in {source or DEFAULT_CLIP}")
    length = min(len(p) for p in pieces)
    audio = np.stack([p[:length] for p in pieces]).astype(np.float32)
    with torch.no_grad():
        codes = model.encode(torch.from_numpy(audio)[:, None])
    return MusicCodes(codes, audio, names)

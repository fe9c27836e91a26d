"""Reading and writing audio files: the only place that touches soundfile and soxr.

``load_audio`` returns float32 ``[channels, T]`` at the requested rate (whatever
libsndfile reads: WAV, FLAC, OGG/Vorbis/Opus, MP3, AIFF …), resampled with soxr "VHQ".
The codec handles mono and stereo only, so files with more channels are refused rather
than silently downmixed. ``save_audio`` writes atomically: a reader never sees a
half-written file, and a failed write leaves nothing behind.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch

MAX_CHANNELS = 2


class AudioError(Exception):
    """An audio file that cannot be read or written; the message names the file and the problem."""


def load_audio(path, sample_rate: int | None = 44_100) -> tuple[np.ndarray, int]:
    """Read ``path`` → (float32 ``[channels, T]`` at ``sample_rate``, the file's own rate).

    ``sample_rate=None`` keeps the file's rate.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such file")
    try:
        data, original_sr = sf.read(str(path), dtype="float32", always_2d=True)  # [T, C]
    except Exception as e:  # libsndfile reports damage and unknown formats in several types
        raise AudioError(f"{path}: cannot read audio ({e})") from None
    channels = data.shape[1]
    if channels > MAX_CHANNELS:
        raise AudioError(f"{path}: {channels} channels; only mono and stereo are supported")
    if data.shape[0] == 0:
        raise AudioError(f"{path}: contains no audio samples")
    if sample_rate is not None and original_sr != sample_rate:
        data = soxr.resample(np.ascontiguousarray(data), original_sr, sample_rate, quality="VHQ")
    return np.ascontiguousarray(data.T, dtype=np.float32), int(original_sr)


def save_audio(path, audio, sample_rate: int, subtype: str | None = None) -> None:
    """Write ``audio`` (``[channels, T]`` or ``[T]``, numpy or torch, float in [-1, 1]) to ``path``.

    The container comes from the extension (.wav, .flac, .ogg …); ``subtype`` defaults to
    libsndfile's choice for it (16-bit PCM for WAV/FLAC). Integer formats are clipped to
    [-1, 1] first so that overs saturate instead of wrapping.
    """
    path = Path(path)
    if isinstance(audio, torch.Tensor):
        audio = audio.detach().cpu().float().numpy()
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None]
    if audio.ndim != 2 or not 1 <= audio.shape[0] <= MAX_CHANNELS:
        raise AudioError(f"{path}: expected audio shaped [channels ≤ {MAX_CHANNELS}, T], got {audio.shape}")
    fmt = path.suffix.lstrip(".").upper()
    if fmt not in sf.available_formats():
        raise AudioError(f"{path}: unknown audio format {path.suffix!r} "
                         f"(known: {', '.join(sorted(sf.available_formats()))})")
    subtype = subtype or sf.default_subtype(fmt)
    if subtype and subtype.startswith("PCM"):
        audio = np.clip(audio, -1.0, 1.0)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise AudioError(f"{path}: cannot write here ({e.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            sf.write(f, audio.T, sample_rate, format=fmt, subtype=subtype)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, Exception) and not isinstance(e, AudioError):
            raise AudioError(f"{path}: cannot write audio ({e})") from None
        raise

"""Reading and writing audio files: the only place that touches soundfile and soxr.

``load_audio`` returns float32 ``[channels, T]`` at the requested rate (whatever
libsndfile reads: WAV, FLAC, OGG/Vorbis/Opus, MP3, AIFF …), resampled with soxr "VHQ".
The codec handles mono and stereo only, so files with more channels are refused rather
than silently downmixed, and NaN or infinite samples are refused rather than encoded
as garbage. ``save_audio`` writes atomically (``tqcodec.atomic``): a reader never sees a
half-written file, and a failed write leaves nothing behind. ``check_audio_output``
checks an output path before any work, so a typo costs nothing.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch

from .atomic import atomic_write

MAX_CHANNELS = 2


class AudioError(Exception):
    """An audio file that cannot be read or written; the message names the file and the problem."""


def check_audio_input(path) -> Path:
    """An existing regular file, or AudioError naming what it is instead."""
    path = Path(path)
    if path.is_dir():
        raise AudioError(f"{path}: is a folder, not an audio file")
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if not path.is_file():
        raise AudioError(f"{path}: not a regular file")
    return path


def check_output_path(path, *, inputs=()) -> Path:
    """Refuse, before any work, an output that cannot be written: a folder, a missing or
    read-only folder to write it in, or a path that is one of ``inputs`` (which the
    atomic rename would replace)."""
    path = Path(path)
    if path.is_dir():
        raise AudioError(f"{path}: is a folder; give a file name to write")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise AudioError(f"{path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise AudioError(f"{path}: folder {parent} is not writable")
    for other in inputs:
        try:
            same = path.exists() and os.path.samefile(path, other)
        except OSError:
            same = False
        if same or Path(os.path.abspath(path)) == Path(os.path.abspath(other)):
            raise AudioError(f"{path}: is the input file {other}; writing it would destroy the input")
    return path


def check_audio_output(path, *, inputs=()) -> str:
    """``check_output_path`` plus a known audio extension; returns libsndfile's format name."""
    path = check_output_path(path, inputs=inputs)
    fmt = path.suffix.lstrip(".").upper()
    if fmt not in sf.available_formats():
        raise AudioError(f"{path}: unknown audio format {path.suffix or '(no extension)'!r} "
                         f"(known: {', '.join('.' + f.lower() for f in sorted(sf.available_formats()))})")
    return fmt


def _first_non_finite(data: np.ndarray, path: Path, sample_rate: int) -> None:
    """``data`` [T, C]: refuse NaN/Inf, naming the first bad sample (index and time)."""
    bad = ~np.isfinite(data)
    if bad.any():
        t, c = np.argwhere(bad)[0]
        raise AudioError(f"{path}: sample {t} ({t / sample_rate:.6f} s), channel {c}, is "
                         f"{data[t, c]}; audio must be finite ({int(bad.sum())} bad value(s) in the file)")


def load_audio(path, sample_rate: int | None = 44_100, allow_empty: bool = False) -> tuple[np.ndarray, int]:
    """Read ``path`` → (float32 ``[channels, T]`` at ``sample_rate``, the file's own rate).

    ``sample_rate=None`` keeps the file's rate.  A file with no samples is an error
    unless ``allow_empty`` (the encoder turns it into an empty stream).
    """
    path = check_audio_input(path)
    try:
        data, original_sr = sf.read(str(path), dtype="float32", always_2d=True)  # [T, C]
    except Exception as e:  # libsndfile reports damage and unknown formats in several types
        raise AudioError(f"{path}: cannot read audio ({e})") from None
    channels = data.shape[1]
    if channels > MAX_CHANNELS:
        raise AudioError(f"{path}: {channels} channels; only mono and stereo are supported")
    if data.shape[0] == 0 and not allow_empty:
        raise AudioError(f"{path}: contains no audio samples")
    _first_non_finite(data, path, original_sr)
    audio = np.ascontiguousarray(data.T, dtype=np.float32)
    if sample_rate is not None:
        audio = resample(audio, original_sr, sample_rate)
    return audio, int(original_sr)


def resample(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    """float32 [channels, T] from ``rate`` to ``target`` Hz (soxr "VHQ"); unchanged when equal or empty."""
    if rate == target or audio.shape[-1] == 0:
        return audio
    out = soxr.resample(np.ascontiguousarray(audio.T), rate, target, quality="VHQ")
    return np.ascontiguousarray(out.T, dtype=np.float32)


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
    fmt = check_audio_output(path)
    subtype = subtype or sf.default_subtype(fmt)
    if subtype and subtype.startswith("PCM"):
        audio = np.clip(audio, -1.0, 1.0)
    try:
        atomic_write(path, lambda f: sf.write(f, audio.T, sample_rate, format=fmt, subtype=subtype))
    except OSError as e:
        raise AudioError(f"{path}: cannot write audio ({e.strerror or e})") from None
    except (RuntimeError, ValueError, TypeError, sf.LibsndfileError) as e:
        raise AudioError(f"{path}: cannot write audio ({e})") from None

"""Training data: folders of audio files → random 44.1 kHz mono segments, plus held-out tracks.

* Files are found recursively by extension; symlinks to the same file count once (Debian's
  game-music packages link one track under several names — counted twice, a track could
  land in both the training and the validation set).
* Whole tracks are held out for validation. The split is deterministic and stable when
  files are added: a track is held out when the SHA-1 of its path relative to its data
  folder falls in the lowest ``val_fraction`` of the hash range (with at least one
  validation and one training track whenever there are two or more).
* Tracks are decoded once (resampled to 44.1 kHz by ``load_audio``) and cached in memory
  as int16 ``[channels, T]``: about 10 MB per stereo minute, so 100 minutes ≈ 1 GB.
* The model is mono; a stereo track contributes each channel as an independent mono signal,
  which is how the codec codes stereo. Segments are drawn by ``SegmentSampler``: a track
  with probability proportional to its length, a uniform channel and offset, and redrawn
  (up to ``max_tries``) while the segment's RMS is below the silence threshold. Its
  ``numpy.random.Generator`` state is part of the training checkpoint, so a resumed run
  sees exactly the batches an uninterrupted run would have seen.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..audio_io import AudioError, load_audio

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff")
SILENCE_DBFS = -50.0


class DataError(Exception):
    """Training data that cannot be used (no files, unreadable files, too short)."""


@dataclass
class Track:
    key: str  # path relative to its data folder: the identity used for the split
    path: Path
    audio: np.ndarray | None = None  # int16 [channels, T] at 44.1 kHz once loaded

    @property
    def length(self) -> int:
        return 0 if self.audio is None else self.audio.shape[1]

    def channel(self, c: int, start: int = 0, length: int | None = None) -> np.ndarray:
        """float32 samples of one channel."""
        end = self.audio.shape[1] if length is None else start + length
        return self.audio[c, start:end].astype(np.float32) / 32768.0


def find_tracks(folders: list[str | os.PathLike]) -> list[Track]:
    """All audio files under ``folders`` (sorted; each real file once)."""
    tracks, seen = [], set()
    for folder in folders:
        root = Path(folder)
        if not root.is_dir():
            raise DataError(f"{root}: not a directory")
        for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS):
            real = os.path.realpath(path)
            if real in seen or not os.path.isfile(real):
                continue
            seen.add(real)
            tracks.append(Track(key=path.relative_to(root).as_posix(), path=path))
    if not tracks:
        raise DataError(f"no audio files ({', '.join(AUDIO_EXTENSIONS)}) under {', '.join(map(str, folders))}")
    return tracks


def _hash_fraction(key: str) -> float:
    return int(hashlib.sha1(key.encode()).hexdigest()[:12], 16) / 16 ** 12


def split_tracks(tracks: list[Track], val_fraction: float = 0.1) -> tuple[list[Track], list[Track]]:
    """(train, validation) by the hash rule in the module docstring; ``val_fraction=0``: no validation."""
    if val_fraction <= 0:
        return list(tracks), []
    scored = sorted(tracks, key=lambda t: _hash_fraction(t.key))
    n_val = sum(_hash_fraction(t.key) < val_fraction for t in tracks)
    if len(tracks) >= 2:
        n_val = min(max(n_val, 1), len(tracks) - 1)
    elif n_val:
        raise DataError(f"only one track ({tracks[0].path}); it cannot be both trained on and held out "
                        "(add tracks or disable validation with --val-fraction 0)")
    val = sorted(scored[:n_val], key=lambda t: t.key)
    train = sorted(scored[n_val:], key=lambda t: t.key)
    return train, val


def hold_out(tracks: list[Track], held_out: list[Track]) -> tuple[list[Track], list[Track]]:
    """(train, validation) with validation named explicitly (``--val-data``): every file of
    ``held_out`` is removed from ``tracks`` by its real path, so a held-out folder may lie inside
    a training folder. Why: a whole song (all its stems) or the shipped demo clip's source can
    be kept unseen on purpose, which the hash rule cannot promise."""
    held = {os.path.realpath(t.path) for t in held_out}
    train = [t for t in tracks if os.path.realpath(t.path) not in held]
    if not train:
        raise DataError("every training file is also under --val-data; nothing is left to train on")
    return train, list(held_out)


def load_tracks(tracks: list[Track], sample_rate: int = 44_100, progress: bool = True) -> None:
    """Decode every track into its int16 cache (once; already-loaded tracks are kept)."""
    for t in tqdm(tracks, desc="decoding audio", unit="file", disable=not progress, leave=False):
        if t.audio is not None:
            continue
        try:
            audio, _ = load_audio(t.path, sample_rate)
        except AudioError as e:
            raise DataError(str(e)) from None
        t.audio = np.round(np.clip(audio, -1.0, 32767 / 32768) * 32768).astype(np.int16)


def rms_dbfs(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


class SegmentSampler:
    """Random mono segments [B, 1, segment_length] from cached tracks (see module docstring)."""

    def __init__(self, tracks: list[Track], segment_length: int, seed: int = 0,
                 silence_dbfs: float = SILENCE_DBFS, max_tries: int = 20):
        self.tracks = [t for t in tracks if t.length >= segment_length]
        if not self.tracks:
            raise DataError(f"no training track is at least {segment_length} samples long")
        self.segment_length, self.silence_dbfs, self.max_tries = segment_length, silence_dbfs, max_tries
        weights = np.array([t.length * t.audio.shape[0] for t in self.tracks], dtype=np.float64)
        self.weights = weights / weights.sum()
        self.rng = np.random.default_rng(seed)

    def segment(self) -> np.ndarray:
        """One segment; after ``max_tries`` silent draws the last one is used (all-quiet data)."""
        for _ in range(self.max_tries):
            track = self.tracks[self.rng.choice(len(self.tracks), p=self.weights)]
            channel = int(self.rng.integers(track.audio.shape[0]))
            start = int(self.rng.integers(track.length - self.segment_length + 1))
            x = track.channel(channel, start, self.segment_length)
            if rms_dbfs(x) >= self.silence_dbfs:
                break
        return x

    def batch(self, batch_size: int) -> torch.Tensor:
        return torch.from_numpy(np.stack([self.segment() for _ in range(batch_size)]))[:, None]

    def state_dict(self) -> dict:
        return {"bit_generator": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["bit_generator"]


def validation_excerpts(tracks: list[Track], length: int, per_track: int = 2, hop: int = 64,
                        min_length: int = 2048, silence_dbfs: float = SILENCE_DBFS,
                        sample_rate: int = 44_100) -> list[tuple[str, np.ndarray]]:
    """Fixed excerpts (name, float32 [channels, L]) of the held-out tracks: ``per_track`` evenly
    spaced windows of ``length`` samples (the whole track if shorter), L a multiple of ``hop``;
    near-silent windows are skipped. Deterministic, so every validation scores the same audio."""
    out = []
    for t in tracks:
        n = min(length, t.length) // hop * hop
        if n < min_length:
            continue
        for k in range(per_track if t.length > n else 1):
            start = (k + 1) * (t.length - n) // (per_track + 1)
            x = t.audio[:, start: start + n].astype(np.float32) / 32768.0
            if rms_dbfs(x) >= silence_dbfs:
                out.append((f"{t.key}@{start / sample_rate:.1f}s", x))
    return out

"""Training data, part 1: which audio files there are and which of them are held out.

* Files are found recursively by extension; symlinks to the same file count once (Debian's
  game-music packages link one track under several names — counted twice, a track could
  land in both the training and the validation set).
* Whole tracks are held out for validation. The split is deterministic and stable when
  files are added: a track is held out when the SHA-1 of its path relative to its data
  folder falls in the lowest ``val_fraction`` of the hash range (with at least one
  validation and one training track whenever there are two or more).

Decoding the files once into an on-disk cache is ``prepare.py``; reading random segments
from that cache is ``dataset.py``.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff")
SILENCE_DBFS = -50.0


class DataError(Exception):
    """Training data that cannot be used (no files, unreadable files, too short)."""


@dataclass
class Track:
    key: str  # path relative to its data folder: the identity used for the split
    path: Path


def find_tracks(folders: list[str | os.PathLike]) -> list[Track]:
    """All audio files under ``folders`` (sorted; each real file once)."""
    tracks, seen = [], set()
    for folder in folders:
        root = Path(folder)
        if not root.is_dir():
            raise DataError(f"{root}: not a directory")
        found = 0
        for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS):
            real = os.path.realpath(path)
            if not os.path.isfile(real):
                continue
            found += 1
            if real in seen:
                continue
            seen.add(real)
            tracks.append(Track(key=path.relative_to(root).as_posix(), path=path))
        if not found:
            raise DataError(f"{root}: no audio files ({', '.join(AUDIO_EXTENSIONS)}) in this folder or below it")
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


def rms_dbfs(x: np.ndarray) -> float:
    """Level of ``x`` in dB relative to full scale (a full-scale square wave is 0)."""
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))

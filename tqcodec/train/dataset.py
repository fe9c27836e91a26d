"""Training data, part 3: random mono segments read from a prepared cache (``prepare.py``).

* ``AudioCache`` opens the cache's index and memory-maps each track's int16 ``.npy`` on
  first use (per process: the maps are not pickled, so DataLoader workers open their own).
* ``SegmentDataset`` is a map-style dataset whose item ``i`` is a pure function of
  ``(seed, i)``: a track with probability proportional to its loud audio (length ×
  channels × loud fraction), a uniform channel and offset, redrawn (up to ``max_tries``)
  while the segment's RMS is below the silence threshold. Why a function of the index and
  not a stateful sampler: any number of workers, any number of DDP ranks and any resume
  point see exactly the same segments, with no RNG state to carry between processes.
* ``StepBatches`` turns training steps into item indices: step ``s`` of a global batch
  ``B`` is items ``s·B … s·B + B − 1``; rank ``r`` of ``W`` takes the ``r``-th ``B / W`` of
  them, so the ranks partition the single-process batch exactly.
* The model is mono; a stereo track contributes each channel as an independent mono
  signal, which is how the codec codes stereo.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .data import SILENCE_DBFS, DataError, rms_dbfs

CACHE_FORMAT = "tqcodec-audio-cache"
CACHE_VERSION = 1
INDEX_NAME = "index.json"


def is_cache(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds a prepared cache (its index)."""
    return (Path(folder) / INDEX_NAME).is_file()


def read_index(cache: Path) -> dict | None:
    """The cache's index.json (None when absent); a damaged or foreign one is a DataError."""
    path = cache / INDEX_NAME
    if not path.exists():
        return None
    try:
        index = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not a readable cache index ({e})") from None
    if index.get("format") != CACHE_FORMAT or index.get("version") != CACHE_VERSION:
        raise DataError(f"{path}: not a TQCodec audio cache of version {CACHE_VERSION}")
    return index


class AudioCache:
    """The tracks of one split of a prepared cache, memory-mapped lazily."""

    def __init__(self, folder: str | os.PathLike, split: str):
        self.folder = Path(folder)
        index = read_index(self.folder)
        if index is None:
            raise DataError(f"{self.folder}: no {INDEX_NAME}; prepare it with python -m tqcodec.train.prepare")
        self.sample_rate = int(index["sample_rate"])
        self.silence_dbfs = float(index.get("silence_dbfs", SILENCE_DBFS))
        self.tracks = [t for t in index["tracks"] if t["split"] == split]
        self._maps: dict[int, np.ndarray] = {}

    @property
    def keys(self) -> list[str]:
        return [t["key"] for t in self.tracks]

    def audio(self, i: int) -> np.ndarray:
        """int16 [channels, T] of track ``i`` (a read-only memory map)."""
        if i not in self._maps:
            path = self.folder / self.tracks[i]["file"]
            try:
                self._maps[i] = np.load(path, mmap_mode="r")
            except (OSError, ValueError) as e:
                raise DataError(f"{path}: cannot read cached audio ({e}); re-run prepare") from None
        return self._maps[i]

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_maps": {}}


def _float(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float32) / 32768.0


class SegmentDataset(Dataset):
    """Item ``i``: float32 [1, segment_length] (see the module docstring)."""

    def __init__(self, cache: AudioCache, segment_length: int, seed: int = 0, max_tries: int = 20):
        self.cache, self.segment_length, self.seed, self.max_tries = cache, segment_length, seed, max_tries
        usable = [i for i, t in enumerate(cache.tracks) if t["length"] >= segment_length and t["loud_fraction"] > 0]
        if not usable:
            raise DataError(f"{cache.folder}: no training track is at least {segment_length} samples long "
                            "and not silent")
        self.track_ids = np.array(usable)
        weights = np.array([cache.tracks[i]["length"] * cache.tracks[i]["channels"] * cache.tracks[i]["loud_fraction"]
                            for i in usable], dtype=np.float64)
        self.cumulative = np.cumsum(weights / weights.sum())

    def __getitem__(self, index: int) -> torch.Tensor:
        rng = np.random.default_rng((self.seed, int(index)))
        for _ in range(self.max_tries):  # after max_tries silent draws the last one is used
            k = int(self.track_ids[min(np.searchsorted(self.cumulative, rng.random(), side="right"),
                                       len(self.track_ids) - 1)])
            audio = self.cache.audio(k)
            channel = int(rng.integers(audio.shape[0]))
            start = int(rng.integers(audio.shape[1] - self.segment_length + 1))
            x = _float(audio[channel, start: start + self.segment_length])
            if rms_dbfs(x) >= self.cache.silence_dbfs:
                break
        return torch.from_numpy(x)[None]


class StepBatches:
    """Item indices of this rank's share of each step's global batch, from ``start_step`` on, forever."""

    def __init__(self, global_batch: int, start_step: int = 0, rank: int = 0, world_size: int = 1):
        if global_batch % world_size:
            raise ValueError(f"the global batch {global_batch} does not split evenly across {world_size} processes")
        self.global_batch, self.start_step, self.rank = global_batch, start_step, rank
        self.local_batch = global_batch // world_size

    def __iter__(self):
        step = self.start_step
        while True:
            first = step * self.global_batch + self.rank * self.local_batch
            yield list(range(first, first + self.local_batch))
            step += 1


def segment_loader(dataset: SegmentDataset, batches: StepBatches, num_workers: int = 0) -> DataLoader:
    """Batches [local_batch, 1, T] in step order; ``num_workers`` > 0 reads them in background processes."""
    return DataLoader(dataset, batch_sampler=batches, num_workers=num_workers,
                      persistent_workers=num_workers > 0, prefetch_factor=2 if num_workers else None)


def validation_excerpts(cache: AudioCache, length: int, per_track: int = 2, hop: int = 64,
                        min_length: int = 2048) -> list[tuple[str, np.ndarray]]:
    """Fixed excerpts (name, float32 [channels, L]) of the held-out tracks: ``per_track`` evenly
    spaced windows of ``length`` samples (the whole track if shorter), L a multiple of ``hop``;
    near-silent windows are skipped. Deterministic, so every validation scores the same audio."""
    out = []
    for i, t in enumerate(cache.tracks):
        total = t["length"]
        n = min(length, total) // hop * hop
        if n < min_length:
            continue
        for k in range(per_track if total > n else 1):
            start = (k + 1) * (total - n) // (per_track + 1)
            x = _float(cache.audio(i)[:, start: start + n])
            if rms_dbfs(x) >= cache.silence_dbfs:
                out.append((f"{t['key']}@{start / cache.sample_rate:.1f}s", x))
    return out


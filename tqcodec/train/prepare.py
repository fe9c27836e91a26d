"""Decode training audio once into an on-disk cache the trainer memory-maps
(``python -m tqcodec.train.prepare --data DIR [--data DIR2 …] [--val-data DIR] --out CACHE``).

Why: decoding every track into RAM before step 1 caps the data at the machine's memory
and repeats minutes of decoding on every start. The cache holds, per track, one
``audio/NNNNN.npy`` of int16 ``[channels, T]`` at 44.1 kHz (about 10 MB per stereo
minute; ``numpy.load(mmap_mode="r")`` reads only the pages a segment touches) and one
``index.json``:

* ``tracks``: key (path relative to its data folder), source path, its size and mtime
  (a re-run reuses entries whose source did not change, so adding a package only decodes
  the new files), ``file``, ``channels``, ``length`` in samples, ``split`` ("train" or
  "val": whole tracks, decided here once by ``data.split_tracks`` or ``data.hold_out``),
  and ``loud_fraction``: the share of 0.1-s blocks per channel at or above the silence
  threshold (``SILENCE_DBFS``) — the sampler weights tracks by loud audio and never
  draws from an all-silent one;
* ``sample_rate``, ``silence_dbfs``, and the hours of train / val audio.

Every file is checked before anything is written: an unreadable one ends the run with
one line naming it and the reason.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..atomic import atomic_path, atomic_write
from ..audio_io import AudioError, load_audio
from .data import SILENCE_DBFS, DataError, find_tracks, hold_out, split_tracks
from .dataset import CACHE_FORMAT, CACHE_VERSION, INDEX_NAME, read_index

BLOCK_SECONDS = 0.1


@dataclass
class CachedTrack:
    key: str
    source: str
    size: int
    mtime: float
    file: str  # relative to the cache folder
    channels: int
    length: int
    split: str  # "train" or "val"
    loud_fraction: float


def loud_fraction(audio: np.ndarray, sample_rate: int, silence_dbfs: float = SILENCE_DBFS) -> float:
    """Share of ``BLOCK_SECONDS`` blocks (over all channels) whose RMS reaches ``silence_dbfs``."""
    block = max(1, round(BLOCK_SECONDS * sample_rate))
    n = audio.shape[1] // block
    if n == 0:
        blocks = audio[:, None, :].astype(np.float64)
    else:
        blocks = audio[:, : n * block].reshape(audio.shape[0], n, block).astype(np.float64)
    level = 10 * np.log10(np.mean(np.square(blocks / 32768.0), axis=-1) + 1e-20)
    return float(np.mean(level >= silence_dbfs))


def prepare(data: list[str], out: str | os.PathLike, val_data: list[str] | None = None,
            val_fraction: float = 0.1, sample_rate: int = 44_100, silence_dbfs: float = SILENCE_DBFS,
            progress: bool = True) -> dict:
    """Build or update the cache in ``out`` (see the module docstring); returns its index."""
    cache = Path(out)
    tracks = find_tracks(data)
    if val_data:
        train, val = hold_out(tracks, find_tracks(val_data))
    else:
        train, val = split_tracks(tracks, val_fraction)
    split = {os.path.realpath(t.path): "train" for t in train} | {os.path.realpath(t.path): "val" for t in val}
    old = read_index(cache) or {"tracks": []}
    reusable = {e["source"]: e for e in old["tracks"] if (cache / e["file"]).is_file()}
    try:
        (cache / "audio").mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"{cache}: cannot create the cache here ({e.strerror})") from None
    used_files = {e["file"] for e in reusable.values()}
    entries, next_id = [], 0
    for t in tqdm(train + val, desc="decoding audio", unit="file", disable=not progress):
        source = os.path.realpath(t.path)
        st = os.stat(source)
        prev = reusable.get(source)
        if prev and prev["size"] == st.st_size and prev["mtime"] == st.st_mtime:
            entries.append(CachedTrack(**{**prev, "key": t.key, "split": split[source]}))
            continue
        try:
            audio, _ = load_audio(t.path, sample_rate)
        except AudioError as e:
            raise DataError(str(e)) from None
        pcm = np.round(np.clip(audio, -1.0, 32767 / 32768) * 32768).astype(np.int16)
        while f"audio/{next_id:05d}.npy" in used_files:
            next_id += 1
        name = f"audio/{next_id:05d}.npy"
        used_files.add(name)
        with atomic_path(cache / name) as tmp, open(tmp, "wb") as f:
            np.save(f, pcm)
        entries.append(CachedTrack(key=t.key, source=source, size=st.st_size, mtime=st.st_mtime, file=name,
                                   channels=pcm.shape[0], length=pcm.shape[1], split=split[source],
                                   loud_fraction=loud_fraction(pcm, sample_rate, silence_dbfs)))
    entries.sort(key=lambda e: (e.split, e.key))
    hours = {s: sum(e.length * e.channels for e in entries if e.split == s) / sample_rate / 3600
             for s in ("train", "val")}
    index = {"format": CACHE_FORMAT, "version": CACHE_VERSION, "sample_rate": sample_rate,
             "silence_dbfs": silence_dbfs, "sources": [str(d) for d in data],
             "val_data": [str(d) for d in val_data or []], "val_fraction": None if val_data else val_fraction,
             "channel_hours": hours, "tracks": [asdict(e) for e in entries]}
    atomic_write(cache / INDEX_NAME, json.dumps(index, indent=1).encode())
    kept = {e.file for e in entries}
    for stale in (cache / "audio").glob("*.npy"):
        if f"audio/{stale.name}" not in kept:
            stale.unlink()
    return index


def summary(index: dict) -> str:
    n = {s: sum(t["split"] == s for t in index["tracks"]) for s in ("train", "val")}
    h = index["channel_hours"]
    return (f"{n['train']} training tracks ({h['train']:.2f} channel-hours), "
            f"{n['val']} held-out tracks ({h['val']:.2f} channel-hours)")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tqcodec.train.prepare",
                                description="Decode training audio once into a memory-mappable cache.")
    p.add_argument("--data", required=True, action="append", metavar="DIR",
                   help="folder of audio files, searched recursively (repeatable)")
    p.add_argument("--out", required=True, metavar="CACHE", help="cache folder (created or updated)")
    p.add_argument("--val-data", action="append", default=[], metavar="DIR",
                   help="hold out exactly the audio files under DIR (repeatable); replaces --val-fraction")
    p.add_argument("--val-fraction", type=float, default=0.1,
                   help="share of tracks held out by the hash rule (default: %(default)s)")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    args = p.parse_args(argv)
    try:
        index = prepare(args.data, args.out, args.val_data, args.val_fraction, progress=args.progress)
    except (DataError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{args.out}: {summary(index)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

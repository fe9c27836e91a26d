"""Real-music codes for calibration and verification.

Quantisation ranges and every artifact's verdict come from codes made by encoding real
music with the full checkpoint (the encoder runs here, never on the phone).  The default
is the shipped 12-s clip (both channels: 24 s of mono audio); ``--calibration DIR`` takes
every audio file in a folder.
"""
from __future__ import annotations

import hashlib
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from tqdm import tqdm

from tqcodec.audio_io import load_audio
from tqcodec.checkpoint import atomic_torch_save, load_checkpoint
from tqcodec.evaluate import music_files

from .manifest import file_sha256

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CLIP = ROOT / "assets" / "chaos_god_clip.ogg"


def default_cache_dir() -> Path:
    """Where encoded calibration codes are kept between exports (``TQCODEC_CACHE`` overrides)."""
    base = os.environ.get("TQCODEC_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") \
        / "tqcodec-mobile"
    return Path(base) / "codes"


@dataclass
class MusicCodes:
    """Codes [N, n_q, F] of N mono excerpts, and the audio [N, F·hop] they came from."""

    codes: torch.Tensor
    audio: np.ndarray
    sources: list[str]

    @property
    def seconds(self) -> float:
        return self.audio.size / 44_100


def slice_music(music: MusicCodes, frames: int) -> MusicCodes:
    """The first ``frames`` code frames of every excerpt (and the matching audio)."""
    hop = music.audio.shape[-1] // music.codes.shape[-1]
    return MusicCodes(music.codes[..., :frames], music.audio[..., : frames * hop], music.sources)


def calibration_part(music: MusicCodes, seconds: float | None, frame_rate: float) -> MusicCodes:
    """The first ``seconds`` of every excerpt (all of it for None): what int8 ranges are fitted on.

    Calibration runs the observed model chunk by chunk in eager PyTorch (the slow step of an
    export); verification always streams the whole of ``music``.
    """
    if seconds is None:
        return music
    if seconds <= 0:
        raise ValueError(f"calibration seconds must be positive, got {seconds}")
    return slice_music(music, max(1, round(seconds * frame_rate)))


# -- the one streaming calibrator ----------------------------------------------------------------
Step = Callable[[torch.Tensor, list], tuple]


def chunks_covering(seconds: float | None, frame_rate: float, chunk_frames: int) -> int | None:
    """Chunks per excerpt that cover ``seconds`` of each excerpt (None: all of it)."""
    if seconds is None:
        return None
    return max(1, math.ceil(seconds * frame_rate / chunk_frames))


def progress_bar(desc: str | None, total: int):
    """A tqdm bar (None when ``desc`` is empty); quiet when stderr is not a terminal."""
    if not desc:
        return None
    return tqdm(total=total, desc=desc, unit="chunk", leave=False, disable=not sys.stderr.isatty())


def channel_groups(excerpts: int, channels: int) -> int:
    """How many ``channels``-channel excerpts N mono excerpts make: consecutive excerpts are the
    channels of one (a stereo file's left and right are consecutive; an odd last one is left out)."""
    groups = excerpts // channels
    if groups < 1:
        raise ValueError(f"a {channels}-channel decoder needs at least {channels} mono excerpts of music, "
                         f"got {excerpts}")
    return groups


def stream_codes(step: Step, init_state: Callable[[], list], codes: torch.Tensor, chunk_frames: int,
                 max_chunks: int | None = None, desc: str | None = None,
                 channels: int = 1) -> Iterator[tuple[int, int, object]]:
    """Run ``step(codes [C, n_q, K] int32, state) -> (audio, state)`` over codes [N, n_q, F] chunk by
    chunk, state carried from ``init_state()`` through each excerpt, exactly as the phone runs it.

    Every exporter calibrates and simulates through this: the state tensors are activations
    too, and one chunk from zero state would see neither the LSTM's settled h/c nor the
    convolutions' filled context.  A ``channels``-channel step takes C consecutive mono
    excerpts at once (``channel_groups``).  Yields (group index, chunk start frame, audio chunk).
    """
    K, C = chunk_frames, channels
    groups = channel_groups(codes.shape[0], C)
    per_excerpt = codes.shape[-1] // K
    if max_chunks is not None:
        per_excerpt = min(per_excerpt, max_chunks)
    bar = progress_bar(desc, groups * per_excerpt)
    try:
        with torch.no_grad():
            for i in range(groups):
                state = init_state()
                for c in range(per_excerpt):
                    start = c * K
                    audio, state = step(codes[i * C:(i + 1) * C, :, start:start + K].to(torch.int32), state)
                    if bar is not None:
                        bar.update(1)
                    yield i, start, audio
    finally:
        if bar is not None:
            bar.close()


def positional_step(module) -> Step:
    """``module(codes, *state) -> (audio, *state)`` as a ``Step``."""
    def step(codes, state):
        audio, *new_state = module(codes, *state)
        return audio, list(new_state)
    return step


def audio_files(source: str | Path | None) -> list[Path]:
    """The shipped clip by default, else every audio file of a file or folder."""
    return [DEFAULT_CLIP] if source is None else music_files(source)


def encode_music(model, source: str | Path | None = None, max_seconds: float = 24.0,
                 excerpt_seconds: float = 12.0) -> MusicCodes:
    """Encode mono excerpts (each channel is one, a file's channels consecutive) until ``max_seconds``
    is reached at the end of a file."""
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
        if total >= max_seconds * 44_100:  # whole files only: a stereo file's channels stay together
            break
    if not pieces:
        raise ValueError(f"no usable audio in {source or DEFAULT_CLIP}")
    length = min(len(p) for p in pieces)
    audio = np.stack([p[:length] for p in pieces]).astype(np.float32)
    with torch.no_grad():
        codes = model.encode(torch.from_numpy(audio)[:, None])
    return MusicCodes(codes, audio, names)


def load_music(ckpt, source=None, cache_dir: Path | None = None, max_seconds: float = 24.0) -> MusicCodes:
    """``encode_music`` with the full checkpoint, cached by checkpoint bytes and audio files.

    Encoding is the slow part of every export (the tq64 encoder is 72 GMAC/s) and all three
    backends verify on the same music, so the codes are kept in ``cache_dir`` (default
    ``default_cache_dir()``) keyed by the checkpoint's SHA-256, the audio files' paths, sizes
    and modification times, and ``max_seconds``.  Raises ValueError/FileNotFoundError for bad
    input, ``tqcodec.checkpoint.CheckpointError`` for a bad checkpoint.
    """
    files = audio_files(source)
    key = hashlib.sha256(f"{file_sha256(ckpt)}|{max_seconds}".encode())
    for f in files:
        st = f.stat()
        key.update(f"{f.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    cache_dir = default_cache_dir() if cache_dir is None else Path(cache_dir)
    cache = cache_dir / f"codes-{key.hexdigest()[:24]}.pt"
    if cache.is_file():
        try:
            blob = torch.load(cache, weights_only=True)
            return MusicCodes(blob["codes"], blob["audio"].numpy(), list(blob["sources"]))
        except Exception:  # noqa: BLE001 - a damaged cache is only a cache
            cache.unlink(missing_ok=True)
    model, _ = load_checkpoint(ckpt)
    print(f"encoding calibration music with the {model.config.name} encoder ({', '.join(f.name for f in files)})",
          flush=True)
    music = encode_music(model, source, max_seconds=max_seconds)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        atomic_torch_save({"codes": music.codes, "audio": torch.from_numpy(music.audio),
                           "sources": music.sources}, cache)
    except OSError:  # an unwritable cache only costs time
        pass
    return music

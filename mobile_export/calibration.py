"""Real-music codes for calibration and verification.

Quantisation ranges and every artifact's verdict come from codes made by encoding real
music with the full checkpoint (the encoder runs here, never on the phone).  The default
is the shipped 12-s clip (both channels: 24 s of mono audio); ``--calibration DIR`` takes
every audio file in a folder.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

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


def add_calibration_seconds_option(parser) -> None:
    """The same ``--calibration-seconds`` flag on every exporter."""
    parser.add_argument("--calibration-seconds", type=float, default=None, metavar="S",
                        help="int8: fit activation ranges on the first S seconds of each calibration excerpt "
                             "(default: all of it); verification always uses all of it")


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


def load_music(ckpt, source=None, cache_dir: Path | None = None, max_seconds: float = 24.0) -> MusicCodes:
    """``encode_music`` with the full checkpoint, cached by checkpoint bytes and audio files.

    Encoding is the slow part of every export (the tq64 encoder is 72 GMAC/s) and all three
    backends verify on the same music, so the codes are kept in ``cache_dir`` (default
    ``default_cache_dir()``) keyed by the checkpoint's SHA-256, the audio files' paths, sizes
    and modification times, and ``max_seconds``.  Raises ValueError/FileNotFoundError for bad
    input, ``tqcodec.checkpoint.CheckpointError`` for a bad checkpoint.
    """
    from tqcodec.checkpoint import atomic_torch_save, load_checkpoint

    from .manifest import file_sha256

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

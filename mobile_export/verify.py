"""Verify an artifact against the float reference on real music, chunk by chunk.

Backends provide ``run_chunk(codes [C, n_q, K] int32 numpy, state list) -> (audio, state)``;
this module streams every excerpt through it with state carried, and compares with the
float PyTorch streaming decoder (which equals the offline decoder) and with the music.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from tqcodec.metrics import lsd, snr_db

from .calibration import channel_groups

THRESHOLDS = {  # minimum SNR vs float (dB) per precision; int8 also bounds the LSD delta
    "fp32": {"snr_db_vs_float": 80.0},
    "fp16": {"snr_db_vs_float": 60.0},
    "int8": {"snr_db_vs_float": 25.0, "lsd_delta": 0.05},
}

RunChunk = Callable[[np.ndarray, list], tuple[np.ndarray, list]]


@dataclass
class Verification:
    snr_db_vs_float: float
    max_abs_err: float
    lsd_float: float
    lsd_artifact: float
    seconds: float
    chunks: int
    precision: str
    snr_db_by_quarter: list[float] = field(default_factory=list)  # drift: SNR over each quarter of every excerpt

    @property
    def lsd_delta(self) -> float:
        return self.lsd_artifact - self.lsd_float

    def failures(self) -> list[str]:
        t = THRESHOLDS[self.precision]
        out = []
        if self.snr_db_vs_float < t["snr_db_vs_float"]:
            out.append(f"SNR vs float {self.snr_db_vs_float:.1f} dB < {t['snr_db_vs_float']} dB")
        if "lsd_delta" in t and self.lsd_delta > t["lsd_delta"]:
            out.append(f"LSD delta {self.lsd_delta:+.4f} > {t['lsd_delta']}")
        return out

    def to_dict(self) -> dict:
        return {
            "snr_db_vs_float": round(self.snr_db_vs_float, 3),
            "lsd_delta": round(self.lsd_delta, 5),
            "max_abs_err": float(self.max_abs_err),
            "lsd_float_vs_music": round(self.lsd_float, 5),
            "lsd_artifact_vs_music": round(self.lsd_artifact, 5),
            "seconds_of_music": round(self.seconds, 2),
            "chunks": self.chunks,
            "thresholds": THRESHOLDS[self.precision],
            "passed": not self.failures(),
            "method": "chunk by chunk with state carried from zeros, every excerpt of the calibration "
                      "music; SNR = 10·log10(Σref²/Σ(ref−art)²) against the float PyTorch decoder",
        }


def stream(run_chunk: RunChunk, init_state: list, codes: torch.Tensor, chunk_frames: int,
           progress: str | None = None) -> np.ndarray:
    """Decode codes [n_q, F] → [F·hop], or [C, n_q, F] → [C, F·hop] (a C-channel runner), through
    ``run_chunk`` (F a multiple of K)."""
    mono = codes.dim() == 2
    if mono:
        codes = codes[None]
    channels, n_q, frames = codes.shape
    if frames % chunk_frames:
        raise ValueError(f"{frames} frames is not a multiple of the chunk ({chunk_frames})")
    c = codes.to(torch.int32).numpy()
    state = [np.asarray(s) for s in init_state]
    out = []
    it = range(0, frames, chunk_frames)
    if progress:
        it = tqdm(it, desc=progress, unit="chunk", leave=False, disable=not sys.stderr.isatty())
    for start in it:
        audio, state = run_chunk(np.ascontiguousarray(c[:, :, start:start + chunk_frames]), state)
        out.append(np.asarray(audio, dtype=np.float32).reshape(channels, -1))
    audio = np.concatenate(out, axis=1)
    return audio[0] if mono else audio


def verify(run_chunk: RunChunk, init_state: list, float_decoder, music, precision: str,
           progress: str | None = None) -> Verification:
    """Stream every excerpt of ``music`` (a ``calibration.MusicCodes``) through the artifact; a
    C-channel artifact takes C consecutive excerpts per call (``calibration.channel_groups``)."""
    K, C = float_decoder.chunk_frames, float_decoder.channels
    usable = music.codes.shape[-1] // K * K
    hop = float_decoder.config.hop_length
    groups = channel_groups(music.codes.shape[0], C)
    refs, arts, origs = [], [], []
    for g in range(groups):
        codes = music.codes[g * C:(g + 1) * C, :, :usable]
        with torch.no_grad():
            ref = float_decoder.decode(codes).numpy()
        art = stream(run_chunk, init_state, codes, K, progress=f"{progress} {g + 1}/{groups}" if progress else None)
        refs.append(ref)
        arts.append(art)
        origs.append(music.audio[g * C:(g + 1) * C, : usable * hop])
    ref, art, orig = np.concatenate(refs), np.concatenate(arts), np.concatenate(origs)
    n = ref.shape[1]  # state is carried from the start of each excerpt: error it accumulates shows as a falling row
    quarters = [round(snr_db(ref[:, q * n // 4:(q + 1) * n // 4], art[:, q * n // 4:(q + 1) * n // 4]), 2)
                for q in range(4)]
    return Verification(
        snr_db_vs_float=snr_db(ref, art),
        max_abs_err=float(np.abs(ref - art).max()),
        lsd_float=lsd(orig, ref)[0],
        lsd_artifact=lsd(orig, art)[0],
        seconds=ref.size / float_decoder.config.sample_rate,
        chunks=ref.size // float_decoder.samples_per_chunk // C,
        precision=precision,
        snr_db_by_quarter=quarters,
    )


__all__ = ["THRESHOLDS", "Verification", "stream", "verify"]

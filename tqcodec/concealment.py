"""How a player plays what it did not get whole: the one concealment policy for damaged
streams, as a pure plan (docs/bitstream.md, "Playing a damaged stream: the concealment
policy"), and the one seek rule ("Seeking").  Their constants are the ``policy`` block of
``tests/vectors/manifest.json``.

Why a plan: the Python, Java and Swift players must do the same thing with the same
packets, and a stream's sequence numbers are not to be trusted (two CRC-valid packets
numbered 0 and 32767 claim a gap of 32767 packets).  The planner turns the packets a
streaming reader delivers into steps, ``["decode", sequence, frames]``,
``["conceal", frames]`` and ``["reset"]``; every packet adds at most
``frames_per_packet + MAX_CONCEAL_FRAMES`` frames, so the work is bounded by the size of
the input whatever it claims.  ``tests/vectors/manifest.json`` pins the plan of every
damaged vector.  The fades are a function of the plan alone (``apply_fades``).

numpy only: no model here; ``compress.decode_plan`` runs a plan through a decoder.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Protocol

import numpy as np

MAX_CONCEAL_FRAMES = 256  # longest gap filled with concealment (371 ms at 689 frames/s)
FADE_SAMPLES = 256  # length of every fade-out and fade-in (5.8 ms at 44.1 kHz)
SEEK_PREROLL_FRAMES = 128  # frames decoded and dropped before a seek target (docs/bitstream.md, "Seeking")

DECODE, CONCEAL, RESET = "decode", "conceal", "reset"


class _Delivered(Protocol):
    sequence: int
    lost_before: int

    @property
    def frames(self) -> int: ...


@dataclass(frozen=True)
class ConcealmentPlan:
    """Steps in output order, and the output length in frames before any total_samples cap."""

    steps: tuple[tuple, ...]
    output_frames: int

    def to_dict(self) -> dict:
        """The manifest's ``concealment`` field."""
        return {"plan": [list(s) for s in self.steps], "output_frames": self.output_frames}

    def segments(self) -> list[list[tuple]]:
        """The steps split at every reset: each segment starts from the decoder's initial state."""
        out: list[list[tuple]] = [[]]
        for step in self.steps:
            if step[0] == RESET:
                out.append([])
            else:
                out[-1].append(step)
        return out


def fade_frames(hop_length: int) -> int:
    """Frames of fade-out tail before a reset: FADE_SAMPLES / hop, rounded up."""
    return -(-FADE_SAMPLES // hop_length)


def plan_steps(packet: _Delivered, frames_per_packet: int, hop_length: int) -> list[tuple]:
    """The steps for one delivered packet (what a live player does on its arrival)."""
    gap = packet.lost_before * frames_per_packet
    decode = (DECODE, packet.sequence, packet.frames)
    if gap == 0:
        return [decode]
    if gap <= MAX_CONCEAL_FRAMES:
        return [(CONCEAL, gap), decode]
    return [(CONCEAL, fade_frames(hop_length)), (RESET,), decode]


def plan_concealment(packets: Iterable[_Delivered], frames_per_packet: int, hop_length: int) -> ConcealmentPlan:
    """The plan for the packets a streaming reader delivered, in delivery order."""
    steps: list[tuple] = []
    for p in packets:
        steps += plan_steps(p, frames_per_packet, hop_length)
    return ConcealmentPlan(tuple(steps), sum(s[-1] for s in steps if s[0] != RESET))


def fade_out(length: int) -> np.ndarray:
    """Half-cosine from 1 towards 0 over ``length`` samples: 0.5·(1 + cos(π·n/length))."""
    n = np.arange(length, dtype=np.float64)
    return (0.5 * (1.0 + np.cos(math.pi * n / length))).astype(np.float32)


def fade_in() -> np.ndarray:
    """Half-cosine from 0 towards 1 over FADE_SAMPLES samples: 0.5·(1 − cos(π·n/FADE_SAMPLES))."""
    n = np.arange(FADE_SAMPLES, dtype=np.float64)
    return (0.5 * (1.0 - np.cos(math.pi * n / FADE_SAMPLES))).astype(np.float32)


def apply_fades(audio: np.ndarray, plan: ConcealmentPlan, hop_length: int) -> np.ndarray:
    """Multiply ``audio`` [channels, output_frames·hop] in place by the plan's gains; returns it.

    A conceal step of G frames fades out over L = min(FADE_SAMPLES, G·hop) samples, starting
    from the gain of the sample before it (0 when nothing was played), and is silent after
    that; the decoded samples that follow fade in over FADE_SAMPLES samples (across packet
    boundaries, until the next conceal step).  Everything else has gain 1.
    """
    rise = fade_in()
    pos, level, fade_from = 0, 0.0, None
    for step in plan.steps:
        if step[0] == RESET:
            continue
        n = step[-1] * hop_length
        seg = audio[..., pos:pos + n]
        if step[0] == CONCEAL:
            length = min(FADE_SAMPLES, n)
            seg[..., :length] *= level * fade_out(length)
            seg[..., length:] = 0.0
            level, fade_from = 0.0, pos + n
        else:
            if fade_from is not None and pos < fade_from + FADE_SAMPLES:
                ramp = rise[pos - fade_from: pos - fade_from + n]
                seg[..., :ramp.size] *= ramp
                level = float(ramp[-1]) if ramp.size == n else 1.0
            else:
                level = 1.0
        pos += n
    return audio


def seek_point(header, seconds: float, preroll_frames: int = SEEK_PREROLL_FRAMES) -> tuple[int, int, int]:
    """Where to start decoding to play from ``seconds``: (target frame f, first packet k,
    samples of pre-roll to drop).  ``header``: anything with sample_rate, hop_length and
    frames_per_packet.  Decoding starts at packet k from the initial state; the output
    then starts at sample f·hop of the stream."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"a start time must be a finite number of seconds ≥ 0, got {seconds!r}")
    frame = math.floor(seconds * header.sample_rate / header.hop_length)
    packet = max(0, (frame - preroll_frames) // header.frames_per_packet)
    return frame, packet, (frame - packet * header.frames_per_packet) * header.hop_length

"""File-level codec API: audio file ↔ ``.tqc`` stream, with the reference model.

Encoding runs the (large, server-side) encoder over segments with a warm-up context so
that memory stays bounded for long tracks; decoding runs the streaming decoder, which
equals the offline decoder exactly, so minutes of music decode in constant memory.
The in-memory functions (``encode_audio``/``decode_codes``) are what the file functions
call, so a file round trip gives the same codes as the in-memory path.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from . import bitstream
from .audio_io import load_audio, resample, save_audio
from .checkpoint import decoder_fingerprint
from .concealment import CONCEAL, DECODE, RESET, apply_fades, plan_concealment, seek_point

DecodeFn = Callable[[np.ndarray], np.ndarray]  # codes [C, n_q, F] → audio [C, F·hop], from the initial state

SEGMENT_SECONDS = 10.0
CONTEXT_SECONDS = 1.0  # warm-up for the encoder's LSTM; its codes are discarded


@torch.no_grad()
def encode_audio(model, audio: np.ndarray, progress: bool = False) -> torch.Tensor:
    """float32 [C, T] at 44.1 kHz → codes [C, n_q, ceil(T / hop)].

    Segments of ``SEGMENT_SECONDS`` are encoded with ``CONTEXT_SECONDS`` of preceding audio
    as warm-up (the convolutions' receptive field is far shorter; the LSTM's memory fades).
    """
    hop = model.config.hop_length
    frames = -(-audio.shape[-1] // hop)
    if frames == 0:  # an empty file encodes to an empty stream
        return torch.zeros((audio.shape[0], model.config.n_codebooks, 0), dtype=torch.long)
    x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))
    x = torch.nn.functional.pad(x, (0, frames * hop - x.shape[-1]))
    seg = int(SEGMENT_SECONDS * model.config.frame_rate)
    ctx = int(CONTEXT_SECONDS * model.config.frame_rate)
    out = []
    starts = range(0, frames, seg)
    if progress:
        from tqdm import tqdm
        starts = tqdm(starts, desc="encode", unit="segment")
    for start in starts:
        lo = max(0, start - ctx)
        piece = x[:, lo * hop: min(frames, start + seg) * hop]
        codes = model.encode(piece[:, None])
        out.append(codes[..., start - lo: start - lo + min(seg, frames - start)])
    return torch.cat(out, dim=-1)


def header_for(model, meta: dict, channels: int, total_samples: int | None,
               frames_per_packet: int = bitstream.DEFAULT_FRAMES_PER_PACKET) -> bitstream.StreamHeader:
    cfg = model.config
    return bitstream.StreamHeader(channels=channels, n_q=cfg.n_codebooks, fingerprint=decoder_fingerprint(meta),
                                  sample_rate=cfg.sample_rate, hop_length=cfg.hop_length,
                                  codebook_size=cfg.codebook_size, bits=int(np.log2(cfg.codebook_size)),
                                  frames_per_packet=frames_per_packet, total_samples=total_samples)


def encode_file(in_path, out_path, model, meta: dict, progress: bool = False) -> bitstream.StreamHeader:
    """Audio file → ``.tqc``; an empty audio file gives an empty stream (header only)."""
    audio, rate = load_audio(in_path, None, allow_empty=True)
    return encode_to_file(audio, rate, out_path, model, meta, progress)


def encode_to_file(audio: np.ndarray, rate: int, out_path, model, meta: dict,
                   progress: bool = False) -> bitstream.StreamHeader:
    """float32 [C, T] at ``rate`` → ``.tqc`` (resampled to the model's rate first)."""
    audio = resample(audio, rate, model.config.sample_rate)
    codes = encode_audio(model, audio, progress)
    header = header_for(model, meta, audio.shape[0], audio.shape[-1])
    bitstream.write_stream(out_path, header, codes.numpy())
    return header


@torch.no_grad()
def decode_codes(streaming_decoder, codes: np.ndarray, progress: bool = False) -> np.ndarray:
    """codes [C, n_q, F] → float32 [C, F·hop] through a float ``StreamingDecoder``."""
    codes = np.asarray(codes)
    if codes.shape[-1] == 0:
        return np.zeros((codes.shape[0], 0), np.float32)
    return np.stack([streaming_decoder.decode(torch.from_numpy(np.asarray(c)), progress=progress).numpy()
                     for c in codes])


def decode_plan(plan, packets, decode_fn: DecodeFn, header: bitstream.StreamHeader) -> np.ndarray:
    """Follow a concealment plan: audio [channels, output_frames·hop], fades applied.

    Each segment between resets is decoded by one ``decode_fn`` call, which starts from
    the decoder's initial state: that is what a reset is.  Conceal steps repeat the last
    frame decoded in the segment (zeros if none), so the decoder state runs on smoothly.
    """
    hop = header.hop_length
    packets = iter(packets)
    pieces = []
    for segment in plan.segments():
        codes, last = [], np.zeros((header.channels, header.n_q, 1), np.int64)
        for step in segment:
            if step[0] == DECODE:
                packet = next(packets)
                assert packet.sequence == step[1] and packet.frames == step[2], (step, packet.sequence)
                codes.append(packet.codes)
                last = packet.codes[:, :, -1:]
            elif step[0] == CONCEAL:
                codes.append(np.repeat(last, step[1], axis=2))
        if codes:
            seg = np.concatenate(codes, axis=2).astype(np.int64)
            pieces.append(np.asarray(decode_fn(seg), dtype=np.float32)[:, : seg.shape[2] * hop])
    audio = np.concatenate(pieces, axis=1) if pieces else np.zeros((header.channels, 0), np.float32)
    return apply_fades(audio, plan, hop)


@dataclass
class DecodeReport:
    """What a decode did: for the CLI's summary line and for tests."""

    header: bitstream.StreamHeader
    frames: int = 0  # frames of output before the total_samples cap and the seek cut
    concealed: int = 0
    resets: int = 0
    start_sample: int = 0  # the first output sample's position in the stream's timeline
    samples: int = 0  # samples written
    events: list = field(default_factory=list)


def decode_file(in_path, out_path, decode_fn: DecodeFn, geometry: bitstream.DecoderGeometry, *,
                lenient: bool = False, start_seconds: float | None = None,
                on_event=None) -> DecodeReport:
    """``.tqc`` → audio file through ``decode_fn``, under the concealment policy.

    The header is read and checked against ``geometry`` before anything is decoded.
    Strict mode raises at the first problem; lenient mode reports problems through
    ``on_event`` and plays what arrives.  ``start_seconds`` seeks (docs/bitstream.md,
    "Seeking"): decoding starts SEEK_PREROLL_FRAMES before the target, from the
    initial state, and the pre-roll is dropped.
    """
    path = os.fspath(in_path)
    header = bitstream.read_header(path)
    bitstream.check_stream_fits(header, geometry, path)
    start_frame, first_packet, drop = 0, 0, 0
    if start_seconds is not None:
        start_frame, first_packet, drop = seek_point(header, start_seconds)
        if header.total_samples is not None and start_frame * header.hop_length >= max(header.total_samples, 1):
            raise bitstream.TQCError("invalid_argument", f"--start {start_seconds:g} s is past the end of the "
                                     f"stream ({header.total_samples / header.sample_rate:.3f} s)", path=path)
    # From the start, the reader sees the header and checks the whole stream; a seek
    # joins at a packet boundary with the header known (docs/bitstream.md, "Starting mid-stream").
    offset = 0 if first_packet == 0 else bitstream.packet_offset(header, first_packet)
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except OSError as e:
        raise bitstream.TQCError("io_error", f"cannot read {path!r}: {e.strerror or e}", path=path) from e
    if first_packet == 0:
        reader = bitstream.StreamReader(strict=not lenient, path=path, on_event=on_event)
    else:
        reader = bitstream.StreamReader(strict=not lenient, header=header, first_sequence=None, offset=offset,
                                        path=path, on_event=on_event)
    packets = reader.feed(data) + reader.finish()
    plan = plan_concealment(packets, header.frames_per_packet, header.hop_length)
    audio = decode_plan(plan, packets, decode_fn, header)
    first_sample = first_packet * header.frames_per_packet * header.hop_length  # where the output begins
    end = audio.shape[1]
    if header.total_samples is not None:
        end = min(end, header.total_samples - first_sample)
    if start_seconds is not None and drop >= end:
        raise bitstream.TQCError("invalid_argument", f"--start {start_seconds:g} s is past the end of the stream "
                                 f"({(first_sample + end) / header.sample_rate:.3f} s decodable)", path=path)
    audio = audio[:, drop:end]
    save_audio(out_path, audio, header.sample_rate)
    return DecodeReport(header=header, frames=plan.output_frames,
                        concealed=sum(s[1] for s in plan.steps if s[0] == CONCEAL),
                        resets=sum(1 for s in plan.steps if s[0] == RESET),
                        start_sample=start_frame * header.hop_length,
                        samples=audio.shape[1], events=list(reader.events))


def describe_stream(path) -> str:
    """What ``info`` prints: header fields, duration, packets, exact bitrate."""
    header, codes = bitstream.read_stream(path)
    size = Path(path).stat().st_size
    frames = codes.shape[-1]
    packets = -(-frames // header.frames_per_packet)
    seconds = frames * header.hop_length / header.sample_rate
    rate = bitstream.stream_bitrate(header, size, frames)
    steady = bitstream.bitrate(header)
    total = "unknown (live stream)" if header.total_samples is None else f"{header.total_samples}"
    lines = [
        f"file               {path}",
        f"format version     {bitstream.FORMAT_VERSION}",
        f"sample rate        {header.sample_rate} Hz",
        f"channels           {header.channels}",
        f"codebooks/channel  {header.n_q} × {header.codebook_size} codes ({header.bits} bits)",
        f"hop                {header.hop_length} samples ({header.frame_rate:.4f} frames/s)",
        f"frames per packet  {header.frames_per_packet}",
        f"total samples      {total}",
        f"decoder fingerprint {header.fingerprint.hex()}",
        f"duration           {seconds:.3f} s ({frames} frames)",
        f"packets            {packets}",
        f"size               {size} bytes",
        f"bitrate (file)     {rate.describe()}",
        f"bitrate (steady)   {steady.describe()}",
    ]
    return "\n".join(lines)

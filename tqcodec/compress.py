"""File-level codec API: audio file ↔ ``.tqc`` stream, with the reference model.

Encoding runs the (large, server-side) encoder over segments with a warm-up context so
that memory stays bounded for long tracks; decoding runs the streaming decoder, which
equals the offline decoder exactly, so minutes of music decode in constant memory.
The in-memory functions (``encode_audio``/``decode_codes``) are what the file functions
call, so a file round trip gives the same codes as the in-memory path.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from . import bitstream
from .audio_io import load_audio, save_audio
from .checkpoint import decoder_fingerprint

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
    audio, _ = load_audio(in_path, model.config.sample_rate)
    codes = encode_audio(model, audio, progress)
    header = header_for(model, meta, audio.shape[0], audio.shape[-1])
    bitstream.write_stream(out_path, header, codes.numpy())
    return header


@torch.no_grad()
def decode_codes(streaming_decoder, codes: np.ndarray, progress: bool = False) -> np.ndarray:
    """codes [C, n_q, F] → float32 [C, F·hop] through a float ``StreamingDecoder``."""
    return np.stack([streaming_decoder.decode(torch.from_numpy(np.asarray(c)), progress=progress).numpy()
                     for c in codes])


def decode_file(in_path, out_path, decode_fn, expected_fingerprint: bytes | None = None) -> bitstream.StreamHeader:
    """Read a ``.tqc`` strictly, decode with ``decode_fn(codes [C, n_q, F]) -> [C, T]``, write audio."""
    header, codes = bitstream.read_stream(in_path, expected_fingerprint=expected_fingerprint)
    audio = decode_fn(codes)
    if header.total_samples is not None:
        audio = audio[:, : header.total_samples]
    save_audio(out_path, audio, header.sample_rate)
    return header


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

"""``python -m tqcodec`` (also the ``tqcodec`` console script): encode, decode, info, eval.

A thin shell: parsing arguments and turning every user mistake into one clear line on
stderr with a non-zero exit code. The work lives in ``compress``, ``bitstream`` and
``evaluate``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CKPT = ROOT / "checkpoints" / "tq64-balanced.pt"  # = checkpoint.DEFAULT_CHECKPOINT, without importing torch


def _load_model(path):
    from .checkpoint import load_checkpoint, resolve_checkpoint
    return load_checkpoint(resolve_checkpoint(path, announce=_note))


def _note(msg: str) -> None:
    print(msg, file=sys.stderr)


def _float_decode_fn(ckpt, chunk_frames: int = 64):
    from mobile_export.prune import load_pruned  # the exact streaming form of the decoder
    from .compress import decode_codes
    from .checkpoint import resolve_checkpoint
    pruned = load_pruned(resolve_checkpoint(ckpt, announce=_note))
    decoder = pruned.streaming(chunk_frames)
    fingerprint = bytes.fromhex(pruned.source_sha256)[:16] if pruned.source_sha256 else None
    return (lambda codes: decode_codes(decoder, codes, progress=True)), fingerprint


def _artifact_decode_fn(artifact):
    from mobile_export.runners import load_runner
    runner = load_runner(artifact)
    sha = runner.manifest.get("checkpoint_sha256")
    return runner.decode_channels, (bytes.fromhex(sha)[:16] if sha else None)


def _conceal(header, packets, n_q):
    """Assemble codes from the good packets; lost frames repeat the last good frame
    (keeping decoder state continuous) and are muted afterwards."""
    chunks, lost_ranges, pos = [], [], 0
    last = np.zeros((header.channels, n_q, 1), dtype=np.int64)
    for p in packets:
        if p.lost_before:
            n = p.lost_before * header.frames_per_packet
            chunks.append(np.repeat(last, n, axis=2))
            lost_ranges.append((pos, pos + n))
            pos += n
        chunks.append(p.codes.astype(np.int64))
        last = p.codes[:, :, -1:].astype(np.int64)
        pos += p.codes.shape[2]
    codes = np.concatenate(chunks, axis=2) if chunks else np.zeros((header.channels, n_q, 0), np.int64)
    return codes, lost_ranges


def cmd_encode(args) -> int:
    from .compress import encode_file
    model, meta = _load_model(args.ckpt)
    header = encode_file(args.input, args.output, model, meta, progress=not args.quiet)
    from .compress import describe_stream
    if not args.quiet:
        print(describe_stream(args.output))
    return 0


def cmd_decode(args) -> int:
    from . import bitstream
    from .audio_io import save_audio
    decode_fn, fingerprint = _artifact_decode_fn(args.artifact) if args.artifact else _float_decode_fn(args.ckpt)
    if not args.lenient:
        from .compress import decode_file
        decode_file(args.input, args.output, decode_fn, expected_fingerprint=fingerprint)
        return 0
    reader = bitstream.StreamReader(strict=False, path=args.input, expected_fingerprint=fingerprint)
    with open(args.input, "rb") as f:
        packets = reader.feed(f.read())
    packets += reader.finish()
    header = reader.header
    for e in reader.events:
        print(f"warning: {e}", file=sys.stderr)
    codes, lost = _conceal(header, packets, header.n_q)
    audio = decode_fn(codes)
    hop = header.hop_length
    for lo, hi in lost:
        audio[:, lo * hop: hi * hop] = 0.0
    if header.total_samples is not None:
        audio = audio[:, : header.total_samples]
    save_audio(args.output, audio, header.sample_rate)
    print(f"decoded {codes.shape[-1]} frames; {len(reader.events)} problem(s), "
          f"{sum(h - l for l, h in lost)} frames concealed", file=sys.stderr)
    return 0


def cmd_info(args) -> int:
    from .compress import describe_stream
    print(describe_stream(args.input))
    return 0


def cmd_eval(args) -> int:
    import torch
    from .compress import decode_codes, encode_audio
    from .evaluate import evaluate
    from mobile_export.prune import prune
    model, meta = _load_model(args.ckpt)
    decoder = prune(model, meta).streaming(64)
    cfg = model.config

    def encode_decode(audio):
        codes = encode_audio(model, audio)
        out = decode_codes(decoder, codes.numpy())[:, : audio.shape[-1]]
        return out, cfg.kbps_stereo

    result = evaluate(args.ref_dir, encode_decode, cfg.name, cfg.kbps_stereo, compare=args.compare,
                      max_seconds=args.max_seconds, progress=not args.json)
    if args.json:
        print(json.dumps({"checkpoint": str(args.ckpt), "config": cfg.name, "trained_steps": meta.get("step"),
                          **result.to_dict()}, indent=2))
    else:
        for s in result.scores:
            m = s.metrics
            print(f"{s.file:<40.40s} {s.codec:<14s} {s.kbps:7.1f} kbps  LSD {m.lsd:.3f}  LSD-L {m.lsd_l:.3f}  "
                  f"LSD-H {m.lsd_h:.3f}  SNR {m.snr:6.2f} dB")
        print()
        print(result.table())
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tqcodec", description="TQCodec neural music codec")
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("encode", help="audio file (WAV/FLAC/OGG/MP3, any rate, mono/stereo) → .tqc")
    e.add_argument("input")
    e.add_argument("output")
    e.add_argument("--ckpt", default=str(DEFAULT_CKPT))
    e.add_argument("--quiet", action="store_true")
    e.set_defaults(fn=cmd_encode)
    d = sub.add_parser("decode", help=".tqc → audio file")
    d.add_argument("input")
    d.add_argument("output")
    src = d.add_mutually_exclusive_group()
    src.add_argument("--ckpt", default=str(DEFAULT_CKPT), help="float reference decoder (default)")
    src.add_argument("--artifact", help="an exported decoder (.pte or .tflite) with its manifest")
    d.add_argument("--lenient", action="store_true",
                   help="streaming mode: report damaged packets, skip them (muted) and go on")
    d.set_defaults(fn=cmd_decode)
    i = sub.add_parser("info", help="print a .tqc header, duration, packets and exact bitrate")
    i.add_argument("input")
    i.set_defaults(fn=cmd_info)
    v = sub.add_parser("eval", help="LSD / LSD-L / LSD-H / SNR over a folder of music")
    v.add_argument("ref_dir")
    v.add_argument("--ckpt", default=str(DEFAULT_CKPT))
    v.add_argument("--compare", action="store_true", help="also Opus, Vorbis, MP3, AAC at the same stereo bitrate")
    v.add_argument("--json", action="store_true")
    v.add_argument("--max-seconds", type=float, default=30.0, help="seconds scored per file")
    v.set_defaults(fn=cmd_eval)
    return p


def main(argv=None) -> int:
    from .audio_io import AudioError
    from .bitstream import TQCError
    from .checkpoint import CheckpointError
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except (TQCError, AudioError, CheckpointError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

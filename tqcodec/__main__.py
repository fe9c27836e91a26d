"""``python -m tqcodec`` (also the ``tqcodec`` console script): encode, decode, info, eval.

A thin shell: parsing arguments and turning every user mistake into one clear line on
stderr with a non-zero exit code. The work lives in ``compress``, ``bitstream`` and
``evaluate``.
"""
from __future__ import annotations

import argparse
import functools
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CKPT = ROOT / "checkpoints" / "tq64-balanced.pt"  # = checkpoint.DEFAULT_CHECKPOINT, without importing torch


MAX_WARNINGS = 20  # damage reports printed one per line; the rest are counted
DECODE_CHUNK_FRAMES = 64  # frames per float decoder step (the output does not depend on it)


def _load_model(path):
    from .checkpoint import load_checkpoint, resolve_checkpoint
    return load_checkpoint(resolve_checkpoint(path, announce=_note))


def _note(msg: str) -> None:
    print(msg, file=sys.stderr)


def _stamp(path: Path) -> tuple:
    st = path.stat()
    return str(path.resolve()), st.st_size, st.st_mtime_ns


@functools.lru_cache(maxsize=2)
def _float_decoder(stamp: tuple, chunk_frames: int = 64):
    """(decode_fn, DecoderGeometry) of a checkpoint or pruned decoder file; cached per file
    version, so in-process callers (tests, the fuzzer) load it once."""
    from .bitstream import DecoderGeometry
    from .checkpoint import CheckpointError, load_blob
    from .compress import decode_codes
    from .prune import load_pruned  # the exact streaming form of the decoder
    path = Path(stamp[0])
    load_blob(path)  # a file torch cannot load safely is refused here, with a safe message
    pruned = load_pruned(path)
    if not pruned.source_sha256:
        raise CheckpointError(f"{path}: decoder file records no weights hash, so a stream's fingerprint "
                              "cannot be checked against it")
    decoder = pruned.streaming(chunk_frames)
    geometry = DecoderGeometry.from_config(pruned.config, bytes.fromhex(pruned.source_sha256))
    return (lambda codes: decode_codes(decoder, codes, progress=sys.stderr.isatty())), geometry


def _artifact_decoder(artifact):
    """Through the ``tqcodec.artifact_decoders`` entry point, so the model layer does not
    import the export layer above it (docs/developers.md, "Layers")."""
    from importlib.metadata import entry_points
    from .bitstream import DecoderGeometry
    found = entry_points(group="tqcodec.artifact_decoders")
    if not found:
        raise ValueError("decode --artifact needs the export layer: pip install 'tqcodec-mobile[all]'")
    runner = next(iter(found)).load()(artifact)  # mobile_export.runners:load_runner
    geometry = DecoderGeometry.from_manifest(runner.manifest, artifact)
    progress = "decode" if sys.stderr.isatty() else None
    return (lambda codes: runner.decode_channels(codes, progress=progress)), geometry


def _stream_input(path) -> Path:
    """A ``.tqc`` input that exists and is a file, checked before any work."""
    from .bitstream import TQCError
    p = Path(path)
    if p.is_dir():
        raise TQCError("io_error", "is a folder, not a .tqc stream", path=p)
    if not p.is_file():
        raise TQCError("io_error", "no such file" if not p.exists() else "not a regular file", path=p)
    return p


def cmd_encode(args) -> int:
    from .audio_io import check_audio_input, check_output_path, load_audio
    from .checkpoint import resolve_checkpoint
    from .compress import describe_stream, encode_to_file
    source = check_audio_input(args.input)
    check_output_path(args.output, inputs=[source])
    ckpt = resolve_checkpoint(args.ckpt, announce=_note)
    audio, rate = load_audio(source, None, allow_empty=True)  # refuses NaN/Inf, > 2 channels
    model, meta = _load_model(ckpt)
    encode_to_file(audio, rate, args.output, model, meta, progress=not args.quiet and sys.stderr.isatty())
    if audio.shape[-1] == 0:
        _note(f"{source}: no audio samples; wrote an empty stream")
    if not args.quiet:
        print(describe_stream(args.output))
    return 0


def cmd_decode(args) -> int:
    from . import bitstream
    from .audio_io import check_audio_output
    from .checkpoint import resolve_checkpoint
    from .compress import decode_file
    source = _stream_input(args.input)
    check_audio_output(args.output, inputs=[source])
    if args.start is not None and not (math.isfinite(args.start) and args.start >= 0):
        raise bitstream.TQCError("invalid_argument", f"--start must be a number of seconds ≥ 0, got {args.start}",
                                 path=source)
    bitstream.read_header(source)  # a bad header is reported before any model is loaded
    if args.artifact:
        decode_fn, geometry = _artifact_decoder(args.artifact)
    else:
        decode_fn, geometry = _float_decoder(_stamp(resolve_checkpoint(args.ckpt, announce=_note)),
                                             DECODE_CHUNK_FRAMES)
    shown = []

    def warn(event):
        if len(shown) < MAX_WARNINGS:
            print(f"warning: {event}", file=sys.stderr)
        shown.append(event)

    report = decode_file(source, args.output, decode_fn, geometry, lenient=args.lenient,
                         start_seconds=args.start, on_event=warn if args.lenient else None)
    if len(shown) > MAX_WARNINGS:
        _note(f"warning: {len(shown) - MAX_WARNINGS} more problem(s) not shown")
    h = report.header
    if args.lenient or args.start is not None:
        where = f" from {report.start_sample / h.sample_rate:.3f} s" if args.start is not None else ""
        _note(f"decoded {report.samples} samples{where}; {len(report.events)} problem(s), "
              f"{report.concealed} frames concealed, {report.resets} reset(s)")
    return 0


def cmd_info(args) -> int:
    from .compress import describe_stream
    print(describe_stream(_stream_input(args.input)))
    return 0


def cmd_eval(args) -> int:
    from .checkpoint import resolve_checkpoint
    from .evaluate import evaluate, reference_codec
    encode_decode, cfg, meta = reference_codec(resolve_checkpoint(args.ckpt, announce=_note))
    result = evaluate(args.ref_dir, encode_decode, cfg.name, cfg.kbps_stereo, compare=args.compare,
                      max_seconds=args.max_seconds, progress=not args.json,
                      with_visqol=not args.no_visqol, visqol_seconds=args.visqol_seconds)
    if args.json:
        print(json.dumps({"checkpoint": str(args.ckpt), "config": cfg.name, "trained_steps": meta.get("step"),
                          **result.to_dict()}, indent=2))
    else:
        for s in result.scores:
            print(s.describe(result.visqol_status))
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
                   help="streaming mode: report damaged packets, conceal short gaps (faded), skip long ones, go on")
    d.add_argument("--start", type=float, metavar="SECONDS",
                   help="start playing at this time (decoding starts a short pre-roll earlier)")
    d.set_defaults(fn=cmd_decode)
    i = sub.add_parser("info", help="print a .tqc header, duration, packets and exact bitrate")
    i.add_argument("input")
    i.set_defaults(fn=cmd_info)
    v = sub.add_parser("eval", help="LSD / LSD-L / LSD-H / SNR / ViSQOL over a folder of music")
    v.add_argument("ref_dir")
    v.add_argument("--ckpt", default=str(DEFAULT_CKPT))
    v.add_argument("--compare", action="store_true", help="also Opus, Vorbis, MP3, AAC at the same stereo bitrate")
    v.add_argument("--json", action="store_true")
    v.add_argument("--max-seconds", type=float, default=30.0, help="seconds scored per file")
    v.add_argument("--no-visqol", action="store_true", help="skip ViSQOL (about 20 s of CPU per 10-s mono excerpt)")
    v.add_argument("--visqol-seconds", type=float, default=10.0,
                   help="seconds per file scored by ViSQOL v3 audio mode (default: %(default)s)")
    v.set_defaults(fn=cmd_eval)
    return p


def main(argv=None) -> int:
    from .audio_io import AudioError
    from .bitstream import TQCError
    from .checkpoint import CheckpointError
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except OSError as e:  # one line naming the file, never a traceback
        where = f"{e.filename}: " if e.filename else ""
        print(f"error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except (TQCError, AudioError, CheckpointError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""One command for every backend: ``python -m mobile_export --backend NAME --ckpt tq64.pt …``.

``python -m mobile_export.executorch`` (``.litert``, ``.coreml``, ``.onnx``) is this command
with the backend set, as README.md documents.  Exit status: 0 passed; 1 the artifact was
written but failed a check (its manifest says which); 2 a usage or input error, printed
as one line on stderr.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqcodec.checkpoint import CheckpointError, resolve_checkpoint

from .backends import NAMES, get_backend
from .calibration import MusicCodes
from .errors import ExportError
from .pipeline import ExportJob, ExportResult, load_sources


def export(backend: str, job: ExportJob, music: MusicCodes | None = None) -> ExportResult:
    """The whole export on backend ``backend`` (what the CLI runs, for callers that hold the music)."""
    b = get_backend(backend)
    job.check(b)
    return b.export(job, load_sources(job, music))



def parser(backend: str | None = None) -> argparse.ArgumentParser:
    prog = f"python -m mobile_export.{backend}" if backend else "python -m mobile_export"
    p = argparse.ArgumentParser(prog=prog, description="Export the streaming decoder to a mobile runtime, verify "
                                                       "the written artifact against float, write its manifest")
    if backend is None:
        p.add_argument("--backend", required=True, choices=NAMES)
    p.add_argument("--ckpt", required=True, help="full TQCodec checkpoint (its encoder makes the calibration codes)")
    p.add_argument("--out", default=None, help="output folder (default: build/<backend>)")
    p.add_argument("--precision", default=None, help="int8 (default), fp32, or fp16 (Core ML)")
    p.add_argument("--chunk-frames", type=int, default=16, help="frames per call (K; 64 samples each; default 16)")
    p.add_argument("--channels", type=int, default=2, choices=(1, 2),
                   help="channels one call decodes: 2 (default) decodes stereo in one call (codes [2, n_q, K], "
                        "per-channel state); 1 decodes one channel per call")
    p.add_argument("--calibration", default=None,
                   help="audio file or folder for calibration and verification (default: the shipped clip, 24 s)")
    p.add_argument("--calibration-seconds", type=float, default=None, metavar="S",
                   help="int8: fit activation ranges on the first S seconds of each excerpt (default: all of it); "
                        "verification always uses all of it")
    p.add_argument("--keep-float", default=None, metavar="MODULES",
                   help="comma-separated decoder modules kept in float in int8 builds (default: the output stage, "
                        "e.g. upsamplers.2,res_blocks.2,conv_out for tq64; '' for none)")
    p.add_argument("--sensitivity", type=float, default=None, metavar="S",
                   help="int8: measure each layer's gain in dB if kept float (simulated over the first S seconds "
                        "of each excerpt), print it and record it in the manifest")
    p.add_argument("--threads", type=int, default=1, help="runtime threads for verification and timing (default 1)")
    p.add_argument("--no-mixed-precision", action="store_true",
                   help="ExecuTorch: do not retry a failing int8 build with its most sensitive layers in fp32")
    p.add_argument("--weights-only", action="store_true", help="Core ML int8: quantise weights only (W8A16)")
    return p


def main(argv=None, backend: str | None = None) -> int:
    args = parser(backend).parse_args(argv)
    name = backend or args.backend
    try:
        b = get_backend(name)
        job = ExportJob(
            ckpt=Path(args.ckpt), out_dir=Path(args.out or f"build/{name}"), precision=args.precision or b.precisions[0],
            chunk_frames=args.chunk_frames, channels=args.channels, calibration=args.calibration,
            calibration_seconds=args.calibration_seconds,
            keep_float=None if args.keep_float is None else tuple(k for k in args.keep_float.split(",") if k),
            sensitivity_seconds=args.sensitivity, threads=args.threads, progress=sys.stderr.isatty(),
            mixed_precision=not args.no_mixed_precision, weights_only=args.weights_only)
        job.check(b)
        try:
            job.ckpt = resolve_checkpoint(job.ckpt)
        except CheckpointError as e:
            raise ExportError(str(e)) from None
        result = b.export(job, load_sources(job))
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())

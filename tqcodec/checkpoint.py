"""The generator checkpoint: one ``.pt`` file with config, weights and metadata.

Loading validates everything a user can get wrong (not a checkpoint, unknown config,
missing/unexpected keys, shape mismatches) and says which, in one exception type.
``python -m tqcodec.checkpoint init --config tq64 --out tq64.pt`` writes an untrained one;
``python -m tqcodec.checkpoint show FILE`` prints its metadata.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import os
import sys
from pathlib import Path

import torch

from .atomic import atomic_write
from .configs import CONFIGS, CodecConfig, get_config
from .model import TQCodec

FORMAT = "tqcodec-checkpoint"
FORMAT_VERSION = 1
SHIPPED_DIR = Path(__file__).resolve().parents[1] / "checkpoints"
DEFAULT_CHECKPOINT = SHIPPED_DIR / "tq64-balanced.pt"
# Names users type for the shipped files. tq64.pt is the paper's name for the model; the
# shipped one was trained with the balanced encoder, and its decoder (the part exported to
# phones) is the tq64 decoder, so the alias is announced, never silent.
SHIPPED_ALIASES = {"tq64.pt": DEFAULT_CHECKPOINT.name}


class CheckpointError(Exception):
    """A checkpoint file that cannot be used; the message names the file and the problem."""


def weights_hash(state_dict: dict) -> str:
    """SHA-256 over parameter names, shapes, dtypes and bytes (stable across save/load)."""
    h = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu().contiguous()
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(str(t.dtype).encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def atomic_torch_save(obj, path: str | os.PathLike) -> None:
    """``torch.save`` through the one atomic write, so no half-written file remains and the
    file gets the umask's mode; the folder is created if missing."""
    path = Path(path)
    buf = io.BytesIO()
    torch.save(obj, buf)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, buf.getbuffer())
    except OSError as e:
        raise CheckpointError(f"{path}: cannot write here ({e.strerror or e})") from None


def load_blob(path) -> object:
    """``torch.load(weights_only=True)`` of ``path``, with one safe message when that fails.

    Why not torch's own message: for a file it cannot read it advises retrying with
    ``weights_only=False``, which runs arbitrary code from an untrusted file.
    """
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read ({e.strerror or e})") from None
    except Exception as e:  # torch raises many types for a damaged zip/pickle
        raise CheckpointError(f"{path}: not a TQCodec checkpoint (not a PyTorch weights file that can be "
                              f"loaded safely: {type(e).__name__})") from None


def resolve_checkpoint(path, announce=print) -> Path:
    """``path`` if it exists; else a bare file name is looked up among the shipped checkpoints
    (``tq64.pt`` → ``checkpoints/tq64-balanced.pt``), said through ``announce``. Why: the
    documented commands (``python -m mobile_export.coreml --ckpt tq64.pt``) must work as
    written from a fresh clone. Raises CheckpointError naming what was looked for."""
    path = Path(path)
    if path.is_file():
        return path
    if path.parent == Path("."):
        shipped = SHIPPED_DIR / SHIPPED_ALIASES.get(path.name, path.name)
        if shipped.is_file():
            if announce:
                announce(f"{path}: not in this folder; using the shipped checkpoint {shipped}"
                         + (" (the tq64 decoder, trained with the balanced encoder)" if path.name in SHIPPED_ALIASES
                            else ""))
            return shipped
        known = sorted(p.name for p in SHIPPED_DIR.glob("*.pt")) + sorted(SHIPPED_ALIASES)
        raise CheckpointError(f"{path}: no such checkpoint file here, nor among the shipped ones "
                              f"({', '.join(known) or 'none'})")
    raise CheckpointError(f"{path}: no such checkpoint file")


def save_checkpoint(path, model: TQCodec, step: int = 0, extra: dict | None = None, half: bool = False) -> str:
    """Save the generator; ``half`` stores floating weights as fp16 (the shipped form).
    Returns the weights hash recorded in the file."""
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu().clone()
             for k, v in model.state_dict().items()}
    digest = weights_hash(state)
    atomic_torch_save({
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": model.config.to_dict(),
        "state_dict": state,
        "step": int(step),
        "weights_sha256": digest,
        "dtype": "float16" if half else "float32",
        "extra": extra or {},
    }, path)
    return digest


def read_checkpoint(path) -> dict:
    """Load and check the container (not the weights' fit to a model)."""
    blob = load_blob(path)
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a TQCodec checkpoint (expected format {FORMAT!r})")
    if blob.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {blob.get('format_version')!r}, "
                              f"this tool reads version {FORMAT_VERSION}")
    for key in ("config", "state_dict"):
        if key not in blob:
            raise CheckpointError(f"{path}: checkpoint has no {key!r} entry")
    return blob


def config_from_checkpoint(blob: dict, path) -> CodecConfig:
    raw = blob["config"]
    try:
        cfg = CodecConfig.from_dict(raw)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: invalid config in checkpoint ({e})") from None
    if cfg.name not in CONFIGS:
        raise CheckpointError(f"{path}: unknown config {cfg.name!r}; known: {', '.join(CONFIGS)}")
    return cfg


def load_checkpoint(path, map_location: str = "cpu") -> tuple[TQCodec, dict]:
    """Rebuild the model (fp32, eval mode) and return it with the file's metadata."""
    blob = read_checkpoint(path)
    cfg = config_from_checkpoint(blob, path)
    model = TQCodec(cfg)
    expected = model.state_dict()
    state = blob["state_dict"]
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing keys {missing[:5]}{' …' if len(missing) > 5 else ''}")
        if unexpected:
            parts.append(f"unexpected keys {unexpected[:5]}{' …' if len(unexpected) > 5 else ''}")
        raise CheckpointError(f"{path}: weights do not match config {cfg.name!r}: " + "; ".join(parts))
    bad = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(v.shape)}"
           for k, v in expected.items() if tuple(state[k].shape) != tuple(v.shape)]
    if bad:
        raise CheckpointError(f"{path}: shape mismatch for config {cfg.name!r}: " + "; ".join(bad[:5]))
    recorded = blob.get("weights_sha256")
    actual = weights_hash(state)
    if recorded is not None and recorded != actual:
        raise CheckpointError(f"{path}: weights hash mismatch (file damaged or edited)")
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    model.eval().to(map_location)
    meta = {k: blob.get(k) for k in ("step", "dtype", "extra", "format_version")}
    # A file written without the hash (older tools, hand-made) gets it computed, so that
    # streams it encodes carry a fingerprint and decoding checks it, like any other.
    meta["weights_sha256"] = actual
    meta["config"] = cfg.name
    return model, meta


def decoder_fingerprint(meta: dict) -> bytes:
    """16 bytes naming the weights that made a stream (stored in ``.tqc`` headers)."""
    return bytes.fromhex(meta["weights_sha256"])[:16]


def _main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tqcodec.checkpoint", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    init = sub.add_parser("init", help="write a fresh, untrained checkpoint")
    init.add_argument("--config", required=True, help=f"one of: {', '.join(CONFIGS)}")
    init.add_argument("--out", required=True)
    init.add_argument("--seed", type=int, default=0)
    init.add_argument("--half", action="store_true", help="store fp16 weights")
    show = sub.add_parser("show", help="print a checkpoint's metadata")
    show.add_argument("path")
    args = p.parse_args(argv)
    try:
        if args.cmd == "init":
            cfg = get_config(args.config)
            torch.manual_seed(args.seed)
            model = TQCodec(cfg)
            digest = save_checkpoint(args.out, model, step=0, extra={"trained": False, "seed": args.seed},
                                     half=args.half)
            n = sum(p.numel() for p in model.parameters())
            print(f"wrote {args.out}: config {cfg.name}, {n / 1e6:.2f} M parameters, untrained, sha256 {digest[:16]}")
        else:
            model, meta = load_checkpoint(args.path)
            n = sum(p.numel() for p in model.parameters())
            for k, v in meta.items():
                print(f"{k:16s} {v}")
            print(f"{'parameters':16s} {n / 1e6:.2f} M")
    except (CheckpointError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(_main())

"""Checkpoint → deployable decoder: no encoder, no training state, weight norm folded,
each quantiser stage's effective codebook materialised as a plain [512, d] table.

``python -m mobile_export.prune --ckpt tq64.pt --out tq64-decoder.pt`` writes it and
prints its size; ``load_streaming_decoder`` accepts either file kind.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from .checkpoint import CheckpointError, atomic_torch_save, load_checkpoint, read_checkpoint, resolve_checkpoint
from .configs import CodecConfig
from .modules.conv import remove_weight_norm
from .modules.seanet import SEANetDecoder

from .streaming import StreamingDecoder

FORMAT = "tqcodec-decoder"
FORMAT_VERSION = 1


@dataclass
class PrunedDecoder:
    config: CodecConfig
    tables: torch.Tensor  # [n_q, K, d]
    decoder_state: dict  # plain (folded) SEANetDecoder weights
    source_sha256: str
    step: int

    @property
    def parameter_count(self) -> int:
        return self.tables.numel() + sum(v.numel() for v in self.decoder_state.values())

    def build_decoder(self) -> SEANetDecoder:
        dec = SEANetDecoder(self.config.decoder, self.config.latent_dim, self.config.ratios)
        remove_weight_norm(dec)
        dec.load_state_dict(self.decoder_state)
        return dec.eval()

    def streaming(self, chunk_frames: int = 16, channels: int = 1) -> StreamingDecoder:
        return StreamingDecoder(self.config, self.tables, self.build_decoder(), chunk_frames, channels).eval()


def prune(model, meta: dict) -> PrunedDecoder:
    """Take what decoding needs out of a loaded ``TQCodec``."""
    cfg = model.config
    if cfg.subband:
        raise CheckpointError(f"config {cfg.name!r}: pruning to a streaming decoder supports full-band configs only")
    dec = SEANetDecoder(cfg.decoder, cfg.latent_dim, cfg.ratios)
    dec.load_state_dict(model.decoder.state_dict())
    remove_weight_norm(dec)
    with torch.no_grad():
        tables = model.quantizer.lookup_tables().float().clone()
    state = {k: v.detach().clone() for k, v in dec.state_dict().items()}
    return PrunedDecoder(cfg, tables, state, meta.get("weights_sha256") or "", int(meta.get("step") or 0))


def save_pruned(path, pruned: PrunedDecoder) -> None:
    atomic_torch_save({
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "config": pruned.config.to_dict(), "tables": pruned.tables, "decoder": pruned.decoder_state,
        "source_checkpoint_sha256": pruned.source_sha256, "step": pruned.step,
    }, path)


def load_pruned(path) -> PrunedDecoder:
    """Read a pruned decoder file, or prune a full checkpoint on the fly."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(e).__name__}: {e})") from None
    if isinstance(blob, dict) and blob.get("format") == FORMAT:
        if blob.get("format_version") != FORMAT_VERSION:
            raise CheckpointError(f"{path}: decoder format version {blob.get('format_version')!r}, "
                                  f"this tool reads version {FORMAT_VERSION}")
        cfg = CodecConfig.from_dict(blob["config"])
        pruned = PrunedDecoder(cfg, blob["tables"].float(), blob["decoder"], blob["source_checkpoint_sha256"],
                               blob.get("step", 0))
        try:
            pruned.build_decoder()
        except RuntimeError as e:
            raise CheckpointError(f"{path}: decoder weights do not fit config {cfg.name!r} ({e})") from None
        return pruned
    read_checkpoint(path)  # raises the precise error for anything else
    model, meta = load_checkpoint(path)
    return prune(model, meta)


def load_streaming_decoder(path, chunk_frames: int = 16, channels: int = 1) -> StreamingDecoder:
    return load_pruned(path).streaming(chunk_frames, channels)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m mobile_export.prune", description=__doc__.split("\n")[0])
    p.add_argument("--ckpt", required=True, help="TQCodec checkpoint")
    p.add_argument("--out", required=True, help="decoder-only file to write")
    args = p.parse_args(argv)
    try:
        pruned = load_pruned(resolve_checkpoint(args.ckpt))
        save_pruned(args.out, pruned)
    except CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    size = Path(args.out).stat().st_size
    n = pruned.parameter_count
    print(f"wrote {args.out}: config {pruned.config.name}, {n:,} parameters "
          f"({n / 1e6:.2f} M; {pruned.tables.numel():,} in {pruned.tables.shape[0]} codebook tables), "
          f"{size / 1e6:.2f} MB fp32, {n / 1e6:.2f} MB at int8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

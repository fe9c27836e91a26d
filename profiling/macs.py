"""Multiply-accumulates per second of audio, counted with fvcore.

fvcore traces the model with TorchScript and counts ``aten::conv*`` (transposed convs
included, counted over input positions, which is exact), ``aten::linear``/``matmul``;
it has no rule for ``aten::lstm``, so ``lstm_macs`` supplies one.  Elementwise ops,
activations and biases are not counted (reports say so).  One MAC = one fvcore "flop".

``python -m profiling.macs --config tq64`` prints a per-layer table and the budget
verdict; ``--json`` prints one JSON object; the exit code is non-zero when the decoder
is over the hard budget.

``python -m profiling.macs --artifact FILE [--artifact FILE2 ...] [--json]`` counts the
MACs of exported artifacts (``.pte``, ``.tflite``, ``.mlpackage``) from what was
serialised and checks each against this module's fvcore count of the same config and
the budget; see ``profiling.artifact_macs``.  Exit 1 when an artifact is over the hard
bound or disagrees with the reference by more than 2 % without a structural
explanation, 2 on a missing, unknown or unreadable file.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from tqcodec.checkpoint import CheckpointError, load_checkpoint, resolve_checkpoint
from tqcodec.configs import get_config
from tqcodec.macs import count_macs, deployable_copy, lstm_macs  # noqa: F401 (the one MAC count; re-exported)
from tqcodec.model import TQCodec
from tqcodec.receptive_field import decoder_receptive_field

from . import budget
from .artifact_macs import main as artifact_main
from .budget import BUDGET_HARD_GMACS, BUDGET_TARGET_GMACS  # noqa: F401 (re-exported for the report)


@dataclass
class MacReport:
    config: str
    seconds: float
    decoder_total: int
    encoder_total: int
    decoder_layers: "OrderedDict[str, int]"
    encoder_layers: "OrderedDict[str, int]"
    receptive_field: int

    @property
    def decoder_gmacs_per_s(self) -> float:
        return self.decoder_total / self.seconds / 1e9

    @property
    def encoder_gmacs_per_s(self) -> float:
        return self.encoder_total / self.seconds / 1e9

    def to_json(self) -> dict:
        per_s = lambda d: {k: v / self.seconds / 1e9 for k, v in d.items()}  # noqa: E731
        return {
            "config": self.config,
            "decoder_gmacs_per_s": self.decoder_gmacs_per_s,
            "encoder_gmacs_per_s": self.encoder_gmacs_per_s,
            "decoder_receptive_field_samples": self.receptive_field,
            "receptive_field_method": "output samples at 44.1 kHz influenced by one code frame, "
                                      "convolutional path only (LSTM excluded)",
            "budget_gmacs_per_s": budget.BUDGET_TARGET_GMACS,
            "hard_budget_gmacs_per_s": budget.BUDGET_HARD_GMACS,
            "within_budget": self.decoder_gmacs_per_s <= budget.BUDGET_HARD_GMACS,
            "within_target_3pct": abs(self.decoder_gmacs_per_s / budget.BUDGET_TARGET_GMACS - 1) <= 0.03,
            "decoder_layers_gmacs_per_s": per_s(self.decoder_layers),
            "encoder_layers_gmacs_per_s": per_s(self.encoder_layers),
            "counted": "conv, transposed conv, linear/matmul, LSTM gates; not elementwise ops or biases",
        }


def _top_layers(by_module: dict[str, int], prefix: str) -> "OrderedDict[str, int]":
    """Children one level below the stack's ``model`` Sequential (or the subband parts)."""
    out: OrderedDict[str, int] = OrderedDict()
    depth = prefix.count(".") + 2 if prefix else 1
    for name, v in by_module.items():
        if name.startswith(prefix) and name.count(".") == depth - 1 and v:
            out[name] = v
    return out


def analyse_model(model, seconds: float = 1.0) -> MacReport:
    """Count a ``TQCodec``'s encoder and decoder over ``seconds`` of audio (frame-exact)."""
    cfg = model.config
    frames = round(seconds * cfg.frame_rate)
    exact_seconds = frames * cfg.hop_length / cfg.sample_rate
    m = deployable_copy(model)
    z = torch.zeros(1, cfg.quantized_dim, frames)
    audio = torch.zeros(1, 1, frames * cfg.hop_length)
    dec_total, dec_by = count_macs(m.decoder, (z,))
    enc_total, enc_by = count_macs(m.encoder, (audio,))
    if cfg.subband:
        dec_layers = OrderedDict((k, v) for k, v in dec_by.items() if k.count(".") == 2 and v)
        dec_layers["pqmf synthesis"] = dec_total - sum(dec_layers.values())
        enc_layers = OrderedDict((k, v) for k, v in enc_by.items() if k.count(".") == 2 and v)
        enc_layers["pqmf analysis"] = enc_total - sum(enc_layers.values())
        rf = decoder_receptive_field(m.decoder.core) * cfg.pqmf_bands + m.delay
    else:
        dec_layers = _top_layers(dec_by, "model")
        enc_layers = _top_layers(enc_by, "model")
        rf = decoder_receptive_field(m.decoder)
    return MacReport(cfg.name, exact_seconds, dec_total, enc_total, dec_layers, enc_layers, rf)


def describe_layer(model: nn.Module, name: str) -> str:
    """What a counted layer is (kind, channels, kernel), for tables a reader can follow."""
    try:
        mod = model.get_submodule(name)
    except AttributeError:
        return ""
    if hasattr(mod, "conv"):
        c = mod.conv
        return f"Conv1d {c.in_channels}→{c.out_channels} k{c.kernel_size[0]} s{c.stride[0]} d{c.dilation[0]}"
    if hasattr(mod, "convtr"):
        c = mod.convtr
        return f"ConvT {c.in_channels}→{c.out_channels} k{c.kernel_size[0]} s{c.stride[0]}"
    if hasattr(mod, "lstm"):
        return f"LSTM {mod.lstm.input_size}×{mod.lstm.num_layers} layers"
    return type(mod).__name__


def format_table(report: MacReport, model=None) -> str:
    lines = [f"config {report.config}: MACs per second of audio (fvcore; LSTM counted; "
             f"elementwise ops and biases not counted)"]
    for title, layers, total, sub in (("decoder", report.decoder_layers, report.decoder_total, "decoder"),
                                      ("encoder", report.encoder_layers, report.encoder_total, "encoder")):
        lines.append(f"\n{title:<28s} {'layer':<36s} {'GMAC/s':>8s} {'share':>7s}")
        for name, v in layers.items():
            desc = describe_layer(getattr(model, sub), name) if model is not None and "pqmf" not in name else ""
            lines.append(f"  {name:<26s} {desc:<36s} {v / report.seconds / 1e9:8.3f} {100 * v / total:6.1f}%")
        lines.append(f"  {'total':<26s} {'':<36s} {total / report.seconds / 1e9:8.3f}")
    g = report.decoder_gmacs_per_s
    verdict = "WITHIN" if g <= budget.BUDGET_HARD_GMACS else "OVER"
    lines.append(f"\ndecoder {g:.3f} GMAC/s: {verdict} the {budget.BUDGET_HARD_GMACS:g} GMAC/s hard budget; "
                 f"{100 * (g / budget.BUDGET_TARGET_GMACS - 1):+.1f}% vs the {budget.BUDGET_TARGET_GMACS} target")
    lines.append(f"decoder receptive field: {report.receptive_field} samples "
                 f"({1000 * report.receptive_field / 44100:.1f} ms) — output samples one code frame "
                 f"influences, convolutions only (LSTM excluded); the paper quotes 2410 without a method")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m profiling.macs", description=__doc__.split("\n")[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", help="named config (untrained weights: MACs do not depend on them)")
    src.add_argument("--ckpt", help="a TQCodec checkpoint")
    src.add_argument("--artifact", action="append", metavar="FILE",
                     help="an exported decoder (.pte, .tflite, .mlpackage), repeatable: MACs counted from the "
                          "file, checked against the fvcore count of its config (manifest) and the budget")
    p.add_argument("--seconds", type=float, default=1.0, help="audio length counted (default 1 s)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    if args.artifact:
        return artifact_main(args.artifact, as_json=args.json)
    try:
        if args.config:
            model = TQCodec(get_config(args.config))
        else:
            model, _ = load_checkpoint(resolve_checkpoint(args.ckpt))
    except (CheckpointError, ValueError, ImportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    report = analyse_model(model, args.seconds)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(format_table(report, deployable_copy(model)))
    return 0 if report.decoder_gmacs_per_s <= budget.BUDGET_HARD_GMACS else 1


if __name__ == "__main__":
    sys.exit(main())

"""Per-layer int8 sensitivity, with one meaning on every backend: the dB a layer buys back when it
alone is kept in float, on top of the baseline float layers.

Each candidate costs one calibration and one simulated run (the backend's q/dq graph in
PyTorch, or its runtime), over the first ``seconds`` of each excerpt — a cheap proxy; the
artifact itself is verified in full.  Used to print a table (``--sensitivity S``) and, on
ExecuTorch, to choose which layers a failing int8 build keeps in float.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Callable, Iterable

from torch import nn
from tqdm import tqdm

from tqcodec.macs import chunk_macs
from tqcodec.streaming import in_modules

Simulate = Callable[[tuple[str, ...]], float]  # layers kept float → simulated SNR vs float (dB)


@dataclass
class LayerGain:
    """What keeping one layer in float buys: the SNR then, the gain over the baseline, its MAC share."""

    module: str
    snr_db_if_float: float
    gain_db: float
    mac_share: float

    def to_dict(self) -> dict:
        return {"module": self.module, "snr_db_if_float": round(self.snr_db_if_float, 2),
                "gain_db": round(self.gain_db, 2), "mac_share": round(self.mac_share, 5)}


def layer_gains(simulate: Simulate, candidates: dict[str, float], baseline_keep: Iterable[str] = (),
                progress: bool = True) -> tuple[float, list[LayerGain]]:
    """(baseline SNR, gains largest first) for ``candidates`` (module path → MAC share)."""
    base_keep = tuple(baseline_keep)
    base = simulate(base_keep)
    items = list(candidates.items())
    if progress:
        items = tqdm(items, desc="per-layer sensitivity", unit="layer", leave=False, disable=not sys.stderr.isatty())
    gains = []
    for name, share in items:
        snr = simulate(base_keep + (name,))
        gains.append(LayerGain(name, snr, snr - base, share))
    gains.sort(key=lambda g: -g.gain_db)
    return base, gains


def conv_linear_candidates(decoder, keep_float) -> dict[str, float]:
    """The decoder's conv/linear modules outside ``keep_float`` → their share of one chunk's MACs."""
    total, by_module = chunk_macs(decoder)
    return {n: by_module.get(n, 0) / (total or 1) for n, m in decoder.named_modules()
            if isinstance(m, (nn.Conv1d, nn.Linear)) and not in_modules(n, keep_float)}


def sensitivity_record(base: float, gains: list[LayerGain], seconds: float, baseline_keep, method: str) -> dict:
    """The manifest's ``quantization.sensitivity``: the same keys on every backend."""
    return {"seconds_per_excerpt": seconds, "baseline_keep_float": list(baseline_keep),
            "baseline_snr_db": round(base, 2), "layers": [g.to_dict() for g in gains],
            "meaning": "gain_db: dB of SNR vs float bought back by keeping this layer alone in float, on top of "
                       "baseline_keep_float", "method": method}

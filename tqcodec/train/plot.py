"""Loss curves from a run's ``log.csv`` → ``loss.png`` (matplotlib, Agg: no display needed).

``python -m tqcodec.train.plot RUN_DIR`` redraws ``RUN_DIR/loss.png``; the trainer also
calls ``plot_log`` after every validation.
"""
from __future__ import annotations

import csv
import math
import os
import sys
from pathlib import Path

import numpy as np


def _read(csv_path: Path) -> dict[str, np.ndarray]:
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    cols = {}
    for key in (rows[0].keys() if rows else ()):
        cols[key] = np.array([float(r[key]) if r[key] not in ("", None) else math.nan for r in rows])
    return cols


def _smooth(y: np.ndarray) -> np.ndarray:
    """Moving average over ~1 % of the run (NaN-aware), so long runs stay readable."""
    w = max(1, len(y) // 100)
    if w == 1:
        return y
    valid = ~np.isnan(y)
    num = np.convolve(np.where(valid, y, 0.0), np.ones(w), mode="same")
    den = np.convolve(valid.astype(float), np.ones(w), mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den


def plot_log(csv_path, png_path) -> Path:
    """Three panels: reconstruction losses, adversarial losses, validation metrics."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    csv_path, png_path = Path(csv_path), Path(png_path)
    cols = _read(csv_path)
    if not cols or len(cols.get("step", ())) == 0:
        raise ValueError(f"{csv_path}: no logged steps to plot")
    step = cols["step"]
    fig, axes = plt.subplots(3, 1, figsize=(10, 11), sharex=True)
    for ax, keys, title in ((axes[0], ("loss_g", "mel", "waveform", "codebook", "commitment"), "generator"),
                            (axes[1], ("adv_g", "feature", "loss_d"), "adversarial")):
        drawn = 0
        for k in keys:
            y = cols.get(k)
            if y is not None and not np.all(np.isnan(y)):
                ax.plot(step, _smooth(y), label=k, lw=1)
                drawn += 1
        ax.set_title(title)
        ax.grid(alpha=0.3)
        if drawn:
            ax.legend(loc="upper right", fontsize=8)
        else:  # e.g. a run with --adv-start beyond its last step: say so instead of an empty frame
            ax.text(0.5, 0.5, "no adversarial steps yet (discriminators start at --adv-start)",
                    transform=ax.transAxes, ha="center", va="center", color="0.4")
    axes[0].set_yscale("log")
    ax = axes[2]
    val = ~np.isnan(cols.get("val_lsd", np.full_like(step, np.nan)))
    if val.any():
        for k, label in (("val_lsd", "LSD"), ("val_lsd_l", "LSD-L (<11025 Hz)"), ("val_lsd_h", "LSD-H (≥11025 Hz)")):
            ax.plot(step[val], cols[k][val], marker=".", label=label)
        ax.set_ylabel("LSD")
        ax.legend(loc="upper left", fontsize=8)
        twin = ax.twinx()
        twin.plot(step[val], cols["val_snr"][val], color="k", ls="--", marker=".", label="SNR (dB)")
        twin.set_ylabel("SNR (dB)")
        twin.legend(loc="upper right", fontsize=8)
    ax.set_title("validation (held-out tracks)")
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    tmp = png_path.with_name(f".{png_path.stem}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, png_path)
    return png_path


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tqcodec.train.plot RUN_DIR", file=sys.stderr)
        return 2
    run = Path(args[0])
    try:
        print(plot_log(run / "log.csv", run / "loss.png"))
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

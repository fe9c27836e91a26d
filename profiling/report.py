"""One deploy report: budget, per-layer MACs, every artifact's size/MACs/quality/speed, spectrograms.

``python -m profiling.report --ckpt tq64.pt --artifacts build --out build/report``

Writes ``report.html`` (self-contained: plots embedded, opens from disk in any browser) and
``report.md`` (plots as PNG files beside it).  Everything in it is measured here, now, from
the checkpoint and the artifact files: the clip is encoded with the checkpoint, decoded by
the float PyTorch streaming decoder and by every artifact (Core ML through the NumPy MIL
interpreter on Linux, named as such), and scored against the original.  A figure that could
not be measured is shown as such with the reason, never filled in.
"""
from __future__ import annotations

import argparse
import base64
import html
import io
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from mobile_export.artifact import manifest_path
from mobile_export.atomic_folder import atomic_folder
from mobile_export.backends import backend_name_for_suffix
from mobile_export.calibration import DEFAULT_CLIP
from mobile_export.host import describe_machine
from mobile_export.manifest import artifact_size, read_manifest
from mobile_export.runners import load_runner
from tqcodec.audio_io import AudioError, load_audio
from tqcodec.checkpoint import CheckpointError, load_checkpoint, resolve_checkpoint
from tqcodec.metrics import compute_metrics, snr_db
from tqcodec.prune import prune

from .artifact_macs import ArtifactError, analyse_artifact, to_json
from .latency import find_artifacts
from .macs import BUDGET_HARD_GMACS, BUDGET_TARGET_GMACS, analyse_model, describe_layer



@dataclass
class Decoded:
    """One decoder's output for the clip and how it scores."""

    name: str
    audio: np.ndarray | None  # [C, T]
    metrics: dict | None = None  # LSD, LSD-L, LSD-H, SNR vs the original
    snr_vs_float_db: float | None = None
    lsd_delta: float | None = None
    seconds: float | None = None  # wall time to decode the clip
    runner: str = ""
    error: str = ""


@dataclass
class ArtifactRow:
    path: Path
    backend: str
    precision: str
    chunk_frames: int
    bytes: int
    manifest: dict
    channels: int = 1
    macs: dict = field(default_factory=dict)  # from the artifact file itself
    latency: dict = field(default_factory=dict)
    decoded: Decoded | None = None


# ---------------------------------------------------------------------------- measurements
def score(name: str, audio: np.ndarray, original: np.ndarray, float_audio: np.ndarray | None,
          seconds: float, runner: str) -> Decoded:
    m = compute_metrics(original, audio)
    d = Decoded(name, audio, m.to_dict(), seconds=seconds, runner=runner)
    if float_audio is not None:
        n = min(float_audio.shape[-1], audio.shape[-1])
        d.snr_vs_float_db = snr_db(float_audio[..., :n], audio[..., :n])
        d.lsd_delta = m.lsd - compute_metrics(original, float_audio).lsd
    return d


def backend_of(path: Path) -> str:
    return backend_name_for_suffix(path) or "?"


def artifact_macs(path: Path) -> dict:
    """MACs counted from the artifact file itself (``profiling.artifact_macs``); an unreadable
    artifact is reported with its reason rather than sinking the report."""
    try:
        d = to_json(analyse_artifact(path))
    except (ArtifactError, OSError, ValueError, KeyError) as e:
        return {"error": f"{type(e).__name__}: {e}"}
    ref = d.get("reference") or {}
    return {**d, "reference_gmacs_per_s": ref.get("gmacs_per_s")}


def decode_clip(ckpt: Path, clip: Path, seconds: float, chunk_frames: int = 16):
    """(original [C,T], codes [C,n_q,F], float decode [C,T], wall seconds) for the clip."""
    model, meta = load_checkpoint(ckpt)
    audio, _ = load_audio(clip)
    hop = model.config.hop_length
    n = int(seconds * model.config.sample_rate) // hop * hop
    audio = audio[:, :n]
    with torch.no_grad():
        codes = model.encode_channels(torch.from_numpy(audio))
    dec = prune(model, meta).streaming(chunk_frames)
    t0 = time.perf_counter()
    float_audio = np.stack([dec.decode(c).numpy() for c in codes])[:, :n]
    return audio, codes.to(torch.int32).numpy(), float_audio, time.perf_counter() - t0, model, meta


def decode_with_artifact(path: Path, codes: np.ndarray, n: int, progress: bool = True) -> tuple[np.ndarray, float, str]:
    runner = load_runner(path)
    kind = type(runner.runner).__name__
    t0 = time.perf_counter()
    out = runner.decode_channels(codes, progress=f"decode {path.name}" if progress else None)[:, :n]
    return out, time.perf_counter() - t0, kind


# ---------------------------------------------------------------------------- plots
def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def plot_layer_macs(layers: dict[str, float], title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(layers)
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(names) + 1.2))
    ax.barh(range(len(names)), [layers[k] for k in names], color="#3b6ea8")
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("GMAC per second of audio")
    ax.set_title(title, fontsize=10)
    for i, k in enumerate(names):
        ax.text(layers[k], i, f" {layers[k]:.3f}", va="center", fontsize=7)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def log_spectrogram(x: np.ndarray, n_fft: int = 2048, hop: int = 512) -> np.ndarray:
    """dB magnitude [freq, frames], 0 dB = full-scale sine."""
    t = torch.from_numpy(np.asarray(x, dtype=np.float32))
    spec = torch.stft(t, n_fft, hop, window=torch.hann_window(n_fft), return_complex=True).abs()
    return (20 * torch.log10(spec / (n_fft / 4) + 1e-7)).numpy()


def plot_spectrograms(named: list[tuple[str, np.ndarray]], sample_rate: int = 44_100) -> bytes:
    """One panel per signal (first channel), 0–22 kHz, shared colour scale (the paper's Figure 2 style)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(named)
    fig, axes = plt.subplots(n, 1, figsize=(10, 2.1 * n), sharex=True, squeeze=False)
    im = None
    for ax, (name, x) in zip(axes[:, 0], named):
        s = log_spectrogram(x[0])
        dur = x.shape[-1] / sample_rate
        im = ax.imshow(s, origin="lower", aspect="auto", cmap="magma", vmin=-100, vmax=0,
                       extent=(0, dur, 0, sample_rate / 2000))
        ax.set_ylabel("kHz")
        ax.set_title(name, fontsize=9, loc="left")
    axes[-1, 0].set_xlabel("seconds")
    fig.colorbar(im, ax=axes[:, 0].tolist(), label="dB", shrink=0.8)
    return _png(fig)


def plot_quality(rows: list[Decoded]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if r.metrics]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 0.35 * len(ok) + 1.5))
    names = [r.name for r in ok]
    y = np.arange(len(ok))
    for i, (key, label) in enumerate((("lsd", "LSD"), ("lsd_l", "LSD-L"), ("lsd_h", "LSD-H"))):
        a.barh(y + (i - 1) * 0.27, [r.metrics[key] for r in ok], height=0.27, label=label)
    a.set_yticks(y, names, fontsize=8)
    a.invert_yaxis()
    a.legend(fontsize=7)
    a.set_title("log-spectral distance vs original (lower is better)", fontsize=9)
    b.barh(y, [r.snr_vs_float_db if r.snr_vs_float_db is not None else 0 for r in ok], color="#6a9f4b")
    b.set_yticks(y, [""] * len(ok))
    b.invert_yaxis()
    b.set_title("SNR vs the float decoder, dB (higher is closer)", fontsize=9)
    return _png(fig)


# ---------------------------------------------------------------------------- writing
def _fmt(v, spec: str = ".3f", missing: str = "—") -> str:
    return missing if v is None else format(v, spec)


def _table(head: list[str], rows: list[list[str]]) -> tuple[str, str]:
    """(markdown, html) renderings of one table."""
    md = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    md += ["| " + " | ".join(r) + " |" for r in rows]
    h = ["<table><thead><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in head) + "</tr></thead><tbody>"]
    h += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows]
    h.append("</tbody></table>")
    return "\n".join(md), "\n".join(h)


class Document:
    """Builds the markdown and the HTML side by side from the same sections."""

    def __init__(self, title: str):
        self.title = title
        self.md: list[str] = [f"# {title}", ""]
        self.html: list[str] = [f"<h1>{html.escape(title)}</h1>"]
        self.images: dict[str, bytes] = {}
        self.summary: dict = {}  # machine-readable key figures, written as summary.json

    def heading(self, text: str) -> None:
        self.md += [f"## {text}", ""]
        self.html.append(f"<h2>{html.escape(text)}</h2>")

    def para(self, text: str) -> None:
        self.md += [text, ""]
        self.html.append(f"<p>{html.escape(text)}</p>")

    def table(self, head: list[str], rows: list[list[str]]) -> None:
        md, h = _table(head, rows)
        self.md += [md, ""]
        self.html.append(h)

    def image(self, name: str, png: bytes, alt: str) -> None:
        self.images[name] = png
        self.md += [f"![{alt}]({name})", ""]
        b64 = base64.b64encode(png).decode()
        self.html.append(f'<figure><img class="plot" alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'
                         f"<figcaption>{html.escape(alt)}</figcaption></figure>")

    def render_html(self) -> str:
        style = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
                 "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}"
                 "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f0f0f0}"
                 "td:first-child,th:first-child{text-align:left}img.plot{max-width:100%}"
                 "figcaption{font-size:0.8em;color:#555}.fail{color:#b00}")
        # The script records how many plots actually decoded: the browser test reads it.
        script = ("<script>window.addEventListener('load',function(){var i=document.querySelectorAll('img.plot'),"
                  "n=0;i.forEach(function(e){if(e.complete&&e.naturalWidth>0)n++});"
                  "document.body.setAttribute('data-plots-rendered',n+'/'+i.length);});</script>")
        return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>"
                f"<style>{style}</style>{script}</head><body>" + "\n".join(self.html) + "</body></html>\n")


def write_outputs(doc: Document, out: Path) -> tuple[Path, Path]:
    """Build the folder beside ``out`` and swap it in: never a half-written report."""
    out = Path(out)
    with atomic_folder(out) as tmp:
        tmp.mkdir()
        for name, png in doc.images.items():
            (tmp / name).write_bytes(png)
        (tmp / "report.md").write_text("\n".join(doc.md) + "\n")
        (tmp / "report.html").write_text(doc.render_html())
        (tmp / "summary.json").write_text(json.dumps(doc.summary, indent=2) + "\n")
    return out / "report.html", out / "report.md"


# ---------------------------------------------------------------------------- the report
def build_report(ckpt: Path, artifacts_dir: Path | None, clip: Path, seconds: float,
                 latency_json: Path | None = None, progress: bool = True) -> Document:
    log = (lambda msg: tqdm.write(msg)) if progress else (lambda msg: None)  # noqa: E731
    model, meta = load_checkpoint(ckpt)
    cfg = model.config
    trained = bool((meta.get("step") or 0) > 0)
    doc = Document(f"TQCodec deploy report: {cfg.name}")
    doc.para(f"Generated {time.strftime('%Y-%m-%d %H:%M')} from {ckpt.name} "
             f"(weights sha256 {str(meta.get('weights_sha256'))[:16]}, step {meta.get('step')}). "
             + ("" if trained else "UNTRAINED checkpoint: every quality figure below describes untrained weights."))

    # Configuration
    doc.heading("Configuration")
    d = cfg.decoder
    doc.table(["setting", "value"], [
        ["config", cfg.name], ["sample rate / hop / frame rate", f"{cfg.sample_rate} Hz / {cfg.hop_length} / "
                                                                 f"{cfg.frame_rate:.2f} frames/s"],
        ["codebooks × size", f"{cfg.n_codebooks} × {cfg.codebook_size} "
                             f"({cfg.n_codebooks * 9 * cfg.frame_rate / 1000:.1f} kbps per channel)"],
        ["decoder", f"n_filters {d.n_filters}, residual layers {d.n_residual_layers}, LSTM layers {d.lstm_layers}, "
                    f"ratios {list(cfg.ratios)}"],
        ["quantizer", cfg.quantizer], ["trained", f"{trained} (step {meta.get('step')})"],
    ])

    # MACs and budget
    log("counting MACs (fvcore)")
    rep = analyse_model(model)
    layers = {k: v / rep.seconds / 1e9 for k, v in rep.decoder_layers.items()}
    g = rep.decoder_gmacs_per_s
    doc.heading("MAC budget")
    verdict = "WITHIN" if g <= BUDGET_HARD_GMACS else "OVER"
    doc.para(f"Decoder: {g:.3f} GMAC per second of audio (fvcore, LSTM included): {verdict} the "
             f"{BUDGET_HARD_GMACS:g} GMAC/s bound, {100 * (g / BUDGET_TARGET_GMACS - 1):+.1f} % vs the "
             f"{BUDGET_TARGET_GMACS} GMAC/s target. Encoder (runs off-device): {rep.encoder_gmacs_per_s:.2f} GMAC/s.")
    what = {k: describe_layer(model.decoder, k) for k in layers}
    doc.table(["decoder layer", "what", "GMAC/s", "share"],
              [[k, what[k], f"{v:.4f}", f"{100 * v / g:.1f} %"] for k, v in layers.items()]
              + [["total", "", f"{g:.4f}", ""]])
    labelled = {f"{k} {what[k]}".strip(): v for k, v in layers.items()}
    doc.image("layer_macs.png", plot_layer_macs(labelled, f"{cfg.name} decoder: GMAC per second of audio per layer"),
              "Per-layer decoder MACs")

    # Clip through every decoder
    log(f"encoding {clip.name} and decoding it with the float decoder")
    original, codes, float_audio, float_s, _, _ = decode_clip(ckpt, clip, seconds)
    n = original.shape[-1]
    rows: list[Decoded] = [score("float PyTorch (streaming, K=16)", float_audio, original, float_audio, float_s,
                                 "torch")]
    arts: list[ArtifactRow] = []
    latency = {}
    if latency_json and Path(latency_json).is_file():
        for r in json.loads(Path(latency_json).read_text()).get("results", []):
            if r.get("status") == "measured" and r.get("threads") == 1:
                latency[r["label"]] = r
    paths = find_artifacts(artifacts_dir) if artifacts_dir else []
    paths = [p for p in paths if "sweep" not in p.parts]
    for path in tqdm(paths, desc="artifacts", unit="artifact", disable=not progress):
        m = read_manifest(manifest_path(path))
        row = ArtifactRow(path, backend_of(path), m.get("precision", "?"), int(m["chunk_frames"]),
                          artifact_size(path), m, int(m.get("channels", 1)))
        row.macs = artifact_macs(path)
        row.latency = latency.get(path.name, {})
        name = f"{row.backend} {row.precision} ({path.name})"
        try:
            audio, secs, kind = decode_with_artifact(path, codes, n, progress)
            runner = "NumPy MIL interpreter (not Core ML)" if kind == "MILChunkRunner" else kind
            row.decoded = score(name, audio, original, float_audio, secs, runner)
        except Exception as e:  # noqa: BLE001 - shown in the report as not measured, with the reason
            row.decoded = Decoded(name, None, error=f"{type(e).__name__}: {e}")
        rows.append(row.decoded)
        arts.append(row)

    doc.heading("Artifacts")
    if not arts:
        doc.para("No artifacts found" + (f" in {artifacts_dir}" if artifacts_dir else "") + ".")
    head = ["artifact", "backend", "precision", "K", "ch", "size MB", "GMAC/s (file)", "vs fvcore", "SNR vs float dB",
            "LSD Δ", "verified (manifest)", "RTF 1 thr", "RTF stereo", "of peak"]
    table = []
    for a in arts:
        v = a.manifest.get("verification") or {}
        mg = a.macs.get("gmacs_per_s")
        ref = a.macs.get("reference_gmacs_per_s")
        vs = "—" if mg is None or not ref else f"{100 * (mg / ref - 1):+.2f} %"
        mac_cell = _fmt(mg) if mg is not None else f"not counted: {a.macs.get('error', '?')[:60]}"
        passed = v.get("passed")
        ver = "—" if not v else (f"{'pass' if passed else 'FAIL'}: {_fmt(v.get('snr_db_vs_float'), '.1f')} dB, "
                                 f"Δ{_fmt(v.get('lsd_delta'), '+.3f')}")
        rtf = a.latency.get("rtf_median")
        if rtf is None:
            rtf_cell = "not runnable on Linux" if a.backend == "coreml" else "not measured"
        else:
            rtf_cell = f"{rtf:.4f}"
        frac = a.latency.get("fraction_of_peak")
        dec = a.decoded
        table.append([a.path.name, a.backend, a.precision, str(a.chunk_frames), str(a.channels),
                      f"{a.bytes / 1e6:.2f}", mac_cell, vs,
                      _fmt(dec.snr_vs_float_db, ".2f") if dec and dec.audio is not None else f"failed: {dec.error[:60]}",
                      _fmt(dec.lsd_delta, "+.4f") if dec and dec.audio is not None else "—", ver, rtf_cell,
                      _fmt(a.latency.get("rtf_stereo"), ".4f"), "—" if frac is None else f"{100 * frac:.1f} %"])
    if table:
        doc.table(head, table)
        doc.para("GMAC/s (file): counted from the exported file's own operators and tensor shapes, compared with "
                 "the fvcore count of the PyTorch decoder. SNR vs float and LSD Δ: this report's clip, decoded here "
                 "chunk by chunk with state carried. verified (manifest): the exporter's own verification. "
                 "ch: channels one call decodes (manifest); GMAC/s are per second of audio per channel. "
                 "RTF: median time of one call / chunk duration, 1 thread, this machine "
                 "(python -m profiling.latency); RTF stereo: per second of stereo audio (one call of a stereo "
                 "artifact, two of a mono one); of peak: time the call's MACs would take at the runtime's matmul "
                 "peak, measured in the same process (python -m profiling.peak), / the call's time.")

    doc.heading("Quality on a music clip")
    doc.para(f"{clip.name}, first {n / cfg.sample_rate:.1f} s, both channels, each decoded as an independent mono "
             f"stream. LSD split at 11025 Hz (LSD-L below, LSD-H above); SNR after delay alignment.")
    qrows = []
    for r in rows:
        if r.audio is None:
            qrows.append([r.name, "failed", r.error[:80], "", "", "", "", ""])
            continue
        mm = r.metrics
        qrows.append([r.name, f"{mm['lsd']:.4f}", f"{mm['lsd_l']:.4f}", f"{mm['lsd_h']:.4f}", f"{mm['snr']:.2f}",
                      _fmt(r.snr_vs_float_db, ".2f"), _fmt(r.lsd_delta, "+.4f"), r.runner])
    doc.table(["decoder", "LSD", "LSD-L", "LSD-H", "SNR dB", "SNR vs float dB", "LSD Δ vs float", "ran with"], qrows)
    doc.image("quality.png", plot_quality(rows), "LSD and SNR vs float, per decoder")
    log("drawing spectrograms")
    named = [("original", original)] + [(r.name, r.audio) for r in rows if r.audio is not None]
    doc.image("spectrograms.png", plot_spectrograms(named, cfg.sample_rate),
              "Log-magnitude spectrograms (first channel), 0–22 kHz: original, float decoder, each artifact")

    doc.heading("Machine")
    mach = describe_machine()
    doc.para(f"{mach['cpu']} ({mach['machine']}), {mach['cores']} cores, {mach['memory_gb']} GB; "
             + ", ".join(f"{k} {v}" for k, v in mach["versions"].items()))
    doc.summary = {"config": cfg.name, "trained": trained, "decoder_gmacs_per_s": g,
                   "artifacts": [{"artifact": a.path.name, "backend": a.backend, "precision": a.precision,
                                  "mb": a.bytes / 1e6, "gmacs_per_s_file": a.macs.get("gmacs_per_s"),
                                  "snr_vs_float_db": a.decoded.snr_vs_float_db if a.decoded else None,
                                  "lsd_delta": a.decoded.lsd_delta if a.decoded else None,
                                  "channels": a.channels,
                                  "rtf_1thread": a.latency.get("rtf_median"),
                                  "rtf_stereo_1thread": a.latency.get("rtf_stereo"),
                                  "fraction_of_peak_1thread": a.latency.get("fraction_of_peak")} for a in arts],
                   "quality": [{"decoder": r.name, **(r.metrics or {})} for r in rows]}
    return doc


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m profiling.report", description=__doc__.split("\n")[0])
    p.add_argument("--ckpt", type=Path, required=True, help="the full checkpoint the artifacts came from")
    p.add_argument("--artifacts", type=Path, default=Path("build"),
                   help="folder searched for exported artifacts and their manifests (default: %(default)s)")
    p.add_argument("--out", type=Path, default=Path("build/report"), help="output folder (default: %(default)s)")
    p.add_argument("--clip", type=Path, default=DEFAULT_CLIP, help="music for quality and spectrograms")
    p.add_argument("--seconds", type=float, default=12.0, help="length of the clip used (default 12)")
    p.add_argument("--latency", type=Path, help="results of python -m profiling.latency --json (RTF column)")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    try:
        args.ckpt = resolve_checkpoint(args.ckpt)
    except CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for path in (args.ckpt, args.clip):
        if not path.exists():
            print(f"error: {path}: no such file", file=sys.stderr)
            return 2
    if args.artifacts and not args.artifacts.is_dir():
        print(f"error: {args.artifacts}: no such folder", file=sys.stderr)
        return 2
    try:
        doc = build_report(args.ckpt, args.artifacts, args.clip, args.seconds, args.latency,
                           progress=not args.no_progress)
        html_path, md_path = write_outputs(doc, args.out)
    except (CheckpointError, AudioError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {html_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

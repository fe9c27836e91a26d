"""Score the codec on a folder of music, optionally beside classic codecs at the same bitrate.

Every file is encoded and decoded (stereo as two mono passes) and scored with LSD,
LSD-L, LSD-H (split at 11,025 Hz), SNR and ViSQOL (``tqcodec.metrics``; ViSQOL on the first
``visqol_seconds`` of each file because it is slow, and reported as skipped, never as a
number, when visqol-python is not installed).  ``--compare`` runs
Opus, Vorbis, MP3 and AAC (Debian's opus-tools, vorbis-tools, lame, ffmpeg) at the same
*stereo* bitrate, decodes them back to 44.1 kHz and scores them identically; missing
tools are named, never silently dropped.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .audio_io import load_audio, save_audio
from .metrics import VISQOL_MISSING, MetricResult, compute_metrics, mean_metrics, visqol, visqol_available

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".m4a", ".opus"}


@dataclass(frozen=True)
class ClassicCodec:
    name: str
    tools: tuple[str, ...]
    suffix: str

    def available(self) -> bool:
        return all(shutil.which(t) for t in self.tools)

    def commands(self, wav: Path, enc: Path, dec: Path, kbps: int) -> list[list[str]]:
        if self.name == "opus":
            return [["opusenc", "--quiet", "--bitrate", str(kbps), str(wav), str(enc)],
                    ["opusdec", "--quiet", "--rate", "44100", str(enc), str(dec)]]
        if self.name == "vorbis":
            return [["oggenc", "-Q", "-b", str(kbps), "-o", str(enc), str(wav)],
                    ["oggdec", "-Q", "-o", str(dec), str(enc)]]
        if self.name == "mp3":
            return [["lame", "--quiet", "--abr", str(kbps), str(wav), str(enc)],
                    ["lame", "--quiet", "--decode", str(enc), str(dec)]]
        if self.name == "aac":
            return [["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), "-c:a", "aac", "-b:a", f"{kbps}k", str(enc)],
                    ["ffmpeg", "-loglevel", "error", "-y", "-i", str(enc), "-ar", "44100", str(dec)]]
        raise ValueError(self.name)


CLASSIC_CODECS = (
    ClassicCodec("opus", ("opusenc", "opusdec"), ".opus"),
    ClassicCodec("vorbis", ("oggenc", "oggdec"), ".ogg"),
    ClassicCodec("mp3", ("lame",), ".mp3"),
    ClassicCodec("aac", ("ffmpeg",), ".m4a"),
)


@dataclass
class FileScore:
    file: str
    codec: str
    kbps: float  # measured stereo bitrate (file size / duration)
    metrics: MetricResult
    visqol: float | None = None  # MOS-LQO; None: not measured (see EvalResult.visqol_status)

    def to_dict(self) -> dict:
        return {"file": self.file, "codec": self.codec, "kbps": round(self.kbps, 2), **self.metrics.to_dict(),
                "visqol": None if self.visqol is None else round(self.visqol, 4)}

    def describe(self, visqol_status: str | None = None) -> str:
        """One line per file and codec, as the CLI prints it; ``visqol_status`` stands in for a
        ViSQOL score that was not measured."""
        m = self.metrics
        vq = f"{self.visqol:.3f}" if self.visqol is not None else (visqol_status or "not measured")
        return (f"{self.file:<40.40s} {self.codec:<14s} {self.kbps:7.1f} kbps  LSD {m.lsd:.3f}  LSD-L {m.lsd_l:.3f}  "
                f"LSD-H {m.lsd_h:.3f}  SNR {m.snr:6.2f} dB  ViSQOL {vq}")


@dataclass
class EvalResult:
    scores: list[FileScore] = field(default_factory=list)
    missing_tools: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # a codec that refused this bitrate, say
    visqol_status: str = "measured"  # or why not: VISQOL_MISSING, "off"
    visqol_seconds: float = 10.0

    def means(self) -> dict[str, tuple[float, MetricResult]]:
        out = {}
        for codec in dict.fromkeys(s.codec for s in self.scores):
            rows = [s for s in self.scores if s.codec == codec]
            out[codec] = (float(np.mean([r.kbps for r in rows])), mean_metrics([r.metrics for r in rows]))
        return out

    def visqol_means(self) -> dict[str, float | None]:
        """Mean MOS-LQO per codec; None unless every file of that codec was measured."""
        out = {}
        for codec in dict.fromkeys(s.codec for s in self.scores):
            values = [s.visqol for s in self.scores if s.codec == codec]
            out[codec] = None if any(v is None for v in values) else float(np.mean(values))
        return out

    def to_dict(self) -> dict:
        vq = self.visqol_means()
        return {"files": [s.to_dict() for s in self.scores],
                "mean": {c: {"kbps": round(k, 2), **m.to_dict(), "visqol": vq[c]} for c, (k, m) in self.means().items()},
                "visqol_status": self.visqol_status,
                "visqol_seconds": self.visqol_seconds,
                "missing_tools": self.missing_tools,
                "failures": self.failures,
                "lsd_split_hz": 11025}

    def describe_visqol(self, value: float | None) -> str:
        return f"{value:.3f}" if value is not None else self.visqol_status

    def table(self) -> str:
        lines = [f"{'codec':<14s} {'kbps(st)':>9s} {'LSD':>7s} {'LSD-L':>7s} {'LSD-H':>7s} {'SNR dB':>7s} {'ViSQOL':>7s}"
                 f"  (LSD-L < 11025 Hz ≤ LSD-H; ViSQOL v3 audio, MOS-LQO, first {self.visqol_seconds:g} s, mono mix)"]
        vq = self.visqol_means()
        for codec, (kbps, m) in self.means().items():
            lines.append(f"{codec:<14s} {kbps:9.1f} {m.lsd:7.3f} {m.lsd_l:7.3f} {m.lsd_h:7.3f} {m.snr:7.2f} "
                         f"{self.describe_visqol(vq[codec]):>7s}")
        if self.missing_tools:
            lines.append(f"not compared (tools missing): {', '.join(self.missing_tools)}")
        for f in dict.fromkeys(self.failures):
            lines.append(f"not compared: {f}")
        return "\n".join(lines)


def music_files(folder) -> list[Path]:
    p = Path(folder)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise FileNotFoundError(f"{p}: no such file or folder")
    files = sorted(f for f in p.rglob("*") if f.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"{p}: no audio files found")
    return files


def run_classic(codec: ClassicCodec, audio: np.ndarray, kbps: int, workdir: Path) -> tuple[np.ndarray, float]:
    wav, enc, dec = workdir / "ref.wav", workdir / f"enc{codec.suffix}", workdir / "dec.wav"
    save_audio(wav, audio, 44_100, subtype="PCM_16")
    for cmd in codec.commands(wav, enc, dec, kbps):
        subprocess.run(cmd, check=True, capture_output=True, timeout=600)
    out, _ = load_audio(dec, 44_100)
    seconds = audio.shape[-1] / 44_100
    return out, enc.stat().st_size * 8 / seconds / 1000


def evaluate(folder, encode_decode, tq_name: str, tq_kbps_stereo: float, compare: bool = False,
             max_seconds: float = 30.0, progress: bool = True, with_visqol: bool = True,
             visqol_seconds: float = 10.0) -> EvalResult:
    """``encode_decode(audio [C, T]) -> (decoded [C, T], measured stereo kbps)``. ViSQOL is
    measured when ``with_visqol`` and visqol-python is installed (else the result says why not)."""
    files = music_files(folder)
    result = EvalResult(visqol_seconds=visqol_seconds)
    if not with_visqol:
        result.visqol_status = "off"
    elif not visqol_available():
        result.visqol_status = VISQOL_MISSING
    measure_visqol = result.visqol_status == "measured"
    n_visqol = int(visqol_seconds * 44_100)

    def score(name: str, codec: str, rate: float, reference: np.ndarray, decoded: np.ndarray) -> FileScore:
        vq = visqol(reference[:, :n_visqol], decoded[:, :n_visqol]) if measure_visqol else None
        return FileScore(name, codec, rate, compute_metrics(reference, decoded), vq)

    codecs = []
    if compare:
        for c in CLASSIC_CODECS:
            (codecs if c.available() else result.missing_tools).append(c if c.available() else "/".join(c.tools))
    kbps = int(round(tq_kbps_stereo))
    it = files
    if progress:
        from tqdm import tqdm
        it = tqdm(files, desc="eval", unit="file")
    for f in it:
        audio, _ = load_audio(f, 44_100)
        audio = audio[:, : int(max_seconds * 44_100)]
        if audio.shape[0] == 1:
            audio = np.concatenate([audio, audio])  # score as stereo so bitrates compare
        decoded, tq_rate = encode_decode(audio)
        result.scores.append(score(f.name, tq_name, tq_rate, audio, decoded))
        for codec in codecs:
            with tempfile.TemporaryDirectory() as tmp:
                try:
                    out, rate = run_classic(codec, audio, kbps, Path(tmp))
                except subprocess.CalledProcessError as e:
                    err = (e.stderr or b"").decode(errors="replace").strip().splitlines()
                    result.failures.append(f"{codec.name} at {kbps} kbps stereo failed on {f.name}"
                                           f" ({err[-1] if err else f'exit {e.returncode}'})")
                    continue
            n = min(out.shape[-1], audio.shape[-1])
            result.scores.append(score(f.name, codec.name, rate, audio[:, :n], out[:, :n]))
    return result


def reference_codec(ckpt_path):
    """``(encode_decode, config, meta)``: a checkpoint as ``tqcodec eval`` and the scaling table
    score it — its encoder, then the pruned streaming decoder (the exact form that ships),
    stereo as two mono passes, at the config's stereo bitrate."""
    from .checkpoint import load_checkpoint
    from .compress import decode_codes, encode_audio
    from .prune import prune

    model, meta = load_checkpoint(ckpt_path)
    decoder = prune(model, meta).streaming(64)
    cfg = model.config

    def encode_decode(audio):
        codes = encode_audio(model, audio)
        return decode_codes(decoder, codes.numpy())[:, : audio.shape[-1]], cfg.kbps_stereo

    return encode_decode, cfg, meta

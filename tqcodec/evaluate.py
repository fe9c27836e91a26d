"""Score the codec on a folder of music, optionally beside classic codecs at the same bitrate.

Every file is encoded and decoded (stereo as two mono passes) and scored with LSD,
LSD-L, LSD-H (split at 11,025 Hz) and SNR (``tqcodec.metrics``).  ``--compare`` runs
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
from .metrics import MetricResult, compute_metrics, mean_metrics

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

    def to_dict(self) -> dict:
        return {"file": self.file, "codec": self.codec, "kbps": round(self.kbps, 2), **self.metrics.to_dict()}


@dataclass
class EvalResult:
    scores: list[FileScore] = field(default_factory=list)
    missing_tools: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # a codec that refused this bitrate, say

    def means(self) -> dict[str, tuple[float, MetricResult]]:
        out = {}
        for codec in dict.fromkeys(s.codec for s in self.scores):
            rows = [s for s in self.scores if s.codec == codec]
            out[codec] = (float(np.mean([r.kbps for r in rows])), mean_metrics([r.metrics for r in rows]))
        return out

    def to_dict(self) -> dict:
        return {"files": [s.to_dict() for s in self.scores],
                "mean": {c: {"kbps": round(k, 2), **m.to_dict()} for c, (k, m) in self.means().items()},
                "missing_tools": self.missing_tools,
                "failures": self.failures,
                "lsd_split_hz": 11025}

    def table(self) -> str:
        lines = [f"{'codec':<14s} {'kbps(st)':>9s} {'LSD':>7s} {'LSD-L':>7s} {'LSD-H':>7s} {'SNR dB':>7s}  (LSD-L < 11025 Hz ≤ LSD-H)"]
        for codec, (kbps, m) in self.means().items():
            lines.append(f"{codec:<14s} {kbps:9.1f} {m.lsd:7.3f} {m.lsd_l:7.3f} {m.lsd_h:7.3f} {m.snr:7.2f}")
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
             max_seconds: float = 30.0, progress: bool = True) -> EvalResult:
    """``encode_decode(audio [C, T]) -> (decoded [C, T], measured stereo kbps)``."""
    files = music_files(folder)
    result = EvalResult()
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
        result.scores.append(FileScore(f.name, tq_name, tq_rate, compute_metrics(audio, decoded)))
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
            result.scores.append(FileScore(f.name, f"{codec.name}", rate, compute_metrics(audio[:, :n], out[:, :n])))
    return result

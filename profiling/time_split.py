"""Where an ExecuTorch decoder's time goes: each section of the step timed as its own program,
against the runtime's matmul peak measured in the same process.

``python -m profiling.time_split --ckpt tq64.pt [--precision int8|fp32] [--chunk-frames 16] [--channels 1,2]
[--artifact FILE]``

The whole decoder lowers to one or two XNNPACK blobs, and ExecuTorch's pip runtime does not
profile inside a delegate, so a per-op trace of the shipped ``.pte`` is not available here.
Instead every section of ``StreamingDecoder.sections()`` (front, LSTM, each upsampling
stage, output) is exported, quantized exactly as ``mobile_export.backends.executorch`` does (same
quantizer, the LSTM's cell arithmetic and the output stage in fp32), lowered to XNNPACK and
timed alone at one thread with its real input shapes and state carried; the whole decoder
is timed the same way, all of them in alternating rounds.  The sum of the sections minus the whole is the cost of the
boundaries the split adds (tensors leaving and entering a delegate), quoted so the split
can be trusted.  Calibration uses seeded random codes: a section's speed does not depend on
the values, only the int8 ranges do.

Distance to the limit: ``profiling.peak``'s matmul programs run in the same alternating rounds,
so each section's GMAC/s is also quoted as a fraction of the runtime's peak (its int8 MACs at
the int8 peak, its float MACs at the fp32 peak), and the LSTM against the rate of a C-row
matmul (its recurrent step: one row per channel).  Summed, these give the step's floor
(``step_floor_ms``): the least time this decoder can take on this runtime and host, in the
export's precision and all int8, so a speed goal below it is shown to need a smaller decoder
or faster kernels rather than a better export.

Channels: ``--channels 2`` times the stereo decoder (one call decodes both channels; its RTF
is per second of stereo audio); ``--channels 1,2`` times mono and stereo in the same rounds
and prints their ratio (stereo call vs two mono calls).  ``--artifact`` takes channels, K,
precision and the float-kept layers from an artifact's manifest (the sections are rebuilt
from the checkpoint: the artifact itself is never changed).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from mobile_export.artifact import manifest_path
from mobile_export.backends.executorch.graph import quiet
from mobile_export.backends.executorch.runner import set_runtime_threads
from mobile_export.errors import ArtifactError
from mobile_export.host import describe_machine
from mobile_export.manifest import read_manifest
from tqcodec.checkpoint import CheckpointError, resolve_checkpoint
from tqcodec.macs import count_macs
from tqcodec.prune import load_pruned

from . import peak as peak_mod
from .xnnpack import ProgramTimer, build_program, time_interleaved

CALIBRATION_CHUNKS = 24


class Section(nn.Module):
    """One section of the step as a module (holds the decoder as ``decoder``, see
    ``streaming.traced_module_path``)."""

    def __init__(self, decoder, name: str | None):
        super().__init__()
        self.decoder, self.name = decoder, name

    def forward(self, x: torch.Tensor, *state: torch.Tensor):
        if self.name is None:
            return self.decoder(x, *state)
        return self.decoder.run_section(self.name, x, *state)


@dataclass
class SectionTime:
    name: str
    macs: int  # per call (every channel)
    ms_median: float
    ms_p95: float
    int8_share: float
    fraction_of_peak: float | None = None  # ideal time at the runtime's peak / median wall time
    cpu_ms_median: float | None = None  # thread CPU time per call (shown beside the wall time)

    @property
    def gmacs_per_s(self) -> float:
        return self.macs / (self.ms_median * 1e-3) / 1e9 if self.ms_median else 0.0


@dataclass
class Split:
    """One decoder's step and sections, timed in the same rounds as the peak."""

    channels: int
    whole: SectionTime
    parts: list[SectionTime]
    chunk_ms: float
    recurrent_macs: int  # the LSTM's per-frame C-row matmuls, per call

    @property
    def rtf(self) -> float:
        """Time of one call / chunk duration: per second of mono audio (C=1) or of stereo audio (C=2)."""
        return self.whole.ms_median / self.chunk_ms


def section_inputs(decoder, chunks: int, seed: int = 0) -> dict[str | None, list[tuple]]:
    """Each section's (input, *state) per chunk, from streaming seeded random codes
    (``[C, n_q, K]`` per chunk, C = the decoder's channels)."""
    gen = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, decoder.codebook_size, (chunks, *decoder.input_spec().shape),
                          generator=gen, dtype=torch.int32)
    inputs: dict[str | None, list[tuple]] = {None: []}
    state = decoder.init_state()
    with torch.no_grad():
        for c in range(chunks):
            inputs[None].append(_contiguous(codes[c], *state))
            x, i, new_state = codes[c], 0, []
            for name, n in decoder.sections():
                inputs.setdefault(name, []).append(_contiguous(x, *state[i:i + n]))
                x, *s = decoder.run_section(name, x, *state[i:i + n])
                new_state += s
                i += n
            state = new_state
    return inputs


def _contiguous(*tensors: torch.Tensor) -> tuple:
    """The runtime takes contiguous inputs only (a section's input may be a view)."""
    return tuple(t.contiguous() for t in tensors)


def build(decoder, name: str | None, samples: list[tuple], precision: str, keep_float, path: Path):
    """Export, quantize (int8), lower and write one section; returns its delegation shares."""
    return build_program(Section(decoder, name), samples, precision, keep_float, path,
                         half_tables=precision == "int8")


def recurrent_macs(decoder) -> int:
    """MACs per call of the LSTM's recurrent matmuls: K steps of a C-row ``[C, H]·[H, 4H]``."""
    return sum(decoder.chunk_frames * decoder.channels * layer.recurrent.in_features * layer.recurrent.out_features
               for layer in decoder.lstm)


def split(decoders, precision: str = "int8", repeats: int = 200, keep_float=None, progress: bool = True,
          peak_size: int = peak_mod.DEFAULT_SIZE) -> tuple[list[Split], peak_mod.Peak]:
    """Every decoder's (whole step, sections) and the runtime's matmul peak, all timed at one
    thread in the same alternating rounds.  ``decoders``: one ``StreamingDecoder`` or several
    (e.g. mono and stereo of one checkpoint)."""
    decoders = [decoders] if not isinstance(decoders, (list, tuple)) else list(decoders)
    set_runtime_threads(1)
    bar = tqdm(total=sum(len(d.sections()) + 1 for d in decoders), desc="section programs", unit="program",
               leave=False, disable=not progress)
    with tempfile.TemporaryDirectory() as tmp, bar:
        plans, all_timers = [], []
        for dec in decoders:
            keep = dec.resolve_keep_float(keep_float)
            inputs = section_inputs(dec, CALIBRATION_CHUNKS)
            _, by_module = count_macs(dec, inputs[None][0])
            names: list[str | None] = [None] + [n for n, _ in dec.sections()]
            owned = dict(dec.sections())
            timers, shares = [], []
            for name in names:
                path = Path(tmp) / f"c{dec.channels}-{name or 'whole'}.pte"
                shares.append(build(dec, name, inputs[name], precision, keep, path))
                n_state = len(dec.state_specs()) if name is None else owned[name]
                timers.append(ProgramTimer(path, inputs[name], n_state))
                bar.update(1)
            plans.append((dec, names, timers, shares, by_module))
            all_timers += timers
        dtypes = ("int8", "fp32") if precision == "int8" else ("fp32",)
        rows = sorted({1, *(d.channels for d in decoders), 64, 256})
        peak_timers = peak_mod.timers("executorch", Path(tmp), 1, dtypes, peak_size, rows, progress)
        set_runtime_threads(1)
        rounds = tqdm(total=repeats, desc="timing", unit="call", leave=False, disable=not progress)
        with rounds:
            time_interleaved(all_timers + [t for *_, t in peak_timers], repeats, progress=rounds)
        peak = peak_mod.collect("executorch", 1, peak_timers)
    splits = []
    for dec, names, timers, shares, by_module in plans:
        results = []
        for name, t, s in zip(names, timers, shares):
            macs = _section_macs(dec, name, by_module)
            int8 = s.int8_share if precision == "int8" else 0.0
            ms, cpu = 1e3 * statistics.median(t.times), 1e3 * statistics.median(t.cpu_times)
            results.append(SectionTime(name or "whole-step", macs, ms, 1e3 * float(np.percentile(t.times, 95)), int8,
                                       peak.fraction(macs, int8, ms), cpu))
        chunk_ms = 1e3 * dec.samples_per_chunk / dec.config.sample_rate
        splits.append(Split(dec.channels, results[0], results[1:], chunk_ms, recurrent_macs(dec)))
    return splits, peak


def _section_macs(decoder, name: str | None, by_module: dict[str, int]) -> int:
    """fvcore MACs of a section's modules (module paths as in ``count_macs``)."""
    prefixes = {"front": ("conv_in",), "lstm": ("lstm",), "output": ("conv_out",)}
    if name is None:
        return by_module[""]
    if name.startswith("stage"):
        s = name.removeprefix("stage")
        want = (f"upsamplers.{s}", f"res_blocks.{s}")
    else:
        want = prefixes[name]
    return sum(v for k, v in by_module.items() if k in want)


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f}%"


def format_split(run: Split, peak: peak_mod.Peak, goal_rtf: float) -> str:
    whole, parts = run.whole, run.parts
    total_macs = whole.macs or 1
    summed = sum(p.ms_median for p in parts)
    lines = [f"{'section':<12s} {'ms/chunk':>9s} {'p95':>7s} {'share':>6s} {'MACs':>6s} {'int8':>5s}  "
             f"{'GMAC/s run':>10s} {'of peak':>8s} {'cpu ms':>8s}"]
    for p in parts + [whole]:
        share = p.ms_median / summed if p is not whole else 1.0
        lines.append(f"{p.name:<12s} {p.ms_median:9.3f} {p.ms_p95:7.3f} {100 * share:5.1f}% "
                     f"{100 * p.macs / total_macs:5.1f}% {100 * p.int8_share:4.0f}%  {p.gmacs_per_s:10.1f} "
                     f"{_pct(p.fraction_of_peak):>8s} {p.cpu_ms_median or 0:8.3f}")
    lines.append(f"sum of sections {summed:.3f} ms vs whole step {whole.ms_median:.3f} ms "
                 f"(split overhead {summed - whole.ms_median:+.3f} ms)")
    lines += _lstm_lines(run, peak)
    rtf = run.rtf
    audio = "stereo audio (one call decodes both channels)" if run.channels == 2 else "mono audio"
    lines.append(f"whole step: {whole.ms_median:.3f} ms per {run.chunk_ms:.2f} ms chunk = RTF {rtf:.4f} per second "
                 f"of {audio} (goal ≤ {goal_rtf:g}: {'met' if rtf <= goal_rtf else 'NOT met'}; "
                 f"{whole.ms_median - goal_rtf * run.chunk_ms:+.3f} ms to the goal)")
    floor, floor_int8 = step_floor_ms(run, peak), step_floor_ms(run, peak, all_int8=True)
    if floor is not None and floor_int8 is not None:
        best_rtf = floor_int8 / run.chunk_ms
        lines.append(f"floor at the runtime's measured rates (each MAC at its dtype's peak, the LSTM recurrence at "
                     f"the {run.channels}-row rate): {floor:.3f} ms = RTF {floor / run.chunk_ms:.4f} in this export's "
                     f"precision, {floor_int8:.3f} ms = RTF {best_rtf:.4f} all int8; the goal "
                     + ("is above it" if best_rtf <= goal_rtf else
                        f"is below it: no int8 export of this decoder can meet it on this runtime and host "
                        f"(all-int8 floor = {best_rtf / goal_rtf:.2f}× the goal)"))
    if run.channels == 1:
        lines.append(f"stereo from this mono program: 2 calls per chunk = RTF stereo {2 * rtf:.4f}")
    return "\n".join(lines)


def _lstm_rates(run: Split, peak: peak_mod.Peak, dtype: str | None = None):
    """(LSTM section, dtype, the runtime's C-row rate, its peak) of that dtype (None: the
    section's own, int8 when most of its MACs are); None when the section or a rate is missing."""
    lstm = next((p for p in run.parts if p.name == "lstm"), None)
    if lstm is None:
        return None
    dtype = dtype or ("int8" if lstm.int8_share > 0.5 else "fp32")
    row_rate, best = peak.gmacs(dtype, run.channels), peak.gmacs(dtype)
    if not row_rate or not best:
        return None
    return lstm, dtype, row_rate, best


def _lstm_floor_ms(run: Split, peak: peak_mod.Peak, dtype: str | None = None) -> float | None:
    """The LSTM section at the runtime's rates: its recurrent MACs at the C-row matmul rate
    (they cannot batch over frames), the rest at the peak; ``dtype`` None = the section's own."""
    rates = _lstm_rates(run, peak, dtype)
    if rates is None:
        return None
    lstm, _, row_rate, best = rates
    rec = run.recurrent_macs
    return (rec / row_rate + (lstm.macs - rec) / best) / 1e6


def step_floor_ms(run: Split, peak: peak_mod.Peak, all_int8: bool = False) -> float | None:
    """The whole step if every section ran at the runtime's measured peak and the LSTM's
    recurrence at the C-row matmul rate: each section in its own precision (int8 MACs at the
    int8 peak, float ones at the fp32 peak), or, with ``all_int8``, every MAC at the int8 rates,
    which no int8 export of this decoder on this runtime and host can beat.  None when a needed
    rate was not measured."""
    total = 0.0
    for p in run.parts:
        share = 1.0 if all_int8 else p.int8_share
        ms = (_lstm_floor_ms(run, peak, "int8" if all_int8 else None) if p.name == "lstm"
              else peak.ideal_ms(p.macs * share, p.macs * (1 - share)))
        if ms is None:
            return None
        total += ms
    return total


def _lstm_lines(run: Split, peak: peak_mod.Peak) -> list[str]:
    """The LSTM against the rate its recurrent step can reach: a C-row matmul."""
    rates = _lstm_rates(run, peak)
    if rates is None:
        return []
    lstm, dtype, row_rate, best = rates
    rec = run.recurrent_macs
    floor_ms = _lstm_floor_ms(run, peak)
    ms = lstm.ms_median
    return [f"lstm: {100 * rec / lstm.macs:.0f}% of its MACs are {run.channels}-row recurrent matmuls; the runtime's "
            f"{dtype} {run.channels}-row rate is {row_rate:.2f} GMAC/s ({100 * row_rate / best:.1f}% of its peak "
            f"{best:.2f}), so at those rates it would take {floor_ms:.3f} ms; it takes {ms:.3f} ms "
            f"(floor / measured = {floor_ms / ms:.2f})"]


def format_peak_line(peak: peak_mod.Peak) -> str:
    parts = []
    for dtype in ("int8", "fp32"):
        g = peak.gmacs(dtype)
        if g is not None:
            rows = sorted({p.rows for p in peak.points if p.dtype == dtype})
            parts.append(f"{dtype} {g:.2f} GMAC/s (" + ", ".join(f"M={m}: {peak.gmacs(dtype, m):.2f}" for m in rows)
                         + ")")
    size = peak.points[0].k if peak.points else 0
    return (f"runtime peak, same process and rounds (XNNPACK {size}×{size} linears/convs, best per dtype): "
            + "; ".join(parts))


def format_channels(runs: list[Split]) -> list[str]:
    """Stereo against mono, section by section, when both were timed."""
    by = {r.channels: r for r in runs}
    if 1 not in by or 2 not in by:
        return []
    mono, stereo = by[1], by[2]
    lines = [f"{'section':<12s} {'mono ms':>9s} {'stereo ms':>10s} {'stereo/mono':>12s}"]
    for m, s in zip(mono.parts + [mono.whole], stereo.parts + [stereo.whole]):
        lines.append(f"{m.name:<12s} {m.ms_median:9.3f} {s.ms_median:10.3f} {s.ms_median / m.ms_median:11.2f}x")
    lines.append(f"RTF stereo: one stereo call {stereo.rtf:.4f} vs two mono calls {2 * mono.rtf:.4f} "
                 f"({2 * mono.whole.ms_median / stereo.whole.ms_median:.2f}x faster per second of stereo audio)")
    return lines


def _int_list(text: str) -> list[int]:
    try:
        out = [int(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"{text!r}: expected comma-separated channel counts (1, 2)") from None
    if not out or any(c not in (1, 2) for c in out):
        raise ValueError(f"{text!r}: channels must be 1 or 2")
    return list(dict.fromkeys(out))


def from_manifest(artifact: Path) -> dict:
    """Channels, K, precision and float-kept layers of an artifact, from its manifest."""
    m = read_manifest(manifest_path(artifact))
    q = m.get("quantization") or {}
    precision = m.get("precision")
    if precision not in ("int8", "fp32"):
        raise ValueError(f"{artifact}: precision {precision!r}: time_split rebuilds ExecuTorch int8 or fp32 only")
    return {"channels": [int(m.get("channels", 1))], "chunk_frames": int(m["chunk_frames"]), "precision": precision,
            "keep_float": q.get("keep_float") if precision == "int8" else None}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m profiling.time_split", description=__doc__.split("\n")[0])
    p.add_argument("--ckpt", required=True, help="checkpoint (full or pruned)")
    p.add_argument("--artifact", type=Path, help="take channels, K, precision and the float-kept layers from "
                                                 "this artifact's manifest")
    p.add_argument("--precision", choices=["int8", "fp32"], default=None, help="default int8")
    p.add_argument("--chunk-frames", type=int, default=None, help="default 16")
    p.add_argument("--channels", default=None, help="1, 2 or 1,2 (both in the same rounds; default 1)")
    p.add_argument("--repeats", type=int, default=200, help="timed calls per program (default 200)")
    p.add_argument("--peak-size", type=int, default=peak_mod.DEFAULT_SIZE,
                   help="K = N of the peak's matmuls (default %(default)s)")
    p.add_argument("--goal-rtf", type=float, default=0.10)
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    quiet()
    torch.set_num_threads(1)
    try:
        given = from_manifest(args.artifact) if args.artifact else {}
        channels = _int_list(args.channels) if args.channels else given.get("channels", [1])
    except (ArtifactError, ValueError, KeyError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    precision = args.precision or given.get("precision", "int8")
    chunk_frames = args.chunk_frames or given.get("chunk_frames", 16)
    keep_float = given.get("keep_float") if precision == given.get("precision") else None
    if chunk_frames < 1 or args.repeats < 1 or args.peak_size < 1:
        print("error: --chunk-frames, --repeats and --peak-size must be ≥ 1", file=sys.stderr)
        return 2
    try:
        pruned = load_pruned(resolve_checkpoint(args.ckpt))
        decoders = [pruned.streaming(chunk_frames, channels=c).use_native_elu() for c in channels]
    except (CheckpointError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    runs, peak = split(decoders, precision, args.repeats, keep_float, progress=not args.no_progress and
                       sys.stderr.isatty(), peak_size=args.peak_size)
    m = describe_machine()
    print(f"{decoders[0].config.name} {precision}, K={chunk_frames}, ExecuTorch XNNPACK, 1 thread; "
          f"{m['cpu']} ({m['cores']} cores), load {m['load_average_1m']}")
    print(format_peak_line(peak))
    for run in runs:
        print(f"\n-- {'stereo' if run.channels == 2 else 'mono'} decoder (channels={run.channels}: codes "
              f"[{run.channels}, n_q, {chunk_frames}] per call)")
        print(format_split(run, peak, args.goal_rtf))
    lines = format_channels(runs)
    if lines:
        print("\n-- stereo vs mono, same rounds")
        print("\n".join(lines))
    print("of peak: time the section's MACs would take at the runtime's peak (int8 MACs at the int8 peak, float "
          "MACs at the fp32 peak) / its median wall time, the peak's clock; cpu ms: thread CPU time, shown only "
          "(tick-counted on some hosts, see profiling.peak)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

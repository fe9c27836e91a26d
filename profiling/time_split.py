"""Where an ExecuTorch decoder's time goes: each section of the step timed as its own program.

``python -m profiling.time_split --ckpt tq64.pt [--precision int8|fp32] [--chunk-frames 16]``

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

from mobile_export.backends.executorch.graph import export_decoder, lower, quiet
from mobile_export.backends.executorch.runner import set_runtime_threads
from mobile_export.host import describe_machine
from mobile_export.timing import TimedRunner
from tqcodec.checkpoint import CheckpointError, resolve_checkpoint
from tqcodec.macs import count_macs
from tqcodec.prune import load_pruned

CALIBRATION_CHUNKS = 24
WARMUP = 10
ROUND_CALLS = 20


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
    macs: int
    ms_median: float
    ms_p95: float
    int8_share: float


def section_inputs(decoder, chunks: int, seed: int = 0) -> dict[str | None, list[tuple]]:
    """Each section's (input, *state) per chunk, from streaming seeded random codes."""
    gen = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, decoder.codebook_size, (chunks, 1, decoder.n_q, decoder.chunk_frames),
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
    from mobile_export.backends.executorch.quantizer import convert_pt2e, make_quantizer, prepare_pt2e  # executorch

    gm = export_decoder(Section(decoder, name).eval(), half_tables=precision == "int8", inputs=samples[0])
    if precision == "int8":
        prepared = prepare_pt2e(gm, make_quantizer(keep_float))
        with torch.no_grad():
            for sample in samples:
                prepared(*sample)
        gm = convert_pt2e(prepared)
    shares, program = lower(gm, decoder, samples[0])
    path.write_bytes(program.buffer)
    return shares


class ProgramTimer:
    """One lowered program, called with its recorded inputs, state carried from call to call."""

    def __init__(self, path: Path, samples: list[tuple], state_count: int):
        from executorch.runtime import Runtime

        self.method = Runtime.get().load_program(str(path)).load_method("forward")
        self.samples, self.state_count = samples, state_count
        self.state = list(samples[0][1:])
        self.calls = 0
        self.timed = TimedRunner(self._step)

    @property
    def times(self) -> list[float]:
        return self.timed.times

    def _step(self, x, state):
        out = self.method.execute([x, *state])
        n = self.state_count
        return out[0], ([s.contiguous() for s in out[len(out) - n:]] if n else [])

    def run(self, calls: int, record: bool = True) -> None:
        step = self.timed if record else self._step
        for _ in range(calls):
            _, self.state = step(self.samples[self.calls % len(self.samples)][0], self.state)
            self.calls += 1


def time_interleaved(timers: list[ProgramTimer], repeats: int, round_calls: int = ROUND_CALLS) -> None:
    """Warm every program up, then time them in alternating rounds: a shared machine's slow
    spells then hit every program alike instead of whichever ran during them."""
    for t in timers:
        t.run(WARMUP, record=False)
    done = 0
    while done < repeats:
        n = min(round_calls, repeats - done)
        for t in timers:
            t.run(n)
        done += n


def split(decoder, precision: str = "int8", repeats: int = 200, keep_float=None, progress: bool = True
          ) -> tuple[SectionTime, list[SectionTime]]:
    """(the whole step, each section), timed at the current thread count."""
    set_runtime_threads(1)
    keep = decoder.resolve_keep_float(keep_float)
    inputs = section_inputs(decoder, CALIBRATION_CHUNKS)
    _, by_module = count_macs(decoder, inputs[None][0])
    names: list[str | None] = [None] + [n for n, _ in decoder.sections()]
    owned = dict(decoder.sections())
    items = names
    if progress:
        items = tqdm(names, desc="sections", unit="program", leave=False)
    with tempfile.TemporaryDirectory() as tmp:
        timers, shares = [], []
        for name in items:
            path = Path(tmp) / f"{name or 'whole'}.pte"
            shares.append(build(decoder, name, inputs[name], precision, keep, path))
            n_state = len(decoder.state_specs()) if name is None else owned[name]
            timers.append(ProgramTimer(path, inputs[name], n_state))
        time_interleaved(timers, repeats)
    results = [SectionTime(name or "whole-step", _section_macs(decoder, name, by_module),
                           1e3 * statistics.median(t.times), 1e3 * float(np.percentile(t.times, 95)),
                           s.int8_share if precision == "int8" else 0.0)
               for name, t, s in zip(names, timers, shares)]
    return results[0], results[1:]


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


def format_split(whole: SectionTime, parts: list[SectionTime], chunk_ms: float, goal_rtf: float) -> str:
    total_macs = whole.macs or 1
    summed = sum(p.ms_median for p in parts)
    lines = [f"{'section':<12s} {'ms/chunk':>9s} {'p95':>7s} {'share':>6s} {'MACs':>6s} {'int8':>5s}  "
             f"{'GMAC/s run':>10s}"]
    for p in parts + [whole]:
        share = p.ms_median / summed if p is not whole else 1.0
        rate = p.macs / (p.ms_median * 1e-3) / 1e9 if p.ms_median else 0.0
        lines.append(f"{p.name:<12s} {p.ms_median:9.3f} {p.ms_p95:7.3f} {100 * share:5.1f}% "
                     f"{100 * p.macs / total_macs:5.1f}% {100 * p.int8_share:4.0f}%  {rate:10.1f}")
    lines.append(f"sum of sections {summed:.3f} ms vs whole step {whole.ms_median:.3f} ms "
                 f"(split overhead {summed - whole.ms_median:+.3f} ms)")
    rtf = whole.ms_median / chunk_ms
    lines.append(f"whole step: {whole.ms_median:.3f} ms per {chunk_ms:.2f} ms chunk = RTF {rtf:.4f} "
                 f"(goal ≤ {goal_rtf:g}: {'met' if rtf <= goal_rtf else 'NOT met'}; "
                 f"{whole.ms_median - goal_rtf * chunk_ms:+.3f} ms to the goal)")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m profiling.time_split", description=__doc__.split("\n")[0])
    p.add_argument("--ckpt", required=True, help="checkpoint (full or pruned)")
    p.add_argument("--precision", choices=["int8", "fp32"], default="int8")
    p.add_argument("--chunk-frames", type=int, default=16)
    p.add_argument("--repeats", type=int, default=200, help="timed calls per program (default 200)")
    p.add_argument("--goal-rtf", type=float, default=0.10)
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    quiet()
    torch.set_num_threads(1)
    if args.chunk_frames < 1 or args.repeats < 1:
        print("error: --chunk-frames and --repeats must be ≥ 1", file=sys.stderr)
        return 2
    try:
        decoder = load_pruned(resolve_checkpoint(args.ckpt)).streaming(args.chunk_frames).use_native_elu()
    except (CheckpointError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    whole, parts = split(decoder, args.precision, args.repeats, progress=not args.no_progress)
    m = describe_machine()
    print(f"{decoder.config.name} {args.precision}, K={args.chunk_frames}, ExecuTorch XNNPACK, 1 thread; "
          f"{m['cpu']} ({m['cores']} cores), load {m['load_average_1m']}")
    print(format_split(whole, parts, 1e3 * decoder.samples_per_chunk / decoder.config.sample_rate, args.goal_rtf))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The runtime's matmul peak on this host: the GMAC/s a decoder section could reach at best.

``python -m profiling.peak [--runtime executorch|onnx|torch] [--threads 1] [--size 1024] [--rows 1,2,64,256]``

A section's GMAC/s means little alone; against the same runtime's best on a plain matmul,
measured on the same host at the same thread count, it says how far the section is from
the hardware's limit.  Each point is one tiny program of a square-ish linear
(``[M×K]·[K×N]``, K = N = ``size``) or a kernel-3 convolution (K → N channels over M
positions), built for the runtime that runs the artifact:

* ExecuTorch/XNNPACK: exported, int8-quantized by the exporter's own quantizer and lowered
  by its own ``lower`` (``profiling.xnnpack``), fp32 lowered plain;
* ONNX Runtime: exported as the ONNX backend does (TorchScript exporter), int8 as QDQ with
  the backend's default variant (uint8 activations, per-channel int8 weights);
* PyTorch: fp32 ``F.linear``/``F.conv1d`` (the float reference decoder's runtime).

LiteRT has no peak here: its conversion (litert-torch) costs about a minute per program.

Rows M = 1 and 2 are the LSTM's recurrent step (one row per channel: mono, stereo); large
M is the peak.  Every point is timed with the one harness (``mobile_export.timing``), all
points in alternating rounds, and the peak of a dtype is the best point of that dtype.

Clock: GMAC/s come from the median wall time per call, as every decoder figure does.  The
thread CPU time is printed beside it but not used: on this project's shared VM it is counted
in scheduler ticks (4 ms), so a 1024² matmul of 67 M and one of 268 M MACs both read 3.97 ms
(measured), which would overstate a peak; wall time errs one way only (a preempted call is
slower), so the best point of a dtype is its least disturbed one.  The default K = N = 512
keeps most calls under a millisecond, below the tick.
``profiling.time_split`` and ``profiling.latency`` measure it in the same process as the
decoder they time (``timers`` + ``collect``), so both figures share the host's state.
"""
from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from mobile_export.backends.executorch.graph import quiet
from mobile_export.backends.executorch.runner import set_runtime_threads
from mobile_export.backends.onnx.graph import OPSET
from mobile_export.backends.onnx.runner import session
from mobile_export.host import describe_machine

from .xnnpack import HarnessTimer, ProgramTimer, build_program, time_interleaved

RUNTIMES = ("executorch", "onnx", "torch")
DTYPES = {"executorch": ("int8", "fp32"), "onnx": ("int8", "fp32"), "torch": ("fp32",)}
DEFAULT_SIZE = 512
DEFAULT_ROWS = (1, 2, 64, 256)
CONV_MIN_ROWS = 64  # convolutions only where they have positions to stream over
CONV_TAPS = 3
CALIBRATION_SAMPLES = 4
DEFAULT_REPEATS = 50
# The ONNX backend's int8 (``backends.onnx.quantizer.VARIANTS[DEFAULT_VARIANT]``: QDQ, uint8 activations,
# per-channel symmetric int8 weights); named here because that module imports onnxruntime when loaded,
# and tests/test_peak.py checks the two agree.
ONNX_INT8 = {"format": "QDQ", "activation": "QUInt8", "per_channel": True, "op_types": ("Conv", "MatMul", "Gemm")}


@dataclass(frozen=True)
class Shape:
    """One matmul-like op: ``linear`` [rows, k] → [rows, n], or ``conv`` k → n channels, 3 taps, ``rows``
    output positions."""

    kind: str
    rows: int
    k: int
    n: int

    @property
    def macs(self) -> int:
        return self.rows * self.k * self.n * (CONV_TAPS if self.kind == "conv" else 1)

    def module(self) -> nn.Module:
        if self.kind == "conv":
            return nn.Conv1d(self.k, self.n, CONV_TAPS)
        return nn.Linear(self.k, self.n)

    def sample(self, gen: torch.Generator) -> tuple[torch.Tensor]:
        shape = (1, self.k, self.rows + CONV_TAPS - 1) if self.kind == "conv" else (self.rows, self.k)
        return (torch.randn(shape, generator=gen),)

    def label(self) -> str:
        return f"{self.kind} M={self.rows} {self.k}→{self.n}" + (f" ×{CONV_TAPS}" if self.kind == "conv" else "")


def shapes(size: int = DEFAULT_SIZE, rows=DEFAULT_ROWS) -> list[Shape]:
    """Linears at every row count, kernel-3 convolutions at the row counts ≥ ``CONV_MIN_ROWS``."""
    out = [Shape("linear", m, size, size) for m in rows]
    out += [Shape("conv", m, size, size) for m in rows if m >= CONV_MIN_ROWS]
    return out


@dataclass
class PeakPoint:
    dtype: str
    kind: str
    rows: int
    k: int
    n: int
    macs: int
    ms_median: float  # wall
    calls: int
    cpu_ms_median: float | None = None  # thread CPU time (shown, not used: see the module doc)

    @property
    def gmacs_per_s(self) -> float:
        return self.macs / (self.ms_median * 1e-3) / 1e9


@dataclass
class Peak:
    """Every measured point of one runtime at one thread count."""

    runtime: str
    threads: int
    points: list[PeakPoint] = field(default_factory=list)

    def gmacs(self, dtype: str, rows: int | None = None) -> float | None:
        """Best GMAC/s of ``dtype`` (over every shape, or over the shapes with ``rows`` rows)."""
        rates = [p.gmacs_per_s for p in self.points if p.dtype == dtype and (rows is None or p.rows == rows)]
        return max(rates) if rates else None

    def ideal_ms(self, int8_macs: float, fp32_macs: float) -> float | None:
        """Time the MACs would take at this runtime's peak (int8 MACs at the int8 peak, the rest at
        the fp32 peak); None when a needed peak was not measured."""
        ms = 0.0
        for macs, dtype in ((int8_macs, "int8"), (fp32_macs, "fp32")):
            if macs:
                g = self.gmacs(dtype)
                if g is None:
                    return None
                ms += macs / (g * 1e9) * 1e3
        return ms

    def fraction(self, macs: float, int8_share: float, ms: float) -> float | None:
        """Share of the peak a measured ``ms`` for ``macs`` (``int8_share`` of them int8) reaches."""
        ideal = self.ideal_ms(macs * int8_share, macs * (1 - int8_share))
        return None if ideal is None or not ms else ideal / ms

    def to_dict(self) -> dict:
        return {"runtime": self.runtime, "threads": self.threads,
                "peak_gmacs_per_s": {d: self.gmacs(d) for d in ("int8", "fp32") if self.gmacs(d) is not None},
                "points": [{**asdict(p), "gmacs_per_s": round(p.gmacs_per_s, 3)} for p in self.points]}

    @classmethod
    def from_dict(cls, d: dict) -> "Peak":
        fields = PeakPoint.__dataclass_fields__
        return cls(d["runtime"], d["threads"], [PeakPoint(**{k: v for k, v in p.items() if k in fields})
                                                for p in d["points"]])


# ---------------------------------------------------------------------------- one timer per point
class CallTimer(HarnessTimer):
    """A stateless callable timed through the one harness (``run(calls, record)`` as ``ProgramTimer``)."""

    def __init__(self, call, samples: list[tuple]):
        super().__init__(lambda x, state: (call(x), state), samples, None)


def _executorch_timer(shape: Shape, dtype: str, samples: list[tuple], folder: Path):
    path = folder / f"peak-{dtype}-{shape.kind}-m{shape.rows}-{shape.k}x{shape.n}.pte"
    torch.manual_seed(0)
    build_program(shape.module(), samples, dtype, (), path)
    return ProgramTimer(path, samples, 0)


def _onnx_timer(shape: Shape, dtype: str, samples: list[tuple], folder: Path, threads: int):
    stem = folder / f"peak-{dtype}-{shape.kind}-m{shape.rows}-{shape.k}x{shape.n}"
    path = stem.with_suffix(".onnx")
    torch.manual_seed(0)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(shape.module().eval(), samples[0], str(path), input_names=["x"], output_names=["y"],
                          opset_version=OPSET, dynamo=False, do_constant_folding=True)
    if dtype == "int8":
        path = _onnx_int8(path, stem.with_name(stem.name + "-int8.onnx"), samples)
    sess = session(path, threads)
    return CallTimer(lambda x: sess.run(None, {"x": x})[0], [tuple(t.numpy() for t in s) for s in samples])


def _onnx_int8(float_path: Path, out: Path, samples: list[tuple]) -> Path:
    """QDQ int8 with the ONNX backend's default variant and settings (``ONNX_INT8``)."""
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.feeds = iter([{"x": s[0].numpy()} for s in samples])

        def get_next(self):
            return next(self.feeds, None)

    logging.getLogger("root").setLevel(logging.ERROR)
    v = ONNX_INT8
    quantize_static(str(float_path), str(out), Reader(), quant_format=QuantFormat[v["format"]],
                    op_types_to_quantize=list(v["op_types"]), per_channel=v["per_channel"],
                    activation_type=QuantType[v["activation"]], weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax,
                    extra_options={"MatMulConstBOnly": True, "WeightSymmetric": True})
    return out


def _torch_timer(shape: Shape, samples: list[tuple]):
    torch.manual_seed(0)
    mod = shape.module().eval()
    w, b = mod.weight.detach(), mod.bias.detach()

    def call(x):
        with torch.no_grad():
            return F.conv1d(x, w, b) if shape.kind == "conv" else F.linear(x, w, b)
    return CallTimer(call, samples)


def set_threads(runtime: str, threads: int) -> None:
    """The runtime's process-wide thread count (ONNX Runtime takes it per session)."""
    if runtime == "executorch":
        set_runtime_threads(threads)
    elif runtime == "torch":
        torch.set_num_threads(threads)


def timers(runtime: str, folder: Path, threads: int = 1, dtypes=None, size: int = DEFAULT_SIZE, rows=DEFAULT_ROWS,
           progress: bool = False) -> list[tuple[str, Shape, object]]:
    """(dtype, shape, timer) for every point of ``runtime``, programs written under ``folder``.
    Time them (``xnnpack.time_interleaved``, with any other timers of the same process), then ``collect``."""
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime {runtime!r}: expected one of {', '.join(RUNTIMES)}")
    dtypes = tuple(d for d in (dtypes or DTYPES[runtime]) if d in DTYPES[runtime])
    set_threads(runtime, threads)
    gen = torch.Generator().manual_seed(0)
    todo = [(d, s) for d in dtypes for s in shapes(size, rows)]
    out = []
    for dtype, shape in tqdm(todo, desc=f"{runtime} peak programs", unit="program", leave=False,
                             disable=not progress):
        samples = [shape.sample(gen) for _ in range(CALIBRATION_SAMPLES)]
        if runtime == "executorch":
            timer = _executorch_timer(shape, dtype, samples, folder)
        elif runtime == "onnx":
            timer = _onnx_timer(shape, dtype, samples, folder, threads)
        else:
            timer = _torch_timer(shape, samples)
        out.append((dtype, shape, timer))
    return out


def collect(runtime: str, threads: int, timed: list[tuple[str, Shape, object]]) -> Peak:
    """The ``Peak`` of timers that ``time_interleaved`` has run."""
    points = []
    for dtype, shape, timer in timed:
        if not timer.times:
            raise ValueError(f"{runtime} {dtype} {shape.label()}: not timed")
        points.append(PeakPoint(dtype, shape.kind, shape.rows, shape.k, shape.n, shape.macs,
                                1e3 * statistics.median(timer.times), len(timer.times),
                                1e3 * statistics.median(timer.cpu_times)))
    return Peak(runtime, threads, points)


def measure(runtime: str = "executorch", threads: int = 1, dtypes=None, size: int = DEFAULT_SIZE, rows=DEFAULT_ROWS,
            repeats: int = DEFAULT_REPEATS, progress: bool = False) -> Peak:
    """Build, time (alternating rounds) and summarise every point of ``runtime`` in this process."""
    with tempfile.TemporaryDirectory() as tmp:
        timed = timers(runtime, Path(tmp), threads, dtypes, size, rows, progress)
        bar = tqdm(total=repeats, desc=f"{runtime} peak", unit="call", leave=False, disable=not progress)
        with bar:
            time_interleaved([t for *_, t in timed], repeats, progress=bar)
        return collect(runtime, threads, timed)


def format_peak(peak: Peak) -> str:
    lines = [f"{'dtype':<5} {'op':<26} {'MACs':>12} {'wall ms':>9} {'cpu ms':>9} {'GMAC/s':>8} {'of peak':>8}"]
    for p in peak.points:
        best = peak.gmacs(p.dtype)
        lines.append(f"{p.dtype:<5} {Shape(p.kind, p.rows, p.k, p.n).label():<26} {p.macs:>12,d} "
                     f"{p.ms_median:>9.4f} {p.cpu_ms_median or 0:>9.4f} {p.gmacs_per_s:>8.2f} "
                     f"{100 * p.gmacs_per_s / best:>7.1f}%")
    lines.append("GMAC/s from the median wall time per call (cpu ms: thread CPU time, tick-counted on some hosts)")
    for dtype in ("int8", "fp32"):
        best = peak.gmacs(dtype)
        if best is None:
            continue
        rows = sorted({p.rows for p in peak.points if p.dtype == dtype})
        by_rows = ", ".join(f"M={m} {peak.gmacs(dtype, m):.2f}" for m in rows)
        lines.append(f"{peak.runtime} {dtype} peak {best:.2f} GMAC/s at {peak.threads} thread(s); best per row count: "
                     f"{by_rows}")
    i8, f32 = peak.gmacs("int8"), peak.gmacs("fp32")
    if i8 and f32:
        lines.append(f"int8 peak / fp32 peak = {i8 / f32:.2f}")
    return "\n".join(lines)


def _rows(text: str) -> tuple[int, ...]:
    try:
        rows = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated row counts") from None
    if not rows or min(rows) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: row counts must be ≥ 1")
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m profiling.peak", description=__doc__.split("\n")[0])
    p.add_argument("--runtime", choices=RUNTIMES, default="executorch")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--size", type=int, default=DEFAULT_SIZE, help="K = N of every matmul (default %(default)s)")
    p.add_argument("--rows", type=_rows, default=DEFAULT_ROWS, help="row counts M (default 1,2,64,256)")
    p.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help="timed calls per point (default %(default)s)")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    if args.threads < 1 or args.size < 1 or args.repeats < 1:
        p.error("--threads, --size and --repeats must be ≥ 1")
    quiet()
    peak = measure(args.runtime, args.threads, None, args.size, args.rows, args.repeats,
                   progress=not args.no_progress and sys.stderr.isatty())
    m = describe_machine()
    print(f"{args.runtime} matmul peak, {args.threads} thread(s), {args.repeats} calls per point; "
          f"{m['cpu']} ({m['cores']} cores), load {m['load_average_1m']}")
    print(format_peak(peak))
    return 0


if __name__ == "__main__":
    sys.exit(main())

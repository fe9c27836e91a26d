"""A module lowered to an XNNPACK program the way the exporter lowers it, and timed with the one harness.

``profiling.time_split`` (a decoder section per program) and ``profiling.peak`` (one large
matmul per program) both build their programs here: ``torch.export`` with the exporter's
graph passes, int8 through the exporter's own quantizer (``make_quantizer``: symmetric
per-channel weights, the same keep-float rules), lowered by the exporter's ``lower``.
``ProgramTimer`` runs one program through ``mobile_export.timing.TimedRunner`` with state
carried (``HarnessTimer``, which ``profiling.peak`` times its other runtimes' calls with too); ``time_interleaved`` times several in alternating rounds so that a shared host's
slow spells hit them alike.
"""
from __future__ import annotations

from pathlib import Path

import torch

from mobile_export.backends.executorch.graph import export_decoder, lower
from mobile_export.timing import TimedRunner

WARMUP = 10
ROUND_CALLS = 20


def build_program(module: torch.nn.Module, samples: list[tuple], precision: str, keep_float, path: Path,
                  half_tables: bool = False):
    """Export ``module`` (called as ``module(*samples[i])``), quantize it to int8 when asked
    (calibrated on every sample), lower it to XNNPACK and write the program to ``path``;
    returns its delegation shares (``delegation.mac_shares``)."""
    from mobile_export.backends.executorch.quantizer import convert_pt2e, make_quantizer, prepare_pt2e  # executorch

    gm = export_decoder(module.eval(), half_tables=half_tables, inputs=samples[0])
    if precision == "int8":
        prepared = prepare_pt2e(gm, make_quantizer(keep_float or ()))
        with torch.no_grad():
            for sample in samples:
                prepared(*sample)
        gm = convert_pt2e(prepared)
    shares, program = lower(gm, None, samples[0])
    path.write_bytes(program.buffer)
    return shares


class HarnessTimer:
    """Calls ``step(x, state) -> (output, state)`` with each recorded input in turn (``samples[i][0]``),
    the state carried from ``state``, timed through ``mobile_export.timing.TimedRunner`` when
    recorded: the ``run(calls, record)`` that ``time_interleaved`` drives, and the times it keeps."""

    def __init__(self, step, samples: list[tuple], state):
        self._step = step
        self.samples, self.state, self.calls = samples, state, 0
        self.timed = TimedRunner(step)

    @property
    def times(self) -> list[float]:
        return self.timed.times

    @property
    def cpu_times(self) -> list[float]:
        return self.timed.cpu_times

    def run(self, calls: int, record: bool = True) -> None:
        step = self.timed if record else self._step
        for _ in range(calls):
            _, self.state = step(self.samples[self.calls % len(self.samples)][0], self.state)
            self.calls += 1


class ProgramTimer(HarnessTimer):
    """One lowered program, called with its recorded inputs, its last ``state_count`` outputs
    fed back as the next call's state."""

    def __init__(self, path: Path, samples: list[tuple], state_count: int = 0):
        from executorch.runtime import Runtime

        self.method = Runtime.get().load_program(str(path)).load_method("forward")
        self.state_count = state_count
        super().__init__(self._call, samples, list(samples[0][1:]))

    def _call(self, x, state):
        out = self.method.execute([x, *state])
        n = self.state_count
        return out[0], ([s.contiguous() for s in out[len(out) - n:]] if n else [])


def time_interleaved(timers: list, repeats: int, round_calls: int = ROUND_CALLS, progress=None) -> None:
    """Warm every timer up, then time them in alternating rounds of ``round_calls`` calls until
    each has ``repeats`` timed calls.  A timer is anything with ``run(calls, record)``.
    ``progress``: a tqdm bar advanced once per round (or None)."""
    for t in timers:
        t.run(WARMUP, record=False)
    done = 0
    while done < repeats:
        n = min(round_calls, repeats - done)
        for t in timers:
            t.run(n)
        done += n
        if progress is not None:
            progress.update(n)

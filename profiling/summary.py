"""The main job's closing table: what was built, how good and how fast it is, how long each step took.

``python -m profiling.summary --report build/report/summary.json [--steps build/main-job-steps.tsv]``

It only reads what the earlier steps wrote (the report's ``summary.json`` and the step
timings); a missing input is shown as missing, so a failed step is visible in the table.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mobile_export.host import describe_machine


def _f(v, spec: str) -> str:
    return "—" if v is None else format(v, spec)


def artifact_table(summary: dict) -> list[str]:
    lines = [f"{'artifact':<28} {'backend':<10} {'prec':<5} {'MB':>6} {'GMAC/s':>7} {'SNR vs fp dB':>12} "
             f"{'LSD Δ':>7} {'RTF 1thr':>8}"]
    for a in summary.get("artifacts", []):
        lines.append(f"{a['artifact'][:28]:<28} {a['backend']:<10} {a['precision']:<5} {a['mb']:>6.2f} "
                     f"{_f(a.get('gmacs_per_s_file'), '.3f'):>7} {_f(a.get('snr_vs_float_db'), '.2f'):>12} "
                     f"{_f(a.get('lsd_delta'), '+.4f'):>7} {_f(a.get('rtf_1thread'), '.4f'):>8}")
    return lines


def quality_table(summary: dict) -> list[str]:
    lines = [f"{'decoder (clip vs original)':<52} {'LSD':>6} {'LSD-L':>6} {'LSD-H':>6} {'SNR dB':>7}"]
    for q in summary.get("quality", []):
        if "lsd" in q:
            lines.append(f"{q['decoder'][:52]:<52} {q['lsd']:>6.3f} {q['lsd_l']:>6.3f} {q['lsd_h']:>6.3f} "
                         f"{q['snr']:>7.2f}")
    return lines


def step_table(path: Path) -> list[str]:
    lines = [f"{'step':<52} {'seconds':>8}  result"]
    for row in path.read_text().splitlines():
        parts = row.split("\t")
        if len(parts) == 3:
            lines.append(f"{parts[0][:52]:<52} {parts[1]:>8}  {parts[2]}")
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m profiling.summary", description=__doc__.split("\n")[0])
    p.add_argument("--report", type=Path, required=True, help="summary.json written by profiling.report")
    p.add_argument("--steps", type=Path, help="tab-separated step timings written by scripts/main.sh")
    p.add_argument("--total", type=int, help="total wall seconds of the job")
    args = p.parse_args(argv)

    out = ["", "== summary"]
    if args.report.is_file():
        s = json.loads(args.report.read_text())
        out.append(f"config {s['config']} ({'trained' if s['trained'] else 'UNTRAINED'}), decoder "
                   f"{s['decoder_gmacs_per_s']:.3f} GMAC/s (fvcore; target 6.31, bound 10)")
        out += artifact_table(s) + [""] + quality_table(s)
    else:
        out.append(f"no report summary at {args.report} (the report step failed or did not run)")
    if args.steps and args.steps.is_file():
        out += [""] + step_table(args.steps)
    m = describe_machine()
    if args.total is not None:
        out.append(f"total {args.total / 60:.1f} min on {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""profiling.time_split: the step's sections compose to the step, and the profiler times each
section as its own XNNPACK program (tiny config; the figures are tq64's in the closing notes)."""
import pytest
import torch

pytest.importorskip("executorch")

from tqcodec.prune import prune  # noqa: E402
from profiling import time_split  # noqa: E402
from tqcodec.checkpoint import save_checkpoint  # noqa: E402


def test_sections_compose_to_the_step(tiny_model):
    dec = prune(tiny_model, {}).streaming(3)
    sections = dec.sections()
    assert [n for n, _ in sections] == ["front", "lstm", "stage0", "stage1", "stage2", "output"]
    assert sum(n for _, n in sections) == len(dec.state_specs())
    inputs = time_split.section_inputs(dec, chunks=4)
    whole = inputs[None][-1]
    with torch.no_grad():
        y, *state = dec(*whole)
        x, i, parts = whole[0], 0, []
        for name, n in sections:
            x, *s = dec.run_section(name, x, *whole[1 + i:1 + i + n])
            parts += s
            i += n
    assert torch.equal(x, y) and all(torch.equal(a, b) for a, b in zip(parts, state))


def test_time_split_cli_times_every_section(tiny_model, tmp_path, capsys):
    ckpt = tmp_path / "tiny.pt"
    save_checkpoint(ckpt, tiny_model, extra={"trained": False})
    assert time_split.main(["--ckpt", str(ckpt), "--chunk-frames", "2", "--repeats", "5", "--no-progress"]) == 0
    out = capsys.readouterr().out
    rows = {ln.split()[0]: ln.split() for ln in out.splitlines() if ln.split() and ln.split()[0] in
            ("front", "lstm", "stage0", "stage1", "stage2", "output", "whole-step")}
    assert set(rows) == {"front", "lstm", "stage0", "stage1", "stage2", "output", "whole-step"}
    assert all(float(r[1]) > 0 for r in rows.values())
    assert rows["stage2"][5] == "0%" and rows["output"][5] == "0%"  # the output stage stays float
    assert rows["lstm"][5] == "100%"  # its matmuls are int8
    assert "RTF" in out and "split overhead" in out


def test_time_split_bad_checkpoint_is_one_line(tmp_path, capsys):
    assert time_split.main(["--ckpt", str(tmp_path / "missing.pt")]) == 2
    assert capsys.readouterr().err.startswith("error:")

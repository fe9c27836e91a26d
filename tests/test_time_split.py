"""profiling.time_split: the step's sections compose to the step (mono and stereo), and the profiler
times each section as its own XNNPACK program next to the runtime's matmul peak (tiny config; the
figures are tq64's in the closing notes)."""
import pytest
import torch

pytest.importorskip("executorch")

from tqcodec.prune import prune  # noqa: E402
from profiling import time_split  # noqa: E402
from tqcodec.checkpoint import save_checkpoint  # noqa: E402


@pytest.mark.parametrize("channels", [1, 2])
def test_sections_compose_to_the_step(tiny_model, channels):
    dec = prune(tiny_model, {}).streaming(3, channels)
    sections = dec.sections()
    assert [n for n, _ in sections] == ["front", "lstm", "stage0", "stage1", "stage2", "output"]
    assert sum(n for _, n in sections) == len(dec.state_specs())
    inputs = time_split.section_inputs(dec, chunks=4)
    whole = inputs[None][-1]
    assert whole[0].shape == (channels, dec.n_q, 3) and all(s.shape[0] == channels for s in whole[1:])
    with torch.no_grad():
        y, *state = dec(*whole)
        x, i, parts = whole[0], 0, []
        for name, n in sections:
            x, *s = dec.run_section(name, x, *whole[1 + i:1 + i + n])
            parts += s
            i += n
    assert torch.equal(x, y) and all(torch.equal(a, b) for a, b in zip(parts, state))


def _rows(text: str) -> dict:
    names = ("front", "lstm", "stage0", "stage1", "stage2", "output", "whole-step")
    return {ln.split()[0]: ln.split() for ln in text.splitlines() if ln.split() and ln.split()[0] in names}


def test_time_split_cli_times_every_section_of_a_stereo_decoder(tiny_model, tmp_path, capsys):
    ckpt = tmp_path / "tiny.pt"
    save_checkpoint(ckpt, tiny_model, extra={"trained": False})
    assert time_split.main(["--ckpt", str(ckpt), "--chunk-frames", "2", "--channels", "2", "--repeats", "5",
                            "--peak-size", "64", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "channels=2: codes [2, n_q, 2] per call" in out
    rows = _rows(out)
    assert set(rows) == {"front", "lstm", "stage0", "stage1", "stage2", "output", "whole-step"}
    assert all(float(r[1]) > 0 for r in rows.values())
    assert rows["stage2"][5] == "0%" and rows["output"][5] == "0%"  # the output stage stays float
    assert rows["lstm"][5] == "100%"  # its matmuls are int8
    for r in rows.values():  # every section's fraction of the peak measured in the same rounds
        assert r[7].endswith("%") and float(r[7][:-1]) > 0
    assert "runtime peak, same process and rounds" in out and "int8" in out and "fp32" in out
    assert "lstm: " in out and "2-row recurrent matmuls" in out
    assert "RTF" in out and "per second of stereo audio" in out and "split overhead" in out
    assert "floor at the runtime's measured rates" in out and "all int8" in out


def _split(channels: int, whole_ms: float, lstm_ms: float) -> time_split.Split:
    T = time_split.SectionTime
    parts = [T("front", 10, 1.0, 1.1, 1.0), T("lstm", 10, lstm_ms, lstm_ms, 1.0)]
    return time_split.Split(channels, T("whole-step", 20, whole_ms, whole_ms, 1.0), parts, 10.0, 5)


def test_stereo_vs_mono_lines():
    lines = time_split.format_channels([_split(1, 2.0, 0.5), _split(2, 2.5, 0.55)])
    assert any(ln.split()[:4] == ["lstm", "0.500", "0.550", "1.10x"] for ln in lines)
    assert lines[-1] == ("RTF stereo: one stereo call 0.2500 vs two mono calls 0.4000 "
                         "(1.60x faster per second of stereo audio)")
    assert time_split.format_channels([_split(2, 2.5, 0.5)]) == []


def test_time_split_channels_error_is_one_line(tmp_path, capsys):
    assert time_split.main(["--ckpt", str(tmp_path / "x.pt"), "--channels", "3"]) == 2
    assert capsys.readouterr().err.startswith("error:")


def test_time_split_bad_checkpoint_is_one_line(tmp_path, capsys):
    assert time_split.main(["--ckpt", str(tmp_path / "missing.pt")]) == 2
    assert capsys.readouterr().err.startswith("error:")


def test_step_floor_is_each_section_at_the_measured_rates():
    """The floor is arithmetic on measured rates: non-LSTM MACs at their dtype's peak, the LSTM's
    recurrent MACs at the C-row rate; the all-int8 floor prices every MAC at the int8 rates."""
    from profiling.peak import Peak, PeakPoint

    def point(dtype, rows, gmacs):  # a point of 1e6 MACs timed at the given rate
        return PeakPoint(dtype, "linear", rows, 1, 1, 10**6, 10**6 / (gmacs * 1e9) * 1e3, 1)

    peak = Peak("executorch", 1, [point("int8", 64, 100.0), point("int8", 2, 10.0), point("fp32", 64, 50.0),
                                  point("fp32", 2, 5.0)])
    T = time_split.SectionTime
    parts = [T("front", 10**6, 1.0, 1.0, 1.0),  # int8: 1e6 / 100e9 s = 0.01 ms
             T("lstm", 3 * 10**6, 1.0, 1.0, 1.0),  # 1e6 recurrent at 10 GMAC/s (0.1 ms) + 2e6 at 100 (0.02 ms)
             T("output", 10**6, 1.0, 1.0, 0.0)]  # fp32: 1e6 / 50e9 s = 0.02 ms; all int8: 0.01 ms
    run = time_split.Split(2, T("whole-step", 5 * 10**6, 3.0, 3.0, 0.8), parts, 10.0, 10**6)
    assert time_split.step_floor_ms(run, peak) == pytest.approx(0.01 + 0.12 + 0.02)
    assert time_split.step_floor_ms(run, peak, all_int8=True) == pytest.approx(0.01 + 0.12 + 0.01)
    text = time_split.format_split(run, peak, goal_rtf=0.01)
    assert "RTF 0.0140 all int8" in text and "no int8 export of this decoder can meet it" in text
    assert "the goal is above it" in time_split.format_split(run, peak, goal_rtf=0.02)
    assert time_split.step_floor_ms(run, Peak("executorch", 1, [point("int8", 64, 100.0)])) is None

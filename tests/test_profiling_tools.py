"""profiling.latency and profiling.report on tiny-config artifacts exported here: the latency
runner times every runtime in its own process, the report measures every artifact, renders
in a real browser with its plots visible, and is never left half-written."""
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("executorch")
pytest.importorskip("ai_edge_litert")
pytest.importorskip("matplotlib")

from profiling import latency, report  # noqa: E402


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny checkpoint and two artifacts at K=4 with manifests: ExecuTorch fp32 mono, LiteRT int8
    stereo (the CLI's default)."""
    import torch

    from mobile_export import executorch, litert
    from mobile_export.calibration import DEFAULT_CLIP
    from tqcodec.audio_io import load_audio, save_audio
    from tqcodec.checkpoint import save_checkpoint
    from tqcodec.configs import get_config
    from tqcodec.model import TQCodec

    root = tmp_path_factory.mktemp("profiling")
    torch.manual_seed(0)
    ckpt = root / "tiny.pt"
    save_checkpoint(ckpt, TQCodec(get_config("tiny")).eval(), extra={"trained": False})
    audio, sr = load_audio(DEFAULT_CLIP)
    clip = root / "clip.wav"
    save_audio(clip, audio[:, 3 * sr:5 * sr], sr)
    arts = root / "artifacts"
    # ExecuTorch insists on ≥ 20 s of verification music: the shipped clip (2 × 12 s).  One mono and
    # one stereo (the CLI's default) artifact: the profilers read the channel count from each manifest.
    assert executorch.main(["--ckpt", str(ckpt), "--out", str(arts / "executorch"), "--precision", "fp32",
                            "--chunk-frames", "4", "--channels", "1"]) == 0
    assert litert.main(["--ckpt", str(ckpt), "--out", str(arts / "litert"), "--chunk-frames", "4",
                        "--calibration", str(clip)]) == 0
    return ckpt, arts, clip


def test_find_artifacts_needs_a_manifest(exported, tmp_path):
    _, arts, _ = exported
    found = latency.find_artifacts(arts)
    assert sorted(p.suffix for p in found) == [".pte", ".tflite"]
    lone = tmp_path / "lone.tflite"
    lone.write_bytes(b"x")
    assert latency.find_artifacts(tmp_path) == []


def test_latency_measures_every_runtime_in_its_own_process(exported, tmp_path, capsys):
    ckpt, arts, _ = exported
    out = tmp_path / "lat.json"
    rc = latency.main(["--dir", str(arts), "--ckpt", str(ckpt), "--chunks", "4,8", "--threads", "1",
                       "--channels", "1,2", "--seconds", "0.5", "--peak-size", "64", "--json", str(out),
                       "--no-progress"])
    text = capsys.readouterr().out
    assert rc == 0, text
    data = json.loads(out.read_text())
    assert data["machine"]["cores"] >= 1 and data["machine"]["cpu"]
    rows = data["results"]
    got = {(r["backend"], r["precision"], r["chunk_frames"], r["channels"]) for r in rows}
    # the float decoder at every K, mono and stereo (--channels); each artifact at its own K and C
    assert got == {("torch", "fp32", 4, 1), ("torch", "fp32", 8, 1), ("torch", "fp32", 4, 2), ("torch", "fp32", 8, 2),
                   ("executorch", "fp32", 4, 1), ("litert", "int8", 4, 2)}
    for r in rows:
        assert r["status"] == "measured"
        assert r["chunks_timed"] >= 40 and 0 < r["ms_median"] <= r["ms_p95"]
        chunk_ms = r["chunk_frames"] * 64 / 44.1
        assert r["rtf_median"] == pytest.approx(r["ms_median"] / chunk_ms, rel=1e-3)
        # per second of stereo audio: one stereo call, or two mono calls
        assert r["rtf_stereo"] == pytest.approx((2 // r["channels"]) * r["ms_median"] / chunk_ms, rel=1e-3)
        assert r["peak_rss_mb"] > 50 and r["model_rss_mb"] >= 0
        assert r["macs_per_call"] > 0 and r["gmacs_run"] > 0
        if r["backend"] == "litert":  # no peak for LiteRT: not guessed
            assert r["peak"] is None and r["fraction_of_peak"] is None
        else:  # the runtime's peak, measured in the same worker at the same threads
            assert r["peak"]["runtime"] == r["backend"] and r["peak"]["threads"] == 1
            assert r["peak"]["peak_gmacs_per_s"]["fp32"] > 0 and 0 < r["fraction_of_peak"]
    by = {(r["backend"], r["chunk_frames"], r["channels"]): r for r in rows}
    assert by[("torch", 4, 2)]["macs_per_call"] == 2 * by[("torch", 4, 1)]["macs_per_call"]
    assert by[("executorch", 4, 1)]["macs_per_call"] == pytest.approx(by[("torch", 4, 1)]["macs_per_call"], rel=1e-6)
    assert "RTF med" in text and "RTF st" in text and "machine:" in text and "peak in the" in text
    assert any("executorch fp32 vs PyTorch float (K=4" in line for line in data["ratios"])
    assert any(line.startswith("PyTorch float stereo vs mono (K=4") for line in data["ratios"])


def test_latency_stereo_ratios():
    """Stereo against PyTorch float stereo and against the mono artifact of the same run."""
    M = latency.Measurement

    def row(backend, precision, channels, ms):
        return M("a", backend, precision, 16, 1, 50, ms, ms, ms / 23.22, ms / 23.22, channels=channels,
                 rtf_stereo=(2 // channels) * ms / 23.22)
    lines = latency.ratios([row("torch", "fp32", 2, 9.0), row("torch", "fp32", 1, 6.0),
                            row("executorch", "int8", 2, 3.0), row("executorch", "int8", 1, 2.0),
                            row("executorch", "fp32", 2, 6.0)])
    assert "executorch stereo int8 vs fp32 (K=16, 1 thr): 2.00x faster" in lines
    assert "executorch stereo int8 vs PyTorch float stereo (K=16, 1 thr): 3.00x faster" in lines
    stereo = next(ln for ln in lines if ln.startswith("executorch int8 stereo vs mono artifact"))
    assert "one stereo call 3.000 ms = 1.50x a mono call" in stereo and "(1.33x faster)" in stereo
    assert any(ln.startswith("PyTorch float stereo vs mono (K=16, 1 thr)") and "(1.33x faster)" in ln for ln in lines)


def test_latency_reports_a_broken_artifact_as_failed(exported, tmp_path, capsys):
    _, arts, _ = exported
    bad = tmp_path / "bad"
    shutil.copytree(arts / "litert", bad)
    tfl = next(bad.glob("*.tflite"))
    tfl.write_bytes(tfl.read_bytes()[:1000])
    rc = latency.main(["--dir", str(bad), "--chunks", "4", "--threads", "1", "--seconds", "0.2", "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 1 and "failed: worker exited" in out


def test_latency_lists_core_ml_as_not_runnable(exported, tmp_path):
    _, arts, _ = exported
    pkg = tmp_path / "tiny-int8-k4.mlpackage"
    pkg.mkdir()
    m = json.loads(next((arts / "litert").glob("*.manifest.json")).read_text())
    (tmp_path / "tiny-int8-k4.manifest.json").write_text(json.dumps({**m, "format": "coreml"}))
    jobs, skipped = latency.plan(tmp_path, None, [4], [1], 1.0)
    assert jobs == [] and [s.status for s in skipped] == ["not runnable here"]


@pytest.mark.parametrize("args,message", [
    (["--chunks", "0"], "positive integer"),
    (["--threads", "x"], "positive integer"),
    ([], "give --dir"),
])
def test_latency_argument_errors(args, message, capsys):
    with pytest.raises(SystemExit) as e:
        latency.main(args if args == [] else ["--dir", ".", *args])
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_latency_missing_folder(tmp_path, capsys):
    assert latency.main(["--dir", str(tmp_path / "nope")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


@pytest.fixture(scope="module")
def built_report(exported, tmp_path_factory):
    ckpt, arts, clip = exported
    out = tmp_path_factory.mktemp("report") / "report"
    # a profiling.latency result for the ExecuTorch artifact (its fields, its label = the file name)
    pte = next((arts / "executorch").glob("*.pte"))
    lat = out.parent / "latency.json"
    lat.write_text(json.dumps({"results": [{"label": pte.name, "status": "measured", "threads": 1, "channels": 1,
                                            "rtf_median": 0.0123, "rtf_stereo": 0.0246, "fraction_of_peak": 0.0375}]}))
    rc = report.main(["--ckpt", str(ckpt), "--artifacts", str(arts), "--out", str(out), "--clip", str(clip),
                      "--seconds", "2", "--latency", str(lat), "--no-progress"])
    assert rc == 0
    return out


def test_report_measures_every_artifact(built_report):
    out = built_report
    assert sorted(p.name for p in out.iterdir()) == ["layer_macs.png", "quality.png", "report.html", "report.md",
                                                     "spectrograms.png", "summary.json"]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], "temporary folder left behind"
    md = (out / "report.md").read_text()
    for name in ("layer_macs.png", "quality.png", "spectrograms.png"):
        assert f"]({name})" in md
    s = json.loads((out / "summary.json").read_text())
    assert s["config"] == "tiny" and s["trained"] is False
    arts = {a["backend"] + "-" + a["precision"]: a for a in s["artifacts"]}
    assert set(arts) == {"executorch-fp32", "litert-int8"}
    assert (arts["executorch-fp32"]["channels"], arts["litert-int8"]["channels"]) == (1, 2)
    assert arts["executorch-fp32"]["snr_vs_float_db"] > 80  # the fp32 artifact is the float decoder
    assert 10 < arts["litert-int8"]["snr_vs_float_db"] < 80
    names = [q["decoder"] for q in s["quality"]]
    assert names[0].startswith("float PyTorch") and len(names) == 3
    for q in s["quality"]:
        assert np.isfinite([q["lsd"], q["lsd_l"], q["lsd_h"], q["snr"]]).all()
    assert "UNTRAINED" in md
    assert "| RTF stereo | of peak |" in md and "| 0.0123 | 0.0246 | 3.8 % |" in md  # from the latency results
    assert arts["executorch-fp32"]["rtf_stereo_1thread"] == 0.0246
    assert arts["executorch-fp32"]["fraction_of_peak_1thread"] == 0.0375 and arts["litert-int8"]["rtf_1thread"] is None


def test_report_html_is_self_contained(built_report):
    html = (built_report / "report.html").read_text()
    assert html.count('src="data:image/png;base64,') == 3
    assert "src=\"http" not in html and "<link" not in html


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.mark.skipif(_chromium() is None, reason="no Chromium on this machine (Debian package 'chromium')")
def test_report_renders_in_a_real_browser(built_report, tmp_path):
    """Headless Chromium loads the file: every plot decodes, and the screenshot is not blank."""
    browser = _chromium()
    url = (built_report / "report.html").resolve().as_uri()
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000"]
    dom = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert 'data-plots-rendered="3/3"' in dom.stdout, dom.stderr[-2000:]
    shot = tmp_path / "shot.png"
    subprocess.run([*flags, f"--screenshot={shot}", "--window-size=1200,2400", url], capture_output=True,
                   timeout=120)
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)[..., :3]
    dark = (img.mean(axis=-1) < 0.5).mean()  # text, bars and spectrograms
    colourful = (img.std(axis=-1) > 0.15).mean()  # the plots' colours (magma, bars)
    assert dark > 0.02 and colourful > 0.01, (dark, colourful)


def test_report_user_errors(tmp_path, capsys):
    assert report.main(["--ckpt", str(tmp_path / "none.pt"), "--out", str(tmp_path / "r")]) == 2
    assert "none.pt: no such checkpoint file" in capsys.readouterr().err
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert report.main(["--ckpt", str(bad), "--artifacts", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    assert "bad.pt: not a TQCodec checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()

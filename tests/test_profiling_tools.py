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
    """A tiny checkpoint and two artifacts (ExecuTorch fp32, LiteRT int8) at K=4, with manifests."""
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
    # ExecuTorch insists on ≥ 20 s of verification music: the shipped clip (2 × 12 s)
    assert executorch.main(["--ckpt", str(ckpt), "--out", str(arts / "executorch"), "--precision", "fp32",
                            "--chunk-frames", "4"]) == 0
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
                       "--seconds", "0.5", "--json", str(out), "--no-progress"])
    text = capsys.readouterr().out
    assert rc == 0, text
    data = json.loads(out.read_text())
    assert data["machine"]["cores"] >= 1 and data["machine"]["cpu"]
    rows = data["results"]
    got = {(r["backend"], r["precision"], r["chunk_frames"]) for r in rows}
    # the float decoder at every K; each artifact only at its own K (4)
    assert got == {("torch", "fp32", 4), ("torch", "fp32", 8), ("executorch", "fp32", 4), ("litert", "int8", 4)}
    for r in rows:
        assert r["status"] == "measured"
        assert r["chunks_timed"] >= 40 and 0 < r["ms_median"] <= r["ms_p95"]
        chunk_ms = r["chunk_frames"] * 64 / 44.1
        assert r["rtf_median"] == pytest.approx(r["ms_median"] / chunk_ms, rel=1e-3)
        assert r["peak_rss_mb"] > 50 and r["model_rss_mb"] >= 0
    assert "RTF med" in text and "machine:" in text
    assert any("vs PyTorch float" in line for line in data["ratios"])


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
    rc = report.main(["--ckpt", str(ckpt), "--artifacts", str(arts), "--out", str(out), "--clip", str(clip),
                      "--seconds", "2", "--no-progress"])
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
    assert arts["executorch-fp32"]["snr_vs_float_db"] > 80  # the fp32 artifact is the float decoder
    assert 10 < arts["litert-int8"]["snr_vs_float_db"] < 80
    names = [q["decoder"] for q in s["quality"]]
    assert names[0].startswith("float PyTorch") and len(names) == 3
    for q in s["quality"]:
        assert np.isfinite([q["lsd"], q["lsd_l"], q["lsd_h"], q["snr"]]).all()
    assert "UNTRAINED" in md


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

"""One Backend interface, one CLI: every backend answers the same flags, the documented per-backend
commands are the CLI with the backend set, and a flag a backend cannot honour is one error line."""
import subprocess
import sys
from pathlib import Path

import pytest

from mobile_export import artifact, backends, cli
from mobile_export.errors import ArtifactError, ExportError
from mobile_export.pipeline import ExportJob

ROOT = Path(__file__).resolve().parents[1]


def test_registry_and_formats_agree():
    for name in backends.NAMES:
        try:
            b = backends.get_backend(name)
        except ExportError as e:  # a toolchain that is not installed here is reported, not hidden
            pytest.skip(str(e))
        assert b.name == name and isinstance(b, backends.Backend)
        assert artifact.FORMAT_SUFFIX[b.format] == b.suffix
        assert backends.backend_name_for_suffix(Path("x" + b.suffix)) == name
        assert b.precisions[0] == "int8"


def test_errors_are_value_errors_the_clis_print_as_one_line():
    assert issubclass(ArtifactError, ExportError) and issubclass(ExportError, ValueError)
    with pytest.raises(ExportError, match="unknown backend 'tflite'"):
        backends.get_backend("tflite")


@pytest.mark.parametrize("backend, args, message", [
    ("executorch", ["--weights-only"], "--weights-only: executorch has no weights-only int8 mode"),
    ("coreml", ["--sensitivity", "1"], "--sensitivity: coreml has no per-layer sensitivity"),
    ("litert", ["--precision", "fp16"], "--precision fp16: litert exports int8, fp32"),
    ("onnx", ["--chunk-frames", "0"], "--chunk-frames must be between 1 and 256"),
    ("onnx", ["--threads", "0"], "--threads must be ≥ 1"),
    ("onnx", ["--calibration-seconds", "-1"], "--calibration-seconds must be positive"),
    ("onnx", ["--precision", "fp32", "--keep-float", "conv_out"], "--keep-float only applies to --precision int8"),
    ("onnx", ["--ckpt", "/nonexistent/x.pt"], "no such checkpoint"),
])
def test_flags_a_backend_cannot_honour_are_one_line(backend, args, message, tmp_path, capsys):
    argv = ["--backend", backend, "--ckpt", str(tmp_path / "x.pt"), "--out", str(tmp_path)] + args
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]


def test_job_defaults_are_the_clis():
    job = ExportJob(Path("x.pt"), Path("out"))
    assert (job.precision, job.chunk_frames, job.threads, job.keep_float) == ("int8", 16, 1, None)


@pytest.mark.parametrize("module", ["mobile_export", "mobile_export.executorch", "mobile_export.litert",
                                    "mobile_export.coreml", "mobile_export.onnx"])
def test_documented_commands_share_one_set_of_flags(module):
    r = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, cwd=ROOT,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-1000:]
    for flag in ("--ckpt", "--out", "--precision", "--chunk-frames", "--calibration", "--calibration-seconds",
                 "--keep-float", "--sensitivity", "--threads"):
        assert flag in r.stdout, (module, flag)
    assert ("--backend" in r.stdout) == (module == "mobile_export")

"""The layers hold: tqcodec <- mobile_export <- profiling, never upward, and no import cycle inside a
package (``lint-imports`` with the contracts in pyproject.toml); imports inside functions are only
for the heavy optional toolchains."""
import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = shutil.which("lint-imports")
# imported inside functions on purpose: optional and slow to import (a runner must not pay for a quantizer)
HEAVY = {"executorch", "coremltools", "litert_torch", "ai_edge_litert", "onnxruntime", "onnx", "matplotlib",
         "torchao", "threadpoolctl", "mobile_export.backends.executorch.quantizer"}


def _lint(config: Path | None = None) -> subprocess.CompletedProcess:
    cmd = [LINT, "--no-cache"] + (["--config", str(config)] if config else [])
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)


@pytest.mark.skipif(LINT is None, reason="import-linter not installed (pip install 'tqcodec-mobile[dev]')")
def test_lint_imports_keeps_every_contract():
    r = _lint()
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "layers KEPT" in r.stdout.replace("never upward KEPT", "layers KEPT")
    assert "BROKEN" not in r.stdout


@pytest.mark.skipif(LINT is None, reason="import-linter not installed")
def test_the_layers_contract_catches_an_upward_import(tmp_path):
    """A copy of the three packages with one upward import added (tqcodec -> mobile_export) breaks
    the contract: the check can fail, and names the offending import."""
    for package in ("tqcodec", "mobile_export", "profiling"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "tqcodec" / "upward.py").write_text("import mobile_export.runners  # deliberately upward\n")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    r = subprocess.run([LINT, "--no-cache"], capture_output=True, text=True, cwd=tmp_path, timeout=600,
                       env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert r.returncode != 0 and "BROKEN" in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]
    assert "tqcodec.upward -> mobile_export.runners" in r.stdout


def _function_imports(path: Path):
    tree = ast.parse(path.read_text())
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.Import):
                yield node.lineno, [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                yield node.lineno, ["." * node.level + (node.module or "")]


def test_imports_inside_functions_are_only_heavy_toolchains():
    bad = []
    for package in ("mobile_export", "profiling"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, modules in _function_imports(path):
                for mod in modules:
                    top = mod if mod in HEAVY else mod.lstrip(".").split(".")[0]
                    lazy_backend_part = (path.parent.parent.name == "backends" and path.name == "__init__.py"
                                         and mod in (".export", ".macs"))
                    if top not in HEAVY and not lazy_backend_part:
                        bad.append(f"{path.relative_to(ROOT)}:{line}: {mod}")
    assert not bad, "imports inside functions that are no heavy toolchain:\n" + "\n".join(bad)


def test_artifact_decoder_entry_point_is_declared():
    """``tqcodec decode --artifact`` can find the runner without importing mobile_export by name."""
    if sys.version_info < (3, 11):
        pytest.skip("tomllib")
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    target = project["entry-points"]["tqcodec.artifact_decoders"]["mobile_export"]
    module, attr = target.split(":")
    import importlib

    assert callable(getattr(importlib.import_module(module), attr))

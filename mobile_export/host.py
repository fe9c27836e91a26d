"""What a figure was measured on: the one host description of the project.

Latency and real-time factors mean nothing without the machine, so every manifest that
records a timing, ``profiling.latency`` and the main job's summary describe it here.
"""
from __future__ import annotations

import os
import platform

from .versions import versions


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return cpu


def describe_machine() -> dict:
    """CPU, cores, memory, load, OS and the runtime versions."""
    mem_gb = None
    try:
        with open("/proc/meminfo") as f:
            mem_gb = round(int(f.readline().split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    return {"cpu": cpu_model(), "machine": platform.machine(), "cores": os.cpu_count(), "memory_gb": mem_gb,
            "load_average_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
            "os": platform.platform(),
            "versions": {"python": platform.python_version(),
                         **versions(("torch", "executorch", "ai-edge-litert", "onnxruntime"))}}


def host_line() -> str:
    """One line for a manifest: machine, CPU model, cores."""
    return f"{platform.machine()} {cpu_model()}, {os.cpu_count()} cores".strip()

"""A standing fuzz of the decode paths with forged-but-valid streams (every CRC right,
sequence numbers, frame counts, geometry, total_samples and codes lying), fixed seed, a
few seconds: the reader raises nothing but TQCError, the concealment plan stays bounded by
the packets, and the CLI (in-process, tiny checkpoint, strict, --lenient, --start) exits 0
or 2 with one line, never a traceback, never a hang.  ``scripts/fuzz_decode.py`` is the
same generator for long runs (100,000 cases and more).
"""
from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from tqcodec import bitstream as bs
from tqcodec.concealment import MAX_CONCEAL_FRAMES, plan_concealment

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("fuzz_decode", ROOT / "scripts" / "fuzz_decode.py")
fuzz_decode = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fuzz_decode)


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_reader_and_planner_on_forged_streams(ckpt):
    fits = fuzz_decode.decoder_fields(ckpt)
    rng = np.random.default_rng(1234)
    t = time.perf_counter()
    for _ in range(400):
        data = fuzz_decode.forged_stream(rng, fits)
        for strict in (True, False):
            reader = bs.StreamReader(strict=strict)
            try:
                packets = reader.feed(data) + reader.finish()
            except bs.TQCError as e:
                assert strict or e.kind in bs.FATAL_KINDS, e
                continue
            h = reader.header
            plan = plan_concealment(packets, h.frames_per_packet, h.hop_length)
            assert plan.output_frames <= sum(p.frames for p in packets) + len(packets) * MAX_CONCEAL_FRAMES
    assert time.perf_counter() - t < 30


def test_cli_decode_paths_on_forged_streams(tmp_path, ckpt, one_thread):
    r = fuzz_decode.fuzz(150, seed=7, ckpt=ckpt, work=tmp_path, timeout=30.0, progress=False)
    assert r["failures"] == [], r["failures"]
    assert r["tally"].get("ok", 0) > 20 and r["tally"].get("refused", 0) > 20, r["tally"]  # both paths exercised
    assert {"decoder_mismatch", "fingerprint_mismatch"} <= set(r["kinds"]), r["kinds"]
    assert r["slowest_s"] < 30

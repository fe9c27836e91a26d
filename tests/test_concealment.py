"""The one concealment policy (docs/bitstream.md): the planner, the fades, and the plans
the golden vectors pin for the Java and Swift players."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tqcodec import bitstream as bs
from tqcodec import concealment as cc

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "tests" / "vectors"
MANIFEST = json.loads((VECTORS / "manifest.json").read_text())


@dataclass
class P:
    sequence: int
    frames: int
    lost_before: int = 0


def test_policy_block_holds_the_constants():
    assert MANIFEST["policy"] == {"max_conceal_frames": cc.MAX_CONCEAL_FRAMES, "fade_samples": cc.FADE_SAMPLES,
                                  "seek_preroll_frames": cc.SEEK_PREROLL_FRAMES}


def test_constants_match_the_document():
    doc = (ROOT / "docs" / "bitstream.md").read_text()
    assert f"MAX_CONCEAL_FRAMES = {cc.MAX_CONCEAL_FRAMES}" in doc
    assert f"FADE_SAMPLES = {cc.FADE_SAMPLES}" in doc
    assert re.search(rf"SEEK_PREROLL_FRAMES = {cc.SEEK_PREROLL_FRAMES}\b", doc)


@pytest.mark.parametrize("case", [c for c in MANIFEST["cases"] if c["streaming"]["fatal"] is None],
                         ids=lambda c: Path(c["file"]).stem)
def test_manifest_plans_are_the_planners(case):
    header = None
    if case["header_from"]:
        header = bs.StreamHeader.from_dict(json.loads((VECTORS / case["header_from"]).read_text())["header"])
    reader = bs.StreamReader(strict=False, header=header, first_sequence=None if header else 0)
    packets = reader.feed((VECTORS / case["file"]).read_bytes()) + reader.finish()
    h = reader.header
    plan = cc.plan_concealment(packets, h.frames_per_packet, h.hop_length)
    assert plan.to_dict() == case["concealment"]


def test_every_case_with_a_streaming_result_has_a_plan():
    for case in MANIFEST["cases"]:
        assert (case["concealment"] is None) == (case["streaming"]["fatal"] is not None), case["file"]


def test_short_and_long_gaps():
    plan = cc.plan_concealment([P(0, 32), P(3, 32, lost_before=2), P(100, 32, lost_before=96)], 32, 64)
    assert [list(s) for s in plan.steps] == [["decode", 0, 32], ["conceal", 64], ["decode", 3, 32],
                                             ["conceal", 4], ["reset"], ["decode", 100, 32]]
    assert plan.output_frames == 32 + 64 + 32 + 4 + 32
    assert [[list(s) for s in seg] for seg in plan.segments()] == [
        [["decode", 0, 32], ["conceal", 64], ["decode", 3, 32], ["conceal", 4]], [["decode", 100, 32]]]


def test_fade_tail_rounds_up():
    assert cc.fade_frames(64) == 4 and cc.fade_frames(100) == 3 and cc.fade_frames(1) == 256


def test_output_is_bounded_by_the_packets_whatever_they_claim():
    rng = np.random.default_rng(0)
    packets = [P(int(s), int(f), int(d)) for s, f, d in zip(rng.integers(0, 65536, 500), rng.integers(1, 256, 500),
                                                           rng.integers(0, 32768, 500))]
    plan = cc.plan_concealment(packets, 255, 1)
    assert plan.output_frames <= sum(p.frames for p in packets) + len(packets) * cc.MAX_CONCEAL_FRAMES


def test_fades():
    hop = 64
    plan = cc.plan_concealment([P(0, 8), P(3, 8, lost_before=2)], 8, hop)  # decode 8, conceal 16, decode 8
    audio = np.ones((2, plan.output_frames * hop), np.float32)
    cc.apply_fades(audio, plan, hop)
    a = audio[0]
    assert np.all(a[:8 * hop] == 1.0)  # played normally
    conceal = a[8 * hop: 24 * hop]
    assert conceal[0] == pytest.approx(1.0) and np.all(np.diff(conceal[:cc.FADE_SAMPLES]) < 0)
    assert np.all(conceal[cc.FADE_SAMPLES:] == 0.0)
    rise = a[24 * hop:]
    assert rise[0] == 0.0 and np.all(np.diff(rise[:cc.FADE_SAMPLES]) > 0)
    assert np.all(rise[cc.FADE_SAMPLES:] == 1.0)
    assert np.array_equal(audio[0], audio[1])


def test_fade_in_spans_short_packets_and_a_conceal_starts_from_the_level_reached():
    hop = 64  # one-frame packets (64 samples) are shorter than the 256-sample fade-in
    plan = cc.plan_concealment([P(0, 1), P(2, 1, lost_before=1), P(3, 1), P(5, 1, lost_before=1)], 1, hop)
    audio = np.ones((1, plan.output_frames * hop), np.float32)
    cc.apply_fades(audio, plan, hop)
    a = audio[0]
    # decode 1 | conceal 1 | decode 1 | decode 1 | conceal 1 | decode 1
    rise = cc.fade_in()
    assert np.allclose(a[2 * hop: 4 * hop], rise[:2 * hop])  # the fade-in continues into the next packet
    level = rise[2 * hop - 1]
    assert a[4 * hop] == pytest.approx(level)  # the second fade-out starts where the fade-in got to
    assert np.all(a[4 * hop: 5 * hop] <= level)


def test_conceal_before_anything_was_played_is_silent():
    plan = cc.plan_concealment([P(2, 4, lost_before=2)], 4, 64)
    audio = np.ones((1, plan.output_frames * 64), np.float32)
    cc.apply_fades(audio, plan, 64)
    assert np.all(audio[0, :8 * 64] == 0.0)

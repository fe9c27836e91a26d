"""The pieces every backend shares: the one streaming calibrator, the one SNR, the one timing
harness, the one sensitivity meaning, the one folder swap."""
import numpy as np
import pytest
import torch

from mobile_export.atomic_folder import atomic_folder
from mobile_export.calibration import chunks_covering, positional_step, stream_codes
from mobile_export.sensitivity import layer_gains
from tqcodec.metrics import SNR_CAP_DB, snr_db
from mobile_export.timing import TimedRunner


def test_snr_is_pooled_and_capped():
    ref = np.sin(np.linspace(0, 100, 10_000))
    assert snr_db(ref, ref) == SNR_CAP_DB
    assert snr_db(ref, ref + 0.1 * ref) == pytest.approx(20.0)
    assert snr_db(np.zeros(10), np.ones(10)) == -SNR_CAP_DB


def test_stream_codes_carries_state_like_the_offline_decoder(tiny_model):
    from tqcodec.prune import prune

    dec = prune(tiny_model, {}).streaming(4)
    codes = torch.randint(0, 512, (2, dec.n_q, 24), generator=torch.Generator().manual_seed(0))
    pieces = [(i, start, y.reshape(-1)) for i, start, y in
              stream_codes(positional_step(dec), dec.init_state, codes, 4)]
    assert [(i, s) for i, s, _ in pieces] == [(i, s) for i in range(2) for s in range(0, 24, 4)]
    with torch.no_grad():
        for i in range(2):
            streamed = torch.cat([y for j, _, y in pieces if j == i])
            assert torch.allclose(streamed, dec.decode(codes[i]), atol=1e-5)
    assert len(list(stream_codes(positional_step(dec), dec.init_state, codes, 4, max_chunks=2))) == 4
    assert chunks_covering(None, 689.0625, 16) is None and chunks_covering(1.0, 689.0625, 16) == 44


def test_timed_runner_excludes_warmup():
    timed = TimedRunner(lambda codes, state: (codes, state))
    for i in range(30):
        timed(i, [])
    s = timed.summary(chunk_seconds=0.01, threads=1, runtime="test", warmup=10)
    assert s["chunks_timed"] == 20 and s["warmup_chunks_excluded"] == 10
    assert s["real_time_factor_median"] >= 0 and s["host"]


def test_layer_gains_have_one_meaning():
    """gain = SNR with the layer (alone, on top of the baseline) float minus the baseline SNR."""
    table = {(): 30.0, ("a",): 31.0, ("b",): 35.0, ("c",): 29.5}
    base, gains = layer_gains(lambda keep: table[keep], {"a": 0.1, "b": 0.2, "c": 0.3}, progress=False)
    assert base == 30.0
    assert [(g.module, g.gain_db) for g in gains] == [("b", 5.0), ("a", 1.0), ("c", -0.5)]


def test_atomic_folder_swaps_or_leaves_the_old(tmp_path):
    target = tmp_path / "pkg"
    with atomic_folder(target) as staged:
        staged.mkdir()
        (staged / "a").write_text("1")
    assert (target / "a").read_text() == "1"
    with pytest.raises(RuntimeError):
        with atomic_folder(target) as staged:
            staged.mkdir()
            (staged / "a").write_text("2")
            raise RuntimeError("writer failed")
    assert (target / "a").read_text() == "1" and sorted(p.name for p in tmp_path.iterdir()) == ["pkg"]
    with atomic_folder(target) as staged:
        staged.mkdir()
        (staged / "b").write_text("3")
    assert sorted(p.name for p in target.iterdir()) == ["b"] and len(list(tmp_path.iterdir())) == 1

"""The on-disk training data: prepare a cache from many small files, read segments from it
(memory-mapped, silence skipped, held-out tracks never drawn, workers), and clear errors."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from tqcodec.train.data import DataError
from tqcodec.train.dataset import AudioCache, SegmentDataset, StepBatches, segment_loader, validation_excerpts
from tqcodec.train.prepare import prepare

N_FILES = 240
SR = 44_100
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def music(tmp_path_factory) -> Path:
    """240 files of 0.1 s, in nested folders; each file's samples carry its number, so a
    segment tells which file it came from; every tenth file is pure silence."""
    root = tmp_path_factory.mktemp("many")
    for i in range(N_FILES):
        folder = root / f"album{i % 7}"
        folder.mkdir(exist_ok=True)
        level = 0.0 if i % 10 == 9 else (i + 8) / 1024  # ≥ -42 dBFS: loud
        sf.write(folder / f"track{i:03d}.wav", np.full((SR // 10, 1 + i % 2), level, np.float32), SR,
                 subtype="PCM_16")
    return root


@pytest.fixture(scope="module")
def cache(music, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cache")
    prepare([str(music)], out, val_fraction=0.1, progress=False)
    return out


def file_number(segment: torch.Tensor) -> int:
    return int(round(float(segment.flatten()[0]) * 1024)) - 8


def test_prepare_writes_one_array_per_track_and_an_index(cache):
    index = json.loads((cache / "index.json").read_text())
    assert len(index["tracks"]) == N_FILES
    val = [t for t in index["tracks"] if t["split"] == "val"]
    assert 0 < len(val) < N_FILES // 4
    first = index["tracks"][0]
    audio = np.load(cache / first["file"], mmap_mode="r")
    assert isinstance(audio, np.memmap) and audio.dtype == np.int16
    assert audio.shape == (first["channels"], first["length"]) == (first["channels"], SR // 10)
    silent = [t for t in index["tracks"] if t["key"].endswith(("9.wav",))]
    assert silent and all(t["loud_fraction"] == 0 for t in silent)
    assert all(t["loud_fraction"] == 1 for t in index["tracks"] if not t["key"].endswith("9.wav"))


def test_prepare_again_reuses_unchanged_files(music, cache):
    before = {p.name: p.stat().st_mtime_ns for p in (cache / "audio").iterdir()}
    prepare([str(music)], cache, val_fraction=0.1, progress=False)
    assert {p.name: p.stat().st_mtime_ns for p in (cache / "audio").iterdir()} == before


def test_segments_come_from_disk_skip_silence_and_never_from_held_out_tracks(cache):
    train, val = AudioCache(cache, "train"), AudioCache(cache, "val")
    assert set(train.keys).isdisjoint(val.keys)
    numbers_of = {int(k[-7:-4]) for k in train.keys}
    held_numbers = {int(k[-7:-4]) for k in val.keys}
    dataset = SegmentDataset(train, 2048, seed=3)
    drawn = [dataset[i] for i in range(400)]
    assert all(x.shape == (1, 2048) and x.dtype == torch.float32 for x in drawn)
    got = {file_number(x) for x in drawn}
    assert got <= numbers_of and got.isdisjoint(held_numbers)
    assert all(n % 10 != 9 for n in got), "silent files are never drawn"
    assert len(got) > 100, "segments spread over the files"
    assert train._maps and all(isinstance(m, np.memmap) for m in train._maps.values())
    assert torch.equal(dataset[17], SegmentDataset(AudioCache(cache, "train"), 2048, seed=3)[17])
    assert not torch.equal(dataset[17], SegmentDataset(train, 2048, seed=4)[17])


def test_workers_give_the_same_batches_as_the_main_process(cache):
    dataset = SegmentDataset(AudioCache(cache, "train"), 1024, seed=0)
    plain = segment_loader(dataset, StepBatches(8, start_step=5), num_workers=0)
    workers = segment_loader(dataset, StepBatches(8, start_step=5), num_workers=2)
    for (a, b), _ in zip(zip(plain, workers), range(4)):
        assert a.shape == (8, 1, 1024) and torch.equal(a, b)
    batches = iter(segment_loader(dataset, StepBatches(8, start_step=0), num_workers=2))
    batch0, batch1 = next(batches), next(batches)
    assert not torch.equal(batch0, batch1), "workers draw distinct segments"


def test_ranks_partition_each_global_batch():
    whole = next(iter(StepBatches(8, start_step=3)))
    parts = [next(iter(StepBatches(8, start_step=3, rank=r, world_size=4))) for r in range(4)]
    assert sum(parts, []) == whole == list(range(24, 32))
    with pytest.raises(ValueError, match="does not split evenly across 3"):
        StepBatches(8, world_size=3)


def test_validation_excerpts_are_fixed_windows_of_held_out_tracks(cache):
    val = AudioCache(cache, "val")
    excerpts = validation_excerpts(val, 4096, per_track=1, min_length=1024)
    loud = [t for t in val.tracks if t["loud_fraction"] > 0]
    assert len(excerpts) == len(loud)
    assert all(x.shape[1] == 4096 and x.dtype == np.float32 for _, x in excerpts)


def test_a_folder_without_audio_is_named(tmp_path):
    empty = tmp_path / "notes"
    empty.mkdir()
    (empty / "readme.txt").write_text("no music here")
    with pytest.raises(DataError, match=f"{empty}: no audio files"):
        prepare([str(empty)], tmp_path / "cache", progress=False)
    with pytest.raises(DataError, match="missing: not a directory"):
        prepare([str(tmp_path / "missing")], tmp_path / "cache", progress=False)


def test_an_unreadable_file_is_named_with_the_reason(music, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    sf.write(bad / "good.wav", np.zeros((4410, 1), np.float32), SR)
    (bad / "broken.ogg").write_bytes(b"OggS" + b"\x00" * 100)
    proc = subprocess.run([sys.executable, "-m", "tqcodec.train.prepare", "--data", str(bad),
                           "--out", str(tmp_path / "cache"), "--val-fraction", "0", "--no-progress"],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"error: {bad / 'broken.ogg'}: cannot read audio (")

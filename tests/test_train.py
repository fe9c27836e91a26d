"""Training on a tiny config with generated audio: learning (fp32 and bf16), the adversarial phase,
the LR schedule, init from a checkpoint, exact resume, clear resume errors, data rules."""
import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from tqcodec.audio_io import AudioError, load_audio, save_audio
from tqcodec.train import ResumeError, Trainer, TrainOptions
from tqcodec.checkpoint import save_checkpoint
from tqcodec.configs import get_config
from tqcodec.model import TQCodec
from tqcodec.train.data import DataError, find_tracks, hold_out, split_tracks
from tqcodec.train.discriminators import DiscriminatorConfig

SMALL_D = DiscriminatorConfig(periods=(2, 3), mpd_channels=(4, 8, 8), fft_sizes=(512,), mrd_channels=4)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The tiny model is overhead-bound: one thread is as fast and far faster on a shared CPU."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """Four 1.5-s files at several rates and channel counts: tones plus a little noise."""
    root = tmp_path_factory.mktemp("audio")
    rng = np.random.default_rng(0)
    for i, (sr, ch) in enumerate([(44_100, 1), (48_000, 2), (22_050, 1), (44_100, 2)]):
        t = np.arange(int(1.5 * sr)) / sr
        x = 0.3 * np.sin(2 * np.pi * 220 * (i + 1) * t)[:, None] + 0.05 * rng.standard_normal((len(t), ch))
        sf.write(root / f"track{i}.wav", x.astype(np.float32), sr)
    return root


def options(data_dir: Path, out: Path, **kw) -> TrainOptions:
    base = dict(config="tiny", data=[str(data_dir)], out=str(out), batch=2, segment_seconds=0.05,
                val_seconds=0.25, val_per_track=1, val_every=2, save_every=2, progress=False, disc=SMALL_D)
    base.update(kw)
    return TrainOptions(**base)


def read_log(run: Path) -> list[dict]:
    with open(run / "log.csv", newline="") as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_generator_steps_lower_the_loss_on_a_fixed_batch(data_dir, tmp_path, precision):
    trainer = Trainer(options(data_dir, tmp_path / "run", adv_start=10**9, lr=1e-3, precision=precision))
    batch = trainer.batch()
    losses = [trainer.train_step(batch)["loss_g"] for _ in range(20)]
    assert trainer.step == 20
    assert np.mean(losses[-3:]) < 0.8 * np.mean(losses[:3])
    # bf16 autocast touches only the forward passes: weights and AdamW state stay fp32.
    assert all(p.dtype == torch.float32 for p in trainer.generator.parameters())
    assert all(v.dtype == torch.float32 for st in trainer.opt_g.state.values() for v in st.values() if v.numel() > 1)


def test_adversarial_phase_trains_the_discriminators(data_dir, tmp_path):
    trainer = Trainer(options(data_dir, tmp_path / "run", adv_start=1, steps=3))
    before = {k: v.clone() for k, v in trainer.discriminator.state_dict().items()}
    first = trainer.train_step(trainer.batch())
    assert "loss_d" not in first and "adv_g" not in first  # step 1 is before adv_start
    assert all(torch.equal(before[k], v) for k, v in trainer.discriminator.state_dict().items())
    second = trainer.train_step(trainer.batch())
    assert second["loss_d"] > 0 and second["feature"] > 0 and second["adv_g"] != 0 and second["grad_norm_d"] > 0
    changed = [k for k, v in trainer.discriminator.state_dict().items() if not torch.equal(before[k], v)]
    assert len(changed) == len(before), "every discriminator weight moves in an adversarial step"


def test_learning_rate_decays_exponentially_per_step(data_dir, tmp_path):
    trainer = Trainer(options(data_dir, tmp_path / "run", adv_start=0, lr=1e-3, lr_gamma=0.5))
    rates = [trainer.train_step(trainer.batch())["lr"] for _ in range(3)]
    assert rates == pytest.approx([1e-3, 5e-4, 2.5e-4])
    assert trainer.opt_d.param_groups[0]["lr"] == trainer.opt_g.param_groups[0]["lr"] == pytest.approx(2.5e-4)


def test_init_from_loads_the_generator_and_refuses_another_config(data_dir, tmp_path):
    source = TQCodec(get_config("tiny"))
    torch.nn.init.constant_(next(source.parameters()), 0.125)
    save_checkpoint(tmp_path / "g.pt", source, step=7)
    trainer = Trainer(options(data_dir, tmp_path / "run", init_from=str(tmp_path / "g.pt")))
    for (k, a), b in zip(trainer.generator.state_dict().items(), source.state_dict().values()):
        assert torch.equal(a, b), k
    other = TQCodec(get_config("tiny-subband"))
    save_checkpoint(tmp_path / "other.pt", other)
    with pytest.raises(ValueError, match="config 'tiny-subband', not 'tiny'"):
        Trainer(options(data_dir, tmp_path / "run2", init_from=str(tmp_path / "other.pt")))


def test_resume_continues_exactly_like_an_uninterrupted_run(data_dir, tmp_path):
    # adv_start=1: step 1 is generator-only, later steps train the discriminators too.
    Trainer(options(data_dir, tmp_path / "a", steps=4, adv_start=1)).fit()
    Trainer(options(data_dir, tmp_path / "b", steps=2, adv_start=1)).fit()
    resumed = Trainer(options(data_dir, tmp_path / "b", steps=4, adv_start=1, resume=True))
    assert resumed.step == 2
    resumed.fit()

    assert read_log(tmp_path / "a") == read_log(tmp_path / "b")
    a = torch.load(tmp_path / "a" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "b" / "last.pt", weights_only=True)
    assert a["step"] == b["step"] == 4
    for part in ("generator", "discriminator"):
        assert a[part].keys() == b[part].keys()
        for k in a[part]:
            assert torch.equal(a[part][k], b[part][k]), f"{part}.{k} differs after resume"
    assert a["opt_d"]["state"], "discriminator optimizer never stepped"
    assert a["best_lsd"] == b["best_lsd"]
    assert (tmp_path / "b" / "generator.pt").is_file() and (tmp_path / "b" / "loss.png").is_file()


@pytest.fixture
def finished_run(data_dir, tmp_path) -> Path:
    run = tmp_path / "run"
    Trainer(options(data_dir, run, steps=1, val_every=0)).fit()
    return run


def test_corrupt_resume_state_is_a_clear_error(data_dir, finished_run):
    state = finished_run / "last.pt"
    state.write_bytes(state.read_bytes()[:5000])  # truncated, as after a crash mid-copy
    with pytest.raises(ResumeError, match=str(state)):
        Trainer(options(data_dir, finished_run, steps=2, resume=True))
    state.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ResumeError, match="not a readable training state"):
        Trainer(options(data_dir, finished_run, steps=2, resume=True))


def test_mismatched_resume_state_is_a_clear_error(data_dir, finished_run):
    with pytest.raises(ResumeError, match=r"last\.pt: run was trained with config 'tiny', not 'tiny-subband'"):
        Trainer(options(data_dir, finished_run, config="tiny-subband", steps=2, resume=True))
    with pytest.raises(ResumeError, match="other discriminators"):
        Trainer(options(data_dir, finished_run, steps=2, resume=True, disc=DiscriminatorConfig()))
    with pytest.raises(ResumeError, match="pass --resume"):
        Trainer(options(data_dir, finished_run, steps=2))


def test_cli_reports_bad_resume_state_without_traceback(data_dir, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "last.pt").write_bytes(b"\x00" * 64)
    proc = subprocess.run([sys.executable, "-m", "tqcodec.train", "--config", "tiny", "--data", str(data_dir),
                           "--out", str(run), "--resume", "--no-progress"],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert proc.returncode == 2
    assert "error:" in proc.stderr and str(run / "last.pt") in proc.stderr
    assert "Traceback" not in proc.stderr


def test_split_is_deterministic_disjoint_and_ignores_symlinked_duplicates(data_dir, tmp_path):
    tracks = find_tracks([data_dir])
    assert [t.key for t in tracks] == [f"track{i}.wav" for i in range(4)]
    train, val = split_tracks(tracks, 0.1)
    assert len(val) == 1 and {t.key for t in train} | {t.key for t in val} == {t.key for t in tracks}
    again_train, again_val = split_tracks(find_tracks([data_dir]), 0.1)
    assert [t.key for t in again_val] == [t.key for t in val]
    linked = tmp_path / "linked"
    linked.mkdir()
    for t in tracks:
        (linked / t.key).symlink_to(t.path)
        (linked / f"alias-{t.key}").symlink_to(t.path)
    assert len(find_tracks([linked])) == 4


def test_val_data_holds_out_exactly_its_files_even_inside_a_training_folder(data_dir, tmp_path):
    held = tmp_path / "held"
    held.mkdir()
    (held / "song.wav").symlink_to(data_dir / "track2.wav")
    train, val = hold_out(find_tracks([data_dir]), find_tracks([held]))
    assert [t.key for t in train] == ["track0.wav", "track1.wav", "track3.wav"]
    assert [t.key for t in val] == ["song.wav"]
    trainer = Trainer(options(data_dir, tmp_path / "run", val_data=[str(held)], steps=1))
    assert trainer.val_cache.keys == ["song.wav"] and len(trainer.train_cache.keys) == 3
    with pytest.raises(DataError, match="nothing is left to train on"):
        hold_out(find_tracks([data_dir]), find_tracks([data_dir]))


def test_audio_io_resamples_refuses_surround_and_writes_atomically(data_dir, tmp_path):
    audio, sr = load_audio(data_dir / "track1.wav")  # 48 kHz stereo
    assert sr == 48_000 and audio.dtype == np.float32 and audio.shape == (2, round(1.5 * 44_100))
    sf.write(tmp_path / "surround.wav", np.zeros((100, 6), np.float32), 44_100)
    with pytest.raises(AudioError, match="surround.wav: 6 channels"):
        load_audio(tmp_path / "surround.wav")
    with pytest.raises(AudioError, match="missing.wav"):
        load_audio(tmp_path / "missing.wav")
    save_audio(tmp_path / "out.flac", audio, 44_100)
    assert np.allclose(load_audio(tmp_path / "out.flac")[0], audio, atol=1 / 16_000)
    with pytest.raises(AudioError, match=r"dir\.wav: folder .*no does not exist"):
        save_audio(tmp_path / "no" / "dir.wav", audio, 44_100)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.flac", "surround.wav"]

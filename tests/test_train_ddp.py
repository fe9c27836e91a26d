"""Data-parallel training: two gloo processes compute the same step as one process on the same
global batch (gradients, losses, and so weights), the adversarial step reduces the same
discriminator gradients, and a DDP run resumed from last.pt continues identically. The ranks
are spawned once and run all the cases.

Why gradients rather than weights after several steps: AdamW scales each gradient element by
its own running magnitude, so where a gradient is ~0 (theoretically) the float noise of a
different reduction order (~4e-6 of a tensor's largest element, measured) becomes an update
of O(lr). Measured on this config at lr 1e-4: weights differ by up to 1.0e-4 after 3 steps
although every step's gradients and losses agree to float precision."""
import csv
import os
import socket
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import torch.multiprocessing as mp

from tqcodec.configs import get_config
from tqcodec.model import TQCodec
from tqcodec.train import Trainer, TrainOptions
from tqcodec.train.discriminators import DiscriminatorConfig

SMALL_D = DiscriminatorConfig(periods=(2, 3), mpd_channels=(4, 8, 8), fft_sizes=(512,), mrd_channels=4)
WORLD = 2


def options(data: Path, out: Path, steps: int, adv_start: int, resume: bool = False) -> TrainOptions:
    return TrainOptions(config="tiny", data=[str(data)], out=str(out), steps=steps, batch=4, segment_seconds=0.05,
                        adv_start=adv_start, lr=1e-4, val_every=0, save_every=1, threads=1, progress=False,
                        resume=resume, disc=SMALL_D)


def cases(root: Path, data: Path, prefix: str) -> list[TrainOptions]:
    """The runs, in order: generator-only, adversarial, and the adversarial one stopped and resumed."""
    return [options(data, root / f"{prefix}-gen", 1, adv_start=10**9),
            options(data, root / f"{prefix}-adv", 2, adv_start=1),
            options(data, root / f"{prefix}-resumed", 1, adv_start=1),
            options(data, root / f"{prefix}-resumed", 2, adv_start=1, resume=True)]


def _rank_main(rank: int, port: int, root: Path, cache: Path) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(WORLD), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    trainer = None
    for opts in cases(root, cache, "ddp"):
        trainer = Trainer(opts)
        trainer.fit()
        if opts.out.endswith("-gen") and rank == 0:
            save_gradients(trainer)
    trainer.dist.close()


def save_gradients(trainer: Trainer) -> None:
    """The last step's (rank-averaged) generator gradients, beside its last.pt."""
    torch.save({n: p.grad for n, p in trainer.generator.named_parameters()}, Path(trainer.opts.out) / "grads.pt")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ddp")
    audio = root / "audio"
    audio.mkdir()
    rng = np.random.default_rng(1)
    for i in range(4):
        t = np.arange(44_100) / 44_100
        x = 0.3 * np.sin(2 * np.pi * 330 * (i + 1) * t)[:, None] + 0.05 * rng.standard_normal((len(t), 2))
        sf.write(audio / f"song{i}.wav", x.astype(np.float32), 44_100)
    n = torch.get_num_threads()
    try:
        single = cases(root, audio, "single")
        for opts in single[:2]:
            trainer = Trainer(opts)
            trainer.fit()
            if opts.out.endswith("-gen"):
                save_gradients(trainer)
        cache = root / "single-gen" / "cache"  # prepared by the first run: the ranks share it
        mp.start_processes(_rank_main, args=(free_port(), root, cache), nprocs=WORLD, start_method="spawn")
    finally:
        torch.set_num_threads(n)
    return root


def weights(run: Path, part: str) -> dict:
    return torch.load(run / "last.pt", weights_only=True)[part]


def log(run: Path) -> list[dict]:
    with open(run / "log.csv", newline="") as f:
        return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(f)]


def test_two_processes_compute_the_step_of_one_on_the_same_global_batch(runs):
    one, two = torch.load(runs / "single-gen" / "grads.pt"), torch.load(runs / "ddp-gen" / "grads.pt")
    assert one.keys() == two.keys() and all(g is not None for g in two.values())
    for name, g in one.items():
        scale = float(g.abs().max())
        assert scale > 0, f"{name} got no gradient"
        assert float((g - two[name]).abs().max()) <= 1e-5 * scale, name
    w1, w2 = weights(runs / "single-gen", "generator"), weights(runs / "ddp-gen", "generator")
    torch.manual_seed(0)  # the trainer's seed: its initial generator
    start = TQCodec(get_config("tiny")).state_dict()
    assert max(float((w1[k] - start[k]).abs().max()) for k in w1) > 5e-5, "the step moved the weights"
    assert max(float((w1[k] - w2[k]).abs().max()) for k in w1) < 1e-4 * 2  # at most one flipped update of lr
    for a, b in zip(log(runs / "single-gen"), log(runs / "ddp-gen")):
        for k in ("loss_g", "mel", "waveform", "codebook", "grad_norm_g"):
            assert float(a[k]) == pytest.approx(float(b[k]), rel=1e-5), k


def test_the_adversarial_step_reduces_the_same_gradients(runs):
    """Compared through what the step logs before any weight moves (rank-averaged): the
    discriminator's loss and gradient norm, the generator's reconstruction losses. Weights after
    D's first Adam step are not comparable at 1e-5 where a gradient is ~0 (the logits' biases
    under the hinge loss): Adam's first step scales every gradient to ±lr, float noise included,
    and the generator's adversarial terms are computed with that updated D."""
    one, two = log(runs / "single-adv"), log(runs / "ddp-adv")
    assert [r["step"] for r in one] == [r["step"] for r in two] == ["1", "2"]
    assert float(one[1]["loss_d"]) > 0 and float(one[1]["grad_norm_d"]) > 0
    for a, b in zip(one, two):
        for k in ("mel", "waveform", "codebook", "loss_d", "grad_norm_d"):
            if a[k]:
                assert float(a[k]) == pytest.approx(float(b[k]), rel=1e-4), (a["step"], k)


def test_a_resumed_ddp_run_continues_identically(runs):
    for part in ("generator", "discriminator"):
        a, b = weights(runs / "ddp-adv", part), weights(runs / "ddp-resumed", part)
        for k in a:
            assert torch.equal(a[k], b[k]), f"{part}.{k} differs after resume under DDP"
    assert log(runs / "ddp-adv") == log(runs / "ddp-resumed")

"""The training loop: GAN training of TQCodec with the paper's recipe, resumable bit-for-bit.

Per step (as DAC): draw a batch; if adversarial training is on, update the
discriminators on (real, generated.detach()) with the hinge loss; then update the
generator on mel ×15 + waveform L1 ×1 + codebook ×1 + commitment ×0.25 and, when
adversarial training is on, feature matching ×2 + hinge adversarial ×1. AdamW
(lr 1e-4, betas (0.8, 0.9), torch's default weight decay 0.01) for both; the learning
rate decays exponentially by ``lr_gamma`` = 0.999996 per step (DAC's schedule: ×0.2 after
400k steps); gradient norms clipped at 1000 (G) and 10 (D) as in DAC. The discriminators
see real and generated audio as one concatenated batch (one forward, one DDP reduction).

``precision="bf16"`` runs the generator's and discriminators' forward passes under bf16
autocast (CPU and CUDA); the losses are computed from fp32 copies of the outputs and the
weights, gradients and AdamW state stay fp32. Validation always runs in fp32.

Data come from a prepared on-disk cache (``prepare.py``, read by ``dataset.py``): step
``s`` trains on items ``s·batch …`` of the deterministic segment dataset, so resuming needs
only the step number, and ``torchrun`` data parallelism (``distributed.py``) splits each
global batch across ranks exactly.

Deviation for short CPU runs: ``adv_start`` > 0 trains the generator alone on the
reconstruction losses until that step (the discriminators are neither run nor updated),
then switches the full recipe on. The paper's recipe is ``adv_start = 0`` (the default).
``init_from`` starts the generator from a shipped checkpoint's weights (optimizer,
discriminators and schedule start fresh).

Run directory (``--out``):
  last.pt        full training state (generator, discriminators, both optimizers, step,
                 python/numpy/torch RNG states, best LSD), written atomically
                 every ``save_every`` steps, at the end and on Ctrl-C/SIGTERM (after the
                 step in flight). ``resume`` continues it exactly: the next step is the
                 one an uninterrupted run would have taken (same device and thread count;
                 another process count gives the same batches, equal up to float rounding).
                 A run is refused if last.pt exists and ``resume`` is not set.
  log.csv        one row per step: losses (means over ranks), gradient norms, learning
                 rate, audio hours seen, seconds; validation columns
                 on validation steps. Rows past the resumed step are dropped on resume.
  generator.pt   shippable generator (``save_checkpoint(half=True)``) with the best
                 validation LSD so far; generator-latest.pt: the one from the latest
                 validation. With validation disabled, generator.pt is the latest.
  loss.png       curves, redrawn after every validation.
"""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import os
import random
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..checkpoint import atomic_torch_save, load_checkpoint, save_checkpoint
from ..configs import CodecConfig, get_config
from ..metrics import LSD_SPLIT_HZ, MetricResult, compute_metrics, mean_metrics
from ..model import TQCodec
from .dataset import AudioCache, SegmentDataset, StepBatches, is_cache, segment_loader, validation_excerpts
from .distributed import Distributed
from .discriminators import DiscriminatorConfig, MultiDiscriminator
from .losses import (LossWeights, MultiScaleMelLoss, discriminator_loss, feature_matching_loss,
                     generator_adversarial_loss)

STATE_FORMAT = "tqcodec-train-state"
STATE_VERSION = 2
LOG_FIELDS = ("step", "seconds", "hours_seen", "lr", "loss_g", "mel", "waveform", "feature", "adv_g", "codebook",
              "commitment", "loss_d", "grad_norm_g", "grad_norm_d", "val_lsd", "val_lsd_l", "val_lsd_h", "val_snr")
PRECISIONS = ("fp32", "bf16")


class ResumeError(Exception):
    """A training state that cannot be resumed (unreadable, or from a different setup);
    the message names the file."""


@dataclass
class TrainOptions:
    """Everything that defines a run (the CLI's flags)."""

    config: str
    data: list[str]  # audio folders, or one folder prepared by ``python -m tqcodec.train.prepare``
    out: str = "run"
    cache: str | None = None  # where audio folders are prepared; default OUT/cache
    steps: int = 400_000
    batch: int = 32  # global: split across DDP processes
    segment_seconds: float = 1.0
    lr: float = 1e-4
    lr_gamma: float = 0.999996  # per-step exponential decay (DAC)
    betas: tuple[float, float] = (0.8, 0.9)
    precision: str = "fp32"
    adv_start: int = 0
    init_from: str | None = None
    num_workers: int = 0
    val_every: int = 1000
    save_every: int = 500
    val_fraction: float = 0.1
    val_data: list[str] = field(default_factory=list)  # explicit held-out folders; replaces val_fraction
    val_seconds: float = 5.0
    val_per_track: int = 2
    seed: int = 0
    device: str = "auto"
    threads: int = 0  # CPU threads for torch; 0 keeps torch's default
    resume: bool = False
    progress: bool = True
    grad_clip_g: float = 1000.0
    grad_clip_d: float = 10.0
    disc: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    weights: LossWeights = field(default_factory=LossWeights)

    def validate(self) -> None:
        """Raise ValueError for settings that cannot work."""
        get_config(self.config)
        if not self.data:
            raise ValueError("no data folder given")
        for name in ("steps", "batch", "val_per_track"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in ("adv_start", "val_every", "save_every", "threads", "num_workers"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 or more")
        if self.segment_seconds <= 0 or self.val_seconds <= 0:
            raise ValueError("segment and validation lengths must be positive")
        if not 0 < self.lr_gamma <= 1:
            raise ValueError("lr_gamma must be in (0, 1]")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        if not 0 <= self.val_fraction < 1:
            raise ValueError("val_fraction must be in [0, 1)")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be auto, cpu or cuda, not {self.device!r}")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("--device cuda: no CUDA device is available")

    def resume_relevant(self) -> dict:
        """Settings that change the trajectory: resuming with other values is allowed but warned about."""
        return {"batch": self.batch, "segment_seconds": self.segment_seconds, "lr": self.lr,
                "lr_gamma": self.lr_gamma, "precision": self.precision,
                "betas": list(self.betas), "adv_start": self.adv_start, "seed": self.seed,
                "grad_clip_g": self.grad_clip_g, "grad_clip_d": self.grad_clip_d,
                "weights": self.weights.to_dict()}


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def _rng_state(device: torch.device) -> dict:
    np_state = np.random.get_state(legacy=False)
    np_state["state"] = {"key": np_state["state"]["key"].tolist(), "pos": int(np_state["state"]["pos"])}
    return {"python": random.getstate(), "numpy": np_state, "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if device.type == "cuda" else None}


def _set_rng_state(state: dict, device: torch.device) -> None:
    random.setstate(state["python"])
    np_state = dict(state["numpy"])
    np_state["state"] = {"key": np.array(np_state["state"]["key"], dtype=np.uint32), "pos": np_state["state"]["pos"]}
    np.random.set_state(np_state)
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and state.get("cuda") is not None:
        torch.cuda.set_rng_state_all(state["cuda"])


@contextlib.contextmanager
def _frozen(module: torch.nn.Module):
    """No parameter gradients for ``module`` (the discriminators during the generator's update)."""
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


class CsvLog:
    """log.csv, one row per step; on resume, rows after the resumed step are dropped."""

    def __init__(self, path: Path, keep_until_step: int):
        self.path = path
        rows = []
        if keep_until_step > 0 and path.exists():
            with open(path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if r.get("step") and int(r["step"]) <= keep_until_step]
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, LOG_FIELDS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, path)

    def write(self, row: dict) -> None:
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, LOG_FIELDS, extrasaction="ignore").writerow(
                {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})


def _float_maps(maps: list[list[torch.Tensor]]) -> list[list[torch.Tensor]]:
    return [[f.float() for f in fmaps] for fmaps in maps]


def _split_maps(maps: list[list[torch.Tensor]], n: int) -> tuple[list[list[torch.Tensor]], list[list[torch.Tensor]]]:
    """Feature maps of a concatenated (first n, rest) batch → the two batches' maps, in fp32."""
    return ([[f[:n].float() for f in fmaps] for fmaps in maps], [[f[n:].float() for f in fmaps] for fmaps in maps])


class Trainer:
    def __init__(self, opts: TrainOptions):
        opts.validate()
        self.opts = opts
        if opts.threads:
            torch.set_num_threads(opts.threads)
        self.cfg: CodecConfig = get_config(opts.config)
        self.dist = Distributed.from_env(resolve_device(opts.device))
        self.device = self.dist.device
        if opts.batch % self.dist.world_size:
            raise ValueError(f"--batch {opts.batch} (the global batch) does not split evenly across "
                             f"{self.dist.world_size} processes")
        self.local_batch = opts.batch // self.dist.world_size
        self.autocast_dtype = torch.bfloat16 if opts.precision == "bf16" else None
        self.run_dir = Path(opts.out)
        self.state_path = self.run_dir / "last.pt"
        frames = max(1, round(opts.segment_seconds * self.cfg.frame_rate))
        self.segment_length = frames * self.cfg.hop_length  # whole frames: the model's input contract

        state = self._read_state() if opts.resume else None
        if not opts.resume and self.state_path.exists():
            raise ResumeError(f"{self.state_path}: a run already exists here; pass --resume to continue it "
                              "or choose another --out")

        random.seed(opts.seed)
        np.random.seed(opts.seed)
        torch.manual_seed(opts.seed)
        self.generator = TQCodec(self.cfg).to(self.device)
        self.discriminator = MultiDiscriminator(opts.disc).to(self.device)
        self.mel_loss = MultiScaleMelLoss(self.cfg.sample_rate).to(self.device)
        if self.segment_length < self.mel_loss.min_length:
            raise ValueError(f"segments of {self.segment_length} samples are shorter than the mel loss's "
                             f"{self.mel_loss.min_length}-sample minimum")
        # The checkpoint a run started from, kept through resumes so its generators can name it.
        self.init_from = opts.init_from if state is None else state.get("init_from")
        if opts.init_from and state is None:
            self._init_generator(opts.init_from)
        self.opt_g = torch.optim.AdamW(self.generator.parameters(), lr=opts.lr, betas=opts.betas)
        self.opt_d = torch.optim.AdamW(self.discriminator.parameters(), lr=opts.lr, betas=opts.betas)

        self.cache_dir = self._prepared_data()
        self.train_cache = AudioCache(self.cache_dir, "train")
        self.val_cache = AudioCache(self.cache_dir, "val")
        self.dataset = SegmentDataset(self.train_cache, self.segment_length, seed=opts.seed)
        val_length = round(opts.val_seconds * self.cfg.sample_rate)
        self.val_excerpts = validation_excerpts(self.val_cache, val_length, opts.val_per_track, self.cfg.hop_length)

        self.step = 0
        self.best_lsd: float | None = None
        if state is not None:
            self._restore(state)
        # After restoring: DDP broadcasts rank 0's weights, which every rank has loaded anyway.
        self.generator_train = self.dist.wrap(self.generator)
        self.discriminator_train = self.dist.wrap(self.discriminator)
        self.log = None
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self.log = CsvLog(self.run_dir / "log.csv", self.step)
        self._stop_requested = False

    def _prepared_data(self) -> Path:
        """The cache to read: ``--data`` itself when it is one, else the audio folders prepared
        into ``--cache`` (default OUT/cache; unchanged files are reused) by rank 0."""
        opts = self.opts
        if len(opts.data) == 1 and is_cache(opts.data[0]):
            return Path(opts.data[0])
        cache = Path(opts.cache) if opts.cache else self.run_dir / "cache"
        if self.dist.is_main:
            from .prepare import prepare, summary  # here: `python -m tqcodec.train.prepare` imports this package

            index = prepare(opts.data, cache, opts.val_data, opts.val_fraction, self.cfg.sample_rate,
                            progress=opts.progress)
            print(f"data: {cache}: {summary(index)}")
        self.dist.barrier()
        return cache

    def _init_generator(self, path: str) -> None:
        model, meta = load_checkpoint(path)
        if model.config != self.cfg:
            raise ValueError(f"--init-from {path}: config {model.config.name!r}, not {self.cfg.name!r}")
        self.generator.load_state_dict(model.state_dict())
        if self.dist.is_main:
            print(f"generator initialised from {path} (step {meta.get('step')})")

    # ----------------------------------------------------------------- state

    def _read_state(self) -> dict | None:
        """Load and vet last.pt before the (slow) data loading, so a bad resume fails fast."""
        path = self.state_path
        if not path.exists():
            print(f"--resume: no {path} yet, starting a new run")
            return None
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # damaged zip/pickle surface as many exception types
            raise ResumeError(f"{path}: not a readable training state ({type(e).__name__}: {e})") from None
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise ResumeError(f"{path}: not a TQCodec training state (expected format {STATE_FORMAT!r})")
        if state.get("version") != STATE_VERSION:
            raise ResumeError(f"{path}: training state version {state.get('version')!r}; "
                              f"this trainer reads version {STATE_VERSION}")
        try:
            cfg = CodecConfig.from_dict(state["config"])
            disc = DiscriminatorConfig.from_dict(state["disc"])
        except (KeyError, TypeError, ValueError) as e:
            raise ResumeError(f"{path}: damaged config in training state ({e})") from None
        if cfg != self.cfg:
            diff = [f.name for f in dataclasses.fields(CodecConfig) if getattr(cfg, f.name) != getattr(self.cfg, f.name)]
            raise ResumeError(f"{path}: run was trained with config {cfg.name!r}, not {self.cfg.name!r} "
                              f"(differs in: {', '.join(diff)})")
        if disc != self.opts.disc:
            raise ResumeError(f"{path}: run was trained with other discriminators ({disc})")
        return state

    def _restore(self, state: dict) -> None:
        path = self.state_path
        try:
            self.generator.load_state_dict(state["generator"])
            self.discriminator.load_state_dict(state["discriminator"])
            self.opt_g.load_state_dict(state["opt_g"])
            self.opt_d.load_state_dict(state["opt_d"])
            _set_rng_state(state["rng"], self.device)
            self.step = int(state["step"])
            self.best_lsd = state["best_lsd"]
        except (KeyError, RuntimeError, ValueError, TypeError) as e:
            raise ResumeError(f"{path}: training state does not fit this run ({type(e).__name__}: {e})") from None
        changed = {k: (state["options"].get(k), v) for k, v in self.opts.resume_relevant().items()
                   if state["options"].get(k) != v}
        for k, (old, new) in changed.items():
            print(f"warning: resuming with {k}={new} (run used {old}); steps will differ from an uninterrupted run")
        if state.get("train_tracks") != self.train_cache.keys:
            print("warning: the training tracks differ from the run's; batches will differ from an uninterrupted run")
        if self.step >= self.opts.steps and self.dist.is_main:
            print(f"{path}: already at step {self.step} (target {self.opts.steps})")

    def state_dict(self) -> dict:
        return {
            "format": STATE_FORMAT, "version": STATE_VERSION, "step": self.step, "best_lsd": self.best_lsd,
            "config": self.cfg.to_dict(), "disc": self.opts.disc.to_dict(),
            "options": self.opts.resume_relevant(), "init_from": self.init_from,
            "train_tracks": self.train_cache.keys, "val_tracks": self.val_cache.keys,
            "generator": self.generator.state_dict(), "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "rng": _rng_state(self.device),
        }

    def save_state(self) -> None:
        if self.dist.is_main:
            atomic_torch_save(self.state_dict(), self.state_path)

    def batch(self, step: int | None = None) -> torch.Tensor:
        """This rank's share [local_batch, 1, T] of step ``step``'s batch (default: the next step),
        read directly, without the loader: for tests and benchmarks."""
        indices = next(iter(StepBatches(self.opts.batch, self.step if step is None else step,
                                        self.dist.rank, self.dist.world_size)))
        return torch.stack([self.dataset[i] for i in indices])

    def hours_seen(self, step: int | None = None) -> float:
        """Audio hours (mono segments) the generator has trained on after ``step`` steps."""
        return (self.step if step is None else step) * self.opts.batch * self.segment_length / self.cfg.sample_rate / 3600

    def learning_rate(self, step: int | None = None) -> float:
        """The schedule: lr · lr_gamma^step, a function of the step alone (nothing to save or resume)."""
        return self.opts.lr * self.opts.lr_gamma ** (self.step if step is None else step)

    def _autocast(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    # ----------------------------------------------------------------- steps

    def train_step(self, real: torch.Tensor) -> dict[str, float]:
        """One discriminator update (from ``adv_start`` on) and one generator update on ``real``
        [local_batch, 1, T]; advances ``self.step`` and returns this rank's losses as floats."""
        w, adv = self.opts.weights, self.step >= self.opts.adv_start
        real = real.to(self.device)
        lr = self.learning_rate()
        for group in self.opt_g.param_groups + self.opt_d.param_groups:
            group["lr"] = lr
        self.generator.train()
        self.discriminator.train()
        with self._autocast():
            out = self.generator_train(real)
        fake = out.audio.float()
        logs: dict[str, float] = {"lr": lr}

        if adv:
            with self._autocast():
                maps = self.discriminator_train(torch.cat([fake.detach(), real]))
            d_fake, d_real = _split_maps(maps, real.shape[0])
            loss_d = discriminator_loss(d_fake, d_real)
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            logs["grad_norm_d"] = float(torch.nn.utils.clip_grad_norm_(self.discriminator.parameters(),
                                                                       self.opts.grad_clip_d))
            self.opt_d.step()
            logs["loss_d"] = loss_d.item()

        mel = self.mel_loss(fake, real)
        waveform = torch.nn.functional.l1_loss(fake, real)
        codebook, commitment = out.codebook_loss.float(), out.commitment_loss.float()
        loss = w.mel * mel + w.waveform * waveform + w.codebook * codebook + w.commitment * commitment
        if adv:
            # The raw module, not the DDP wrapper: D is not updated here, so nothing to reduce.
            with _frozen(self.discriminator), self._autocast():
                d_fake = self.discriminator(fake)
                with torch.no_grad():
                    d_real = self.discriminator(real)
            d_fake, d_real = _float_maps(d_fake), _float_maps(d_real)
            feature = feature_matching_loss(d_fake, d_real)
            adv_g = generator_adversarial_loss(d_fake)
            loss = loss + w.feature * feature + w.adversarial * adv_g
            logs.update(feature=feature.item(), adv_g=adv_g.item())
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        logs["grad_norm_g"] = float(torch.nn.utils.clip_grad_norm_(self.generator.parameters(), self.opts.grad_clip_g))
        self.opt_g.step()
        self.step += 1
        logs.update(loss_g=loss.item(), mel=mel.item(), waveform=waveform.item(),
                    codebook=codebook.item(), commitment=commitment.item())
        return logs

    @torch.no_grad()
    def validate(self) -> MetricResult | None:
        """Mean metrics over the fixed held-out excerpts (each channel coded as its own mono pass)."""
        if not self.val_excerpts:
            return None
        self.generator.eval()
        results = []
        for _, x in self.val_excerpts:
            y = self.generator(torch.from_numpy(x)[:, None].to(self.device)).audio[:, 0]
            results.append(compute_metrics(x, y.float().cpu().numpy(), self.cfg.sample_rate))
        self.generator.train()
        return mean_metrics(results)

    def _save_generator(self, metrics: MetricResult | None) -> None:
        extra = {"run": str(self.run_dir), "train_options": self.opts.resume_relevant(),
                 "val": metrics.to_dict() if metrics else None, "lsd_split_hz": LSD_SPLIT_HZ,
                 "val_tracks": self.val_cache.keys, "hours_seen": self.hours_seen(), "init_from": self.init_from}
        if metrics is None:
            save_checkpoint(self.run_dir / "generator.pt", self.generator, step=self.step, extra=extra, half=True)
            return
        save_checkpoint(self.run_dir / "generator-latest.pt", self.generator, step=self.step, extra=extra, half=True)
        if self.best_lsd is None or metrics.lsd < self.best_lsd:
            self.best_lsd = metrics.lsd
            save_checkpoint(self.run_dir / "generator.pt", self.generator, step=self.step,
                            extra={**extra, "best": True}, half=True)

    # ----------------------------------------------------------------- loop

    def _request_stop(self, signum, frame) -> None:
        if self._stop_requested:  # second signal: stop now
            raise KeyboardInterrupt
        self._stop_requested = True
        tqdm.write(f"signal {signum}: stopping after this step and saving {self.state_path} "
                   "(again to abort without saving)")

    def fit(self) -> MetricResult | None:
        """Train until ``opts.steps``; returns the last validation result (if any, rank 0)."""
        opts, main = self.opts, self.dist.is_main
        last_val = None
        if main:
            print(f"global batch {opts.batch} = {self.dist.world_size} process(es) × {self.local_batch} segments "
                  f"of {self.segment_length} samples; {opts.precision}; device {self.device}")
        bar = tqdm(total=opts.steps, initial=self.step, desc=f"train {self.cfg.name}", unit="step",
                   dynamic_ncols=True, disable=not (opts.progress and main))
        batches = iter(segment_loader(self.dataset, StepBatches(opts.batch, self.step, self.dist.rank,
                                                                self.dist.world_size), opts.num_workers))
        handlers = {}
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(ValueError):  # not the main thread: keep default handling
                    handlers[sig] = signal.signal(sig, self._request_stop)
            stop = False
            while self.step < opts.steps and not stop:
                t0 = time.perf_counter()
                logs = self.train_step(next(batches))
                logs, stop = self.dist.mean(logs, self._stop_requested)
                logs["seconds"] = time.perf_counter() - t0
                logs["hours_seen"] = self.hours_seen()
                validating = bool(opts.val_every) and self.step % opts.val_every == 0
                if validating and main:
                    last_val = self.validate()
                    self._save_generator(last_val)
                    if last_val is not None:
                        logs.update(val_lsd=last_val.lsd, val_lsd_l=last_val.lsd_l,
                                    val_lsd_h=last_val.lsd_h, val_snr=last_val.snr)
                        bar.write(f"step {self.step}: validation ({len(self.val_excerpts)} excerpts) {last_val}")
                if main:
                    self.log.write({"step": self.step, **logs})
                if validating and main:
                    from .plot import plot_log  # here, so matplotlib loads only when a run plots

                    plot_log(self.log.path, self.run_dir / "loss.png")
                # After a validation too, so that last.pt's best LSD agrees with generator.pt.
                if validating or (opts.save_every and self.step % opts.save_every == 0) or self.step == opts.steps:
                    self.save_state()
                bar.set_postfix({k: f"{logs[k]:.3g}" for k in ("mel", "waveform", "adv_g", "loss_d") if k in logs},
                                refresh=False)
                bar.update(1)
            if stop:
                self.save_state()
                bar.write(f"stopped at step {self.step}; resume with --resume")
            self.dist.barrier()  # no rank moves on (or reads last.pt) before rank 0 has written it
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            bar.close()
        return last_val

"""Data-parallel training across processes (``torchrun --nproc-per-node N -m tqcodec.train …``).

torchrun sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``;
with ``WORLD_SIZE`` > 1 the process group is opened here (NCCL on CUDA, gloo on CPU).
``--batch`` is the *global* batch: each rank trains on its own ``batch / world_size`` share
(``dataset.StepBatches``) and ``DistributedDataParallel`` averages the gradients, so a step
equals a single-process step on the whole batch for losses that are batch means (all of
ours; the models have no batch statistics). Rank 0 alone validates, logs and writes files.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class Distributed:
    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @staticmethod
    def from_env(device: torch.device) -> "Distributed":
        """Join the process group torchrun (or a test) described in the environment, if any."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return Distributed(device=device)
        rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
        if device.type == "cuda":
            device = torch.device("cuda", local_rank)
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=rank, world_size=world)
        return Distributed(rank=rank, world_size=world, device=device)

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        """``module`` for training: DDP-wrapped when data-parallel, itself otherwise."""
        if not self.enabled:
            return module
        ids = [self.device.index] if self.device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(module, device_ids=ids)

    def mean(self, values: dict[str, float], stop: bool) -> tuple[dict[str, float], bool]:
        """Average the step's logged values over ranks and agree on stopping (any rank asked),
        so every rank leaves the loop after the same step."""
        if not self.enabled:
            return values, stop
        keys = sorted(values)
        t = torch.tensor([values[k] for k in keys] + [float(stop)], dtype=torch.float64)
        if self.device.type == "cuda":
            t = t.to(self.device)
        dist.all_reduce(t)
        t = t.cpu() / self.world_size
        return {k: float(v) for k, v in zip(keys, t[:-1])}, bool(t[-1] > 0)

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def close(self) -> None:
        if self.enabled and dist.is_initialized():
            dist.destroy_process_group()

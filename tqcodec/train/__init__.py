"""Training of TQCodec (``python -m tqcodec.train``): data, discriminators, losses, loop.

Knows nothing of mobile export; produces ``generator.pt`` via ``tqcodec.checkpoint``.
"""
from .trainer import ResumeError, Trainer, TrainOptions

__all__ = ["ResumeError", "Trainer", "TrainOptions"]

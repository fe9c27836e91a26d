"""TQCodec: a neural music codec (44.1 kHz, 32–128 kbps per channel) built to decode on phones."""
from .configs import CONFIGS, CodecConfig, get_config

__all__ = ["CONFIGS", "CodecConfig", "get_config"]
__version__ = "0.1.0"

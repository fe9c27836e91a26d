"""Moved to ``tqcodec.streaming`` (the streaming decoder is a model fact); kept for old imports."""
from tqcodec.streaming import *  # noqa: F401,F403
from tqcodec.streaming import TensorSpec, StreamingDecoder, in_modules, traced_module_path  # noqa: F401

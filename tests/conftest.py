import os
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope="session", autouse=True)
def _private_codes_cache(tmp_path_factory):
    """Exports cache encoded calibration music; tests keep theirs apart from the user's."""
    os.environ["TQCODEC_CACHE"] = str(tmp_path_factory.mktemp("tqcodec-cache"))


@pytest.fixture
def tiny_model():
    from tqcodec.configs import get_config
    from tqcodec.model import TQCodec

    torch.manual_seed(0)
    return TQCodec(get_config("tiny")).eval()


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    """A tiny-config checkpoint file (seed 0, untrained): what the CLI tests encode and decode with."""
    from tqcodec.checkpoint import save_checkpoint
    from tqcodec.configs import get_config
    from tqcodec.model import TQCodec

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ck") / "tiny.pt"
    save_checkpoint(path, TQCodec(get_config("tiny")))
    return path

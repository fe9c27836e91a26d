"""Moved to ``tqcodec.prune`` (checkpoint → deployable decoder); kept for old imports and
``python -m mobile_export.prune``."""
import sys

from tqcodec.prune import *  # noqa: F401,F403
from tqcodec.prune import PrunedDecoder, load_pruned, load_streaming_decoder, main, prune, save_pruned  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())

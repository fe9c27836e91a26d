"""``python -m mobile_export.litert --ckpt tq64.pt …``: the export CLI with ``--backend litert``.

The backend itself lives in ``mobile_export.backends.litert``.
"""
import sys

from .cli import main as _cli


def main(argv=None) -> int:
    return _cli(argv, backend="litert")


if __name__ == "__main__":
    sys.exit(main())

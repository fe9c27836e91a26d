"""``python -m mobile_export.executorch --ckpt tq64.pt …``: the export CLI with ``--backend executorch``.

The backend itself lives in ``mobile_export.backends.executorch``.
"""
import sys

from .cli import main as _cli


def main(argv=None) -> int:
    return _cli(argv, backend="executorch")


if __name__ == "__main__":
    sys.exit(main())

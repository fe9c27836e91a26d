"""``python -m mobile_export.onnx --ckpt tq64.pt …``: the export CLI with ``--backend onnx``.

The backend itself lives in ``mobile_export.backends.onnx``.
"""
import sys

from .cli import main as _cli


def main(argv=None) -> int:
    return _cli(argv, backend="onnx")


if __name__ == "__main__":
    sys.exit(main())

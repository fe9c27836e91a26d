"""``python -m mobile_export.coreml --ckpt tq64.pt …``: the export CLI with ``--backend coreml``.

The backend itself lives in ``mobile_export.backends.coreml``; ``convert`` is re-exported
here because the iOS demo's contract test captures the names it gives the model's features.
"""
import sys

from .backends.coreml.convert import convert  # noqa: F401
from .cli import main as _cli


def main(argv=None) -> int:
    return _cli(argv, backend="coreml")


if __name__ == "__main__":
    sys.exit(main())

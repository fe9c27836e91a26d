"""``python -m mobile_export --backend NAME --ckpt tq64.pt …``: see ``mobile_export.cli``."""
import sys

from .cli import main

sys.exit(main())

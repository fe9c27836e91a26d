"""Replace a folder atomically: what ``tqcodec.atomic`` does for files, for an ``.mlpackage`` or a report.

A reader sees the old folder or the new one, never half of either: the new one is built
in a temporary folder beside the target, the old one is moved aside, the new one renamed
into place, the old one removed.  A failure leaves the old folder as it was.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_folder(path) -> Iterator[Path]:
    """Yield a path (not yet existing) beside ``path`` to build the new folder at; swap it in on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    staged = work / path.name
    old = None
    try:
        yield staged
        if not staged.exists():
            raise FileNotFoundError(f"{staged}: nothing was written")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staged, 0o777 & ~umask)
        if path.exists():
            old = path.parent / f".{path.name}.old-{os.getpid()}"
            os.replace(path, old)
        os.replace(staged, path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

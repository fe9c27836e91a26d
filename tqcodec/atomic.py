"""One atomic file write for the whole project: temp file beside the target, fsync, rename.

Why one: readers (players, CI, the report) must never see a half-written stream, WAV,
checkpoint, artifact or manifest, a failure must leave no temp file behind, and outputs
must get the mode the user's umask asks for (``mkstemp`` alone makes them 0600).
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Union

Writer = Union[bytes, bytearray, memoryview, Callable[[BinaryIO], None]]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, mode: int = 0o666) -> Iterator[Path]:
    """Yield a temp path beside ``path``; on success it is renamed onto ``path``.

    For writers that want a path, not a file object (a library that saves a folder or a
    file by name). The temp file/folder is removed on any failure; the old target is
    kept as it was. ``mode`` is masked by the umask, as ``open()`` would.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        if tmp.is_file():
            os.chmod(tmp, mode & ~_umask())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path: str | os.PathLike, data: Writer, mode: int = 0o666) -> Path:
    """Write ``data`` (bytes, or a function that writes to a binary file) to ``path`` atomically.

    Raises ``OSError`` (callers turn it into their own one-line error naming the path).
    """
    path = Path(path)
    with atomic_path(path, mode) as tmp:
        with open(tmp, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
    return path

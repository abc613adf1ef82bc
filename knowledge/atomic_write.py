"""Writing a file whole or not at all: the settings, the matcher cache and the diary's exports."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PRIVATE = 0o600  # what numb-legs writes (settings, caches, diary exports) is the person's own


def write_atomically(path: Path, data: str | bytes, mode: int = PRIVATE) -> None:
    """Write DATA (text as UTF-8, line ends as given) to PATH so that PATH is either the old file
    or the whole new one, never half: a temporary file beside it, flushed to the disk, then
    renamed over it. The file gets MODE whatever the umask. OSError when it cannot; the
    temporary file is never left behind."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp asks for 0600, which the umask can still narrow (0277 leaves it unwritable
        # to its owner after this run): set it outright.
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)

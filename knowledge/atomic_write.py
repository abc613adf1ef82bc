"""Writing a file whole or not at all: the settings, the matcher cache and the diary's exports."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write DATA (text as UTF-8, line ends as given) to PATH so that PATH is either the old file
    or the whole new one, never half: a temporary file beside it, flushed to the disk, then
    renamed over it. OSError when it cannot; the temporary file is never left behind."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)

"""Hand memory freed while loading a model, or after a hearing, back to the operating system
(glibc only).

Loading the int8 sentence-embedding model parses and converts about 70 MB that onnxruntime frees
again at once, but glibc keeps the freed pages in its heap, and Whisper, loaded later on its own
thread, allocates from another arena, so they are never reused: the process stays that much
bigger for its whole life (measured here: 249 MB resident after loading the session, 177 MB after
``malloc_trim``). Elsewhere (musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from functools import lru_cache

_LOGGER = logging.getLogger(__name__)


# mallopt's parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# Blocks from this size up are mapped on their own and unmapped when freed; and the heap's top is
# trimmed once this much is free. glibc's own defaults start at 128 KB but grow, after the first
# large blocks are freed, up to 32 MB: from then on Whisper's encoder buffers (a hearing needs
# about 80 MB for a moment) and the speech being synthesised stayed in the heap after use, and
# each hearing's peak stacked on what the last one left (measured in `numb-legs listen` after
# one question: peak 410 MB and 359 MB kept with the defaults, 358 and 290 with 256 KB).
_LARGE_BLOCK = 256 * 1024


@lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        for symbol in ("malloc_trim", "mallopt"):  # glibc's, not musl's or macOS's
            getattr(libc, symbol)
        return libc
    except (OSError, AttributeError, TypeError):
        return None


def _trim():
    libc = _libc()
    return None if libc is None else libc.malloc_trim


def keep_large_blocks_apart() -> None:
    """From now on, large blocks go back to the system when freed (once, at start-up)."""
    libc = _libc()
    if libc is None:
        return
    if not (libc.mallopt(_M_MMAP_THRESHOLD, _LARGE_BLOCK)
            and libc.mallopt(_M_TRIM_THRESHOLD, _LARGE_BLOCK)):
        _LOGGER.debug("mallopt refused the large-block settings")


def give_back_freed_memory() -> None:
    """Return the heap's free pages to the system, where the C library can."""
    trim = _trim()
    if trim is not None:
        trim(0)
        _LOGGER.debug("Freed heap pages returned to the system")

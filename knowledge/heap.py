"""Hand memory freed while loading a model back to the operating system, let the large
buffers of a hearing be reused, and let every thread reuse what another freed (glibc only).

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
_M_ARENA_MAX = -8
# Whisper's encoder asks for 54 MB a layer (the attention of 6 heads over 1500 frames, in
# float32). glibc maps every block above its threshold on its own, and its threshold grows with
# the blocks freed only up to 32 MB: so each of those was mapped, zero-filled page by page and
# unmapped again, four times a hearing. From 64 MB they are reused from the heap (and the heap
# kept that much, or it would be handed back and faulted in again). Measured here: a hearing
# 540 -> 390 ms, the second pass of `numb-legs listen` 961 -> 865 ms median over 16 turns, peak
# memory the same (388-390 MB). Lower thresholds keep less (336 MB at 256 KB), but the smaller
# buffers are then mapped afresh too: a hearing took 734 ms and the second pass 1296 ms.
_REUSED_BLOCK = 64 << 20
# glibc gives each new thread its own heap arena (up to 8 a core), and memory freed in one arena
# serves only the threads of that arena. numb-legs loads and runs its models on several threads
# (the sentence encoder's loader, Whisper's and onnxruntime's workers, the audio callback), so
# every one kept its own high-water mark. With one arena they share what is freed. Measured with
# bench/voice_bench.py's start-up section (the peak of `numb-legs listen` after one question,
# three starts a run, four runs each way): after `numb-legs prepare` 363-394 against 390 MB; with
# no cache, when more is loaded and freed, 392-408 against 430-472 MB; a start no slower (with
# no cache 1.21-1.26 against 1.31-1.47 s); the second pass of a turn no slower (921/913 against
# 1013/953 ms median over 24 turns, two runs each).
_ARENAS = 1


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


def tune_allocator() -> None:
    """From now on, blocks up to _REUSED_BLOCK are reused, not mapped afresh, and all threads
    share one heap arena (once, at start, before the threads that load models exist)."""
    libc = _libc()
    if libc is None:
        return
    if not (libc.mallopt(_M_MMAP_THRESHOLD, _REUSED_BLOCK)
            and libc.mallopt(_M_TRIM_THRESHOLD, _REUSED_BLOCK)
            and libc.mallopt(_M_ARENA_MAX, _ARENAS)):
        _LOGGER.debug("mallopt refused the allocator settings")


def give_back_freed_memory() -> None:
    """Return the heap's free pages to the system, where the C library can."""
    trim = _trim()
    if trim is not None:
        trim(0)
        _LOGGER.debug("Freed heap pages returned to the system")

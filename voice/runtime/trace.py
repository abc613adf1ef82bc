"""Stage timestamps for benchmarks: with NUMB_LEGS_TRACE=PATH set, mark() appends JSON lines.

Each line is {"stage": NAME, "t": time.monotonic()}. CLOCK_MONOTONIC is shared by every process
on the machine, so a benchmark harness can line these marks up with its own clock (when it fed
the microphone, when the speaker first sounded). Without the variable, mark() does nothing.
"""

from __future__ import annotations

import json
import os
import threading
import time

_PATH = os.environ.get("NUMB_LEGS_TRACE", "")
_LOCK = threading.Lock()
_FILE = None


def mark(stage: str) -> None:
    """Record that STAGE was reached now (a no-op unless NUMB_LEGS_TRACE is set)."""
    if not _PATH:
        return
    _write(stage, time.monotonic())


def _write(stage: str, when: float) -> None:
    global _FILE
    with _LOCK:
        try:
            if _FILE is None:
                _FILE = open(_PATH, "a", encoding="utf-8", buffering=1)  # line-buffered
            _FILE.write(json.dumps({"stage": stage, "t": when}) + "\n")
        except OSError:
            pass  # tracing must never break the assistant

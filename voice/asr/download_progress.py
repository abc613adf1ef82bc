"""Download progress for people: a line a screen reader reads well, and sizes in kB or MB."""

from __future__ import annotations

import sys
from typing import TextIO


class TextProgress:
    """Download progress that a screen reader reads well.

    On a terminal one line is redrawn in place; otherwise (a pipe, a log, a screen reader's
    transcript) a plain line is printed at every 10%, e.g. "Downloaded 40% (16 of 40 MB)".
    """

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None,
                 label: str = "Downloading") -> None:
        self.stream = stream if stream is not None else sys.stdout
        isatty = getattr(self.stream, "isatty", None)
        self.live = live if live is not None else bool(isatty and isatty())
        self.label = label
        self._last = 0
        self._drawn = False
        self._width = 0

    def __call__(self, done: int, total: int) -> None:
        if total > 0:
            percent = min(100, done * 100 // total)
            if self.live:
                if percent != self._last or not self._drawn:
                    self._draw(f"{self.label}: {percent}% ({amounts(done, total)})")
                self._last = percent
            elif percent // 10 * 10 > self._last:
                self._last = percent // 10 * 10
                self._line(f"Downloaded {self._last}% ({amounts(done, total)})")
            return
        step = done // 10_000_000  # size unknown: every 10 MB
        if self.live:
            self._draw(f"{self.label}: {size_text(done)}")
        elif step > self._last:
            self._last = step
            self._line(f"Downloaded {size_text(done)}")

    def finish(self) -> None:
        """End a redrawn line, so what follows starts on a fresh line."""
        if self.live and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def _draw(self, text: str) -> None:
        # Pad over the previous text rather than send terminal escapes.
        self.stream.write("\r" + text.ljust(self._width))
        self.stream.flush()
        self._width = len(text)
        self._drawn = True

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def amounts(done: int, total: int) -> str:
    """'16 of 41 MB': kB below a megabyte, one decimal below ten units."""
    unit, scale = _unit(total)
    return f"{_scaled(done, scale, total)} of {_scaled(total, scale, total)} {unit}"


def size_text(size: int) -> str:
    """'41 MB', '900 kB': a size as people read it."""
    unit, scale = _unit(size)
    return f"{_scaled(size, scale, size)} {unit}"


def _unit(total: int) -> tuple[str, int]:
    return ("MB", 1_000_000) if total >= 1_000_000 else ("kB", 1_000)


def _scaled(value: int, scale: int, total: int) -> str:
    return f"{value / scale:.1f}" if total / scale < 10 else f"{value / scale:.0f}"

"""An output stream kept open between sounds, sounding silence, for the echo canceller.

Each answer on a stream of its own starts at a moment of its own against the microphone's
sample clock: the echo canceller had to find the delay again, to within a sample it could not
know, and learned the room again for the first seconds of every answer, just when a person says
"stop" (bench/echo_bench.py). One stream for the program's life keeps the speaker's and the
microphone's clocks in one fixed relation, and what the canceller learned holds from the first
word of every answer.

The audio callback only copies: from the queue of what is to be played into the device's buffer
(silence when nothing is queued), and what it handed over to the reference.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

import numpy as np

from .echo_cancel import PlaybackReference

_LOGGER = logging.getLogger(__name__)


class SteadyOutput:
    """A running output stream at RATE x CHANNELS (int16) that plays what is queued on it."""

    def __init__(self, sd: Any, device: int | str | None, rate: int, channels: int,
                 reference: PlaybackReference | None) -> None:
        self.rate, self.channels = rate, channels
        self._reference = reference
        self._lock = threading.Lock()
        self._queue: deque[np.ndarray] = deque()
        self._offset = 0  # frames of the queue's first array already played
        self._queued = 0  # frames in the queue, not yet handed to the device
        self._feeding = False  # a sound is being played and more of it is on its way
        self._dry = False
        self.dry_gaps = 0  # times the queue ran out in the middle of a sound (a stutter)
        if reference is not None:
            reference.start(rate, steady=True)
        self._stream = sd.OutputStream(device=device, samplerate=rate, channels=channels,
                                       dtype="int16", latency="low", callback=self._callback)
        self._stream.start()

    @property
    def latency(self) -> float:
        """Seconds from handing a frame to the device to hearing it."""
        return float(self._stream.latency)

    def queue(self, frames: np.ndarray) -> None:
        """Play FRAMES ((frames, channels) int16) after whatever is queued."""
        with self._lock:
            self._queue.append(frames)
            self._queued += len(frames)
            self._feeding = True

    def sound_ends(self) -> None:
        """Nothing more of this sound is coming: the queue running out is its end, no stutter."""
        with self._lock:
            self._feeding = False

    def clear(self) -> None:
        """Drop everything still queued (playback stopped)."""
        with self._lock:
            self._queue.clear()
            self._offset = self._queued = 0
            self._feeding = False

    def pending(self) -> int:
        """Frames queued and not yet handed to the device."""
        with self._lock:
            return self._queued

    def close(self) -> None:
        self._stream.close(ignore_errors=True)

    def _callback(self, outdata: np.ndarray, frames: int, _time: Any, status: Any) -> None:
        if status.output_underflow and self._reference is not None:
            # The device ran dry: the next block sounds later than the last one's end.
            self._reference.start(self.rate, steady=True)
        filled = 0
        with self._lock:
            while filled < frames and self._queue:
                head = self._queue[0]
                count = min(frames - filled, len(head) - self._offset)
                outdata[filled:filled + count] = head[self._offset:self._offset + count]
                filled += count
                self._offset += count
                if self._offset == len(head):
                    self._queue.popleft()
                    self._offset = 0
            self._queued -= filled
            if filled < frames:
                outdata[filled:] = 0
                if self._feeding and not self._dry:
                    self.dry_gaps += 1
                self._dry = self._feeding
            else:
                self._dry = False
        if self._reference is not None:
            self._reference.played(outdata[:, 0], time.monotonic())

"""Raw PCM arriving in chunks, of any rate, sample width and channel count, as 16 kHz mono int16.

A network client (a Wyoming satellite) sends audio in chunks of whatever size suits it: a chunk
may end in the middle of a frame, and the resampler must carry its filter state from one chunk
to the next, so the same audio gives the same samples however it was cut.
"""

from __future__ import annotations

import numpy as np

from .pcm import decode_pcm, to_int16
from .resample import Resampler

TARGET_RATE = 16000  # what the recognisers take
MIN_RATE = 1000
MAX_RATE = 384000
WIDTHS = (1, 2, 3, 4)  # bytes per sample: 8-bit unsigned, 16, 24 and 32-bit signed
MAX_CHANNELS = 32


def format_problem(rate: object, width: object, channels: object) -> str:
    """Why RATE (Hz), WIDTH (bytes) and CHANNELS cannot be converted, or "" when they can."""
    # bool is an int to Python, and True is not a sample rate.
    if not isinstance(rate, int) or isinstance(rate, bool) or not MIN_RATE <= rate <= MAX_RATE:
        return f"the sample rate must be {MIN_RATE} to {MAX_RATE} Hz, not {rate!r}"
    if not isinstance(width, int) or isinstance(width, bool) or width not in WIDTHS:
        return f"the sample width must be 1 to 4 bytes, not {width!r}"
    if not isinstance(channels, int) or isinstance(channels, bool) or not 1 <= channels <= MAX_CHANNELS:
        return f"the channel count must be 1 to {MAX_CHANNELS}, not {channels!r}"
    return ""


class PcmStream:
    """One stream's chunks converted as they come: averaged to mono, resampled to 16 kHz."""

    def __init__(self, rate: int, width: int, channels: int, target_rate: int = TARGET_RATE) -> None:
        problem = format_problem(rate, width, channels)
        if problem:
            raise ValueError(problem)
        self.rate, self.width, self.channels = rate, width, channels
        self._frame_bytes = width * channels
        self._partial = b""  # the start of a frame the next chunk finishes
        self._resampler = Resampler(rate, target_rate)

    def same_format(self, rate: int, width: int, channels: int) -> bool:
        return (rate, width, channels) == (self.rate, self.width, self.channels)

    def feed(self, raw: bytes) -> np.ndarray:
        """The int16 samples (16 kHz mono) that RAW completes."""
        data = self._partial + raw
        usable = len(data) - len(data) % self._frame_bytes
        self._partial = data[usable:]
        if not usable:
            return np.zeros(0, dtype=np.int16)
        frames = decode_pcm(data[:usable], self.width).reshape(-1, self.channels)
        mono = frames[:, 0] if self.channels == 1 else frames.mean(axis=1)
        return to_int16(self._resampler.process(mono))

    def flush(self) -> np.ndarray:
        """The last samples, as if silence followed; a partial frame left over is dropped."""
        self._partial = b""
        return to_int16(self._resampler.flush())

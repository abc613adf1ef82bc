"""Band-limited resampling of mono audio: a streaming polyphase Kaiser-windowed sinc filter."""

from __future__ import annotations

import math

import numpy as np

from .pcm import to_int16

# Resampler design: flat to 90 % of the lower Nyquist frequency, at least 80 dB down from the
# lower Nyquist frequency on, so nothing folds back (44.1 kHz to 16 kHz: flat to 7.2 kHz, 80 dB
# down at 8 kHz and above).
PASSBAND = 0.90
STOPBAND_DB = 80.0
# Filter banks for more phases than this (rates without a large common divisor, like 44101 Hz)
# are not precomputed; their taps are computed for each block of output.
_MAX_PHASES = 2048
_BLOCK = 4096  # outputs computed at once: bounds memory to a few MB


def resample(samples: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """SAMPLES (mono) from SRC_RATE to DST_RATE with a band-limiting windowed-sinc filter.

    int16 in gives int16 out (rounded and clipped); anything else gives float64. The output
    has one sample per 1/DST_RATE seconds of input, the first at the first input sample.
    """
    resampler = Resampler(src_rate, dst_rate)
    out = np.concatenate([resampler.process(samples), resampler.flush()])
    return to_int16(out) if np.asarray(samples).dtype == np.int16 else out


class Resampler:
    """Streaming polyphase resampler: Kaiser-windowed sinc, the same result in any chunking.

    Output sample n is the input at time n / dst_rate, low-pass filtered below the lower of the
    two Nyquist frequencies; it is emitted once the input it depends on (a few ms) has arrived.
    """

    def __init__(self, src_rate: int, dst_rate: int) -> None:
        for rate in (src_rate, dst_rate):
            if not isinstance(rate, int) or rate <= 0:
                raise ValueError(f"Sample rates must be positive integers, not {rate!r}")
        self.src_rate, self.dst_rate = src_rate, dst_rate
        common = math.gcd(src_rate, dst_rate)
        self._up, self._down = dst_rate // common, src_rate // common
        ratio = min(1.0, dst_rate / src_rate)
        width = (1.0 - PASSBAND) * 0.5 * ratio  # transition band, cycles per input sample
        self._cutoff = (1.0 + PASSBAND) / 2 * 0.5 * ratio
        # Kaiser's formulas for the length and shape meeting STOPBAND_DB over that band.
        length = (STOPBAND_DB - 7.95) / (2.285 * 2 * math.pi * width)
        self._half = math.ceil(length / 2)
        self._beta = 0.1102 * (STOPBAND_DB - 8.7)
        self._offsets = np.arange(-self._half + 1, self._half + 1)
        self._bank = (self._taps(np.arange(self._up)[:, np.newaxis] / self._up)
                      if self._up <= _MAX_PHASES and src_rate != dst_rate else None)
        self._buffer = np.zeros(self._half)  # silence before the first sample
        self._start = -self._half  # stream index of self._buffer[0]
        self._consumed = 0
        self._produced = 0

    @property
    def delay(self) -> float:
        """Seconds of input that must arrive after an instant before its output is emitted."""
        return self._half / self.src_rate

    def process(self, samples: np.ndarray) -> np.ndarray:
        """Feed SAMPLES; return the output samples (float64) that are now complete."""
        x = np.asarray(samples, dtype=np.float64).ravel()
        if self.src_rate == self.dst_rate:
            return x.copy()
        # Silence in, silence out: only the counters move (a kept-open output stream sounds
        # silence most of the time, and the echo canceller's reference resamples all of it).
        silent = not x.any() and not self._buffer.any()
        self._buffer = np.concatenate([self._buffer, x])
        self._consumed += len(x)
        return self._emit(self._start + len(self._buffer) - 1 - self._half, None, silent)

    def flush(self) -> np.ndarray:
        """The remaining output, as if silence followed; the stream ends here."""
        if self.src_rate == self.dst_rate:
            return np.zeros(0)
        total = -(-self._consumed * self._up // self._down)
        self._buffer = np.concatenate([self._buffer, np.zeros(self._half + 1)])
        return self._emit(self._start + len(self._buffer) - 1 - self._half, total)

    def _emit(self, last_center: int, limit: int | None, silent: bool = False) -> np.ndarray:
        """Outputs whose nearest earlier input sample is at most LAST_CENTER (and below LIMIT);
        SILENT: the buffer holds only zeros, so they are zeros."""
        end = ((last_center + 1) * self._up - 1) // self._down + 1 if last_center >= 0 else 0
        if limit is not None:
            end = min(end, limit)
        if end <= self._produced:
            return np.zeros(0)
        out = np.zeros(end - self._produced) if silent else np.empty(end - self._produced)
        for first in range(self._produced, self._produced if silent else end, _BLOCK):
            n = np.arange(first, min(first + _BLOCK, end), dtype=np.int64)
            center, phase = np.divmod(n * self._down, self._up)
            window = self._buffer[(center - self._start)[:, np.newaxis] + self._offsets]
            taps = (self._bank[phase] if self._bank is not None
                    else self._taps((phase / self._up)[:, np.newaxis]))
            out[first - self._produced:first - self._produced + len(n)] = \
                np.einsum("ij,ij->i", window, taps)
        self._produced = end
        drop = (end * self._down) // self._up - self._half + 1 - self._start
        if drop > 0:
            self._buffer = self._buffer[drop:]
            self._start += drop
        return out

    def _taps(self, fractions: np.ndarray) -> np.ndarray:
        """Taps for outputs FRACTIONS of an input sample after an input; each row sums to 1."""
        distance = self._offsets - fractions  # input position minus output position
        edge = np.clip(1.0 - (distance / self._half) ** 2, 0.0, None)
        window = np.i0(self._beta * np.sqrt(edge))
        taps = np.sinc(2 * self._cutoff * distance) * window
        return taps / taps.sum(axis=1, keepdims=True)

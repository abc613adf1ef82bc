"""Acoustic echo cancellation: what the speaker plays, taken back out of what the microphone hears.

Through a loudspeaker, numb-legs' own answer comes back into the microphone, delayed and coloured
by the room, and drowns a person's "stop". Knowing what was played (the reference), an adaptive
filter learns the path from the speaker to the microphone and subtracts its estimate of the echo.
It subtracts first; then what the filter left of the echo is taken down further, but only while
nobody talks over it, so a voice said over the answer passes through at its own level (a
suppressor that does not know double talk from echo takes "stop" down with the echo).

- PlaybackReference: the speaker's thread hands over each block as it is written, with the time.
- The bulk delay between the two streams (output and input buffers, plus the air) is found by
  cross-correlation (GCC-PHAT), so the filter spends its length on the room, not on buffers.
- A partitioned-block frequency-domain NLMS filter (overlap-save, gradient-constrained) adapts only
  while the reference sounds and no one is talking over it: learning during double talk would
  teach it to cancel the person.
"""

from __future__ import annotations

import logging
import threading
from collections import deque

import numpy as np

from .pcm import to_int16
from .resample import Resampler

_LOGGER = logging.getLogger(__name__)

RATE = 16000
BLOCK = 240  # 15 ms: the microphone's 30 ms blocks are two, so nothing waits for a block to fill
PARTITIONS = 16  # the room after the bulk delay: 240 ms of echo tail
# The step of the normalised update: fast enough to learn a room in a second or two of speech,
# small enough to stay stable with a constrained gradient.
STEP = 0.5
MAX_DELAY_S = 1.0  # the longest bulk delay looked for (buffers of both streams and the air)
_MARGIN = 48  # taps kept before the direct path: the resamplers' and the room's spread
_DELAY_WINDOW = 1 << 13  # 0.5 s of microphone audio correlated with the reference
_DELAY_EVERY = RATE // 4  # how often (samples of microphone time) the delay is looked for again
# How far ahead of the microphone a reference block may be placed: what is written fills the
# output's buffer (up to 2 s through some sound servers) before it is heard.
_AHEAD = 2 * RATE
_KEPT_SECONDS = 10.0  # of blocks kept for the microphone to take
_UNDERRUN = RATE // 100  # a block handed over 10 ms after the one before ended: the device ran dry
# After the reference was placed afresh, the delay is looked for in this much (0.5 s) of what
# followed, and taken from one look when its peak is _SURE times the mean; otherwise two looks
# _DELAY_EVERY apart must agree on a peak _CLEAR times the mean.
_QUICK_WINDOW = 8000
_SURE = 10.0
_CLEAR = 8.0
# The reference ring: from _AHEAD ahead of the microphone back past the delay search's reach.
_HISTORY = _AHEAD + _DELAY_WINDOW + int(MAX_DELAY_S * RATE) + (PARTITIONS + 2) * BLOCK
# The reference is "sounding" above this mean square (int16 units): about -60 dBFS.
_SOUNDING = 30.0 ** 2
# Keeps the normalised step bounded when the reference is nearly silent (its floor, per bin).
_REGULARISE = PARTITIONS * 2 * BLOCK * _SOUNDING
_WORSE = 1.26  # the filter's output 1 dB louder than its input: it is making things worse
_WORSE_BLOCKS = 20  # 300 ms of that: it learned a room that is not there
# The filter in use takes the learning one's weights when they leave under 0.7 times as much
# (smoothed over about 5 blocks); the learning one is put back when it leaves twice as much.
_ADOPT = 0.7
_RESTORE = 2.0
# Double talk: the error is this many times the residual left by a trained filter.
_DOUBLE_TALK = 6.0
_DOUBLE_TALK_HOLD = 20  # blocks (300 ms) that adaptation stays frozen after double talk
# Double talk that never ends is a changed echo path instead (a moved laptop): learn again.
_STUCK = 100  # blocks (1.5 s)
# What the filter leaves of the echo is taken down too, while nobody talks over it: left in,
# the recogniser's endpointer heard it as one long utterance all through the answer, and a
# "stop" said in it was never an utterance of its own. The gain is 1 less the echo's share of
# what is left, twice over, and never below _FLOOR (-20 dB); it opens at once and closes by
# _RELEASE a block. Double talk (and its hold) passes at full level.
_OVER = 2.0
_FLOOR = 0.1
_RELEASE = 0.7


def _int16(samples: np.ndarray) -> bytes:
    return to_int16(samples).astype("<i2").tobytes()


class PlaybackReference:
    """What the speaker has played, at 16 kHz, with when each block was handed to the device.

    Written by the speaker's thread or its audio callback (start, played, cut), read by the
    microphone's (take), which also does the resampling: handing a block over only copies it.
    A new stream (start) may begin anywhere in time; within one, blocks follow each other without
    gaps. A steady stream (one kept open, sounding silence between sounds) is placed in time by
    its first block alone: the device's clock, not when a callback happened to run, says when
    each later block sounds.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Rates (a new stream from here on) and blocks: (when, samples at the stream's rate,
        # or None for "cut here").
        self._events: deque[int | tuple[float, np.ndarray | None]] = deque()
        self._rate = RATE
        self._steady: list[float] | None = None  # [first block's time or -1, frames since]
        self._kept = 0  # samples waiting to be taken
        # The taking side's: the stream's resampler, and whether the next block starts a stream.
        self._resampler: Resampler | None = None
        self._new_stream = True
        self.used = False  # anything played since the program started

    def start(self, rate: int, steady: bool = False) -> None:
        """A new output stream at RATE begins: its first block starts a new stretch of time.
        STEADY: every later block follows the one before, whenever it is handed over."""
        with self._lock:
            self._rate = rate
            self._events.append(rate)
            self._steady = [-1.0, 0.0] if steady else None

    def played(self, samples: np.ndarray, when: float) -> None:
        """SAMPLES (mono, the stream's rate) will sound from clock time WHEN."""
        block = np.array(samples, dtype=np.float32)  # a copy: the caller reuses its buffer
        with self._lock:
            if self._steady is not None:
                if self._steady[0] < 0:
                    self._steady[0] = when
                when = self._steady[0] + self._steady[1] / self._rate
                self._steady[1] += block.size
            if self._kept + block.size > _KEPT_SECONDS * self._rate:
                # Nobody has taken for seconds (the microphone is closed): what is kept from
                # here on starts a stretch of its own, placed by its time.
                self._events.clear()
                self._events.append(self._rate)
                self._kept = 0
            self._events.append((when, block))
            self._kept += block.size
            self.used = True

    def cut(self, when: float) -> None:
        """Playback was stopped at clock time WHEN: what was to sound after it never did."""
        with self._lock:
            self._events.append((when, None))
            self._events.append(self._rate)

    def take(self) -> list[tuple[float, np.ndarray | None, bool]]:
        """Every block played since the last take: (when, 16 kHz samples or None where playback
        was cut, starts a stream)."""
        with self._lock:
            events = list(self._events)
            self._events.clear()
            self._kept = 0
        blocks: list[tuple[float, np.ndarray | None, bool]] = []
        for event in events:
            if isinstance(event, int):
                self._resampler = Resampler(event, RATE) if event != RATE else None
                self._new_stream = True
                continue
            when, samples = event
            if samples is None:
                blocks.append((when, None, False))
                continue
            if self._resampler is not None:
                samples = self._resampler.process(samples.astype(np.float64)).astype(np.float32)
            blocks.append((when, samples, self._new_stream))
            self._new_stream = False
        return blocks


class EchoCanceller:
    """Cleans 16 kHz int16 microphone audio of what REFERENCE played; one per microphone stream.

    process() returns as many samples as it is given once the first block is full; with no
    reference sounding it returns the audio as it came, and costs nothing.
    """

    def __init__(self, reference: PlaybackReference) -> None:
        self.reference = reference
        self._mic = np.zeros(_HISTORY, dtype=np.float32)  # the microphone, last _HISTORY samples
        self._far = np.zeros(_HISTORY, dtype=np.float32)  # the reference on the microphone's clock
        self._n = 0  # microphone samples taken in so far
        self._origin: float | None = None  # clock time of microphone sample 0 (lower envelope)
        self._far_end = -1  # microphone index just after the last reference sample placed
        self._far_until = -1  # microphone index up to which the reference may sound
        self._pending = np.zeros(0, dtype=np.float32)
        self._weights = np.zeros((PARTITIONS, BLOCK + 1), dtype=np.complex128)  # in use
        self._learning = self._weights.copy()  # adapting; in use once it does better
        self._kept_error = self._learning_error = 0.0  # what each leaves, smoothed
        self.delay = 0  # samples from reference to microphone, direct path
        self._delay_candidate: int | None = None
        self._moved_at: int | None = None  # where the reference was last placed afresh
        self._keep_room = False  # it had learned a room by then: kept until the delay is found
        self._next_delay_check = _DELAY_WINDOW
        self._residual = 1.0  # error / echo estimate in a trained filter's single talk
        self._trained = 0  # blocks adapted with the echo well below the microphone
        self._hold = 0
        self._stuck = 0
        self._worse = 0  # blocks in a row the filter made louder
        self._noise = 1.0
        self._gain = 1.0  # of the residual echo suppressor, at the end of the last block
        self.double_talk_blocks = 0

    @property
    def reference_until(self) -> int:
        """The microphone sample up to which what was played may be heard, before the delay."""
        return self._far_until

    # -- the microphone's side ------------------------------------------------------------------

    def process(self, chunk: bytes, arrived: float) -> bytes:
        """CHUNK (int16 bytes, 16 kHz) that arrived at clock time ARRIVED, echo taken out."""
        samples = np.frombuffer(chunk[: len(chunk) // 2 * 2], dtype="<i2").astype(np.float32)
        start = self._n
        self._clock(arrived, samples.size)
        self._advance(start + samples.size)
        self._place_reference()
        self._remember(self._mic, start, samples)
        self._n += samples.size
        if not self._within_reach(start):
            # Nothing played reaches this far: the audio as it came (after any half block).
            self._noise = 0.95 * self._noise + 0.05 * max(float(np.mean(samples ** 2)), 1.0)
            pending, self._pending = self._pending, np.zeros(0, dtype=np.float32)
            return _int16(pending) + chunk if pending.size else chunk
        data = np.concatenate([self._pending, samples])
        first = self._n - data.size  # microphone index of data[0]
        out = []
        used = 0
        while data.size - used >= BLOCK:
            out.append(self._block(data[used:used + BLOCK], first + used))
            used += BLOCK
        self._pending = data[used:]
        self._maybe_find_delay()
        return _int16(np.concatenate(out)) if out else b""

    def _within_reach(self, index: int) -> bool:
        """Whether the reference may still sound in the microphone at INDEX."""
        return self._far_until + self.delay + (PARTITIONS + 1) * BLOCK >= index

    def _clock(self, arrived: float, count: int) -> None:
        """Where the microphone's clock stands, from a block of COUNT samples that ARRIVED.

        The device's sample clock is trusted between gaps: a block arrives some time after its
        last sample was recorded, never before, so the earliest arrival says best where sample
        0 was. A block that arrives late says nothing (the program was busy)."""
        origin = arrived - (self._n + count) / RATE
        if self._origin is None or origin < self._origin:
            self._origin = origin

    def gap(self) -> None:
        """The microphone's audio stops being continuous here (paused, reopened, blocks dropped):
        the clocks are found again; what the filter learned of the room is kept."""
        self._origin = None
        self._pending = np.zeros(0, dtype=np.float32)
        self._forget_reference()

    def _forget_reference(self) -> None:
        self._far[:] = 0.0
        self._far_end = self._far_until = -1
        self._delay_candidate = None
        self._moved_at = None

    def _advance(self, end: int) -> None:
        """The microphone reaches END: the reference ring's slots for what comes next are
        cleared of what they held _HISTORY samples ago."""
        first, last = self._n + _AHEAD, end + _AHEAD
        if last > first:
            self._far[(first + np.arange(min(last - first, _HISTORY))) % _HISTORY] = 0.0

    def _place_reference(self) -> None:
        origin = self._origin if self._origin is not None else 0.0
        for when, samples, new_stream in self.reference.take():
            nominal = int(round((when - origin) * RATE))
            if samples is None:  # stopped: nothing placed from then on was heard
                if nominal < self._far_end:
                    start = max(nominal, self._n + _AHEAD - _HISTORY)
                    self._far[(start + np.arange(self._far_end - start)) % _HISTORY] = 0.0
                    self._far_until = min(self._far_until, nominal)
                    self._far_end = nominal
                continue
            # Within a stream the blocks follow each other, and their times (when each will
            # sound) jitter by a few samples: only a new stream, or a block whose time is
            # clearly elsewhere (the device ran dry before it), is placed by its time.
            late = nominal > self._far_end + _UNDERRUN
            at = nominal if new_stream or late else self._far_end
            if new_stream or late:
                # The echo may now come at another delay than the filter learned: until it
                # has learned again, a louder error is not taken for someone talking over it.
                self._moved_at = at
                self._keep_room = bool(self._weights.any())
                self._trained = 0
            self._far_end = at + samples.size
            # Only what fits the ring's window: behind the microphone by less than _HISTORY
            # less _AHEAD, ahead of it by less than _AHEAD.
            low, high = self._n + _AHEAD - _HISTORY, self._n + _AHEAD
            keep = samples[max(0, low - at): max(0, high - at)]
            self._remember(self._far, max(at, low), keep)
            if samples.size and float(np.mean(samples.astype(np.float64) ** 2)) > _SOUNDING:
                self._far_until = max(self._far_until, self._far_end)

    @staticmethod
    def _remember(ring: np.ndarray, index: int, samples: np.ndarray) -> None:
        """Write SAMPLES into RING (of _HISTORY samples) at stream INDEX."""
        if samples.size == 0:
            return
        if samples.size >= _HISTORY:
            index, samples = index + samples.size - _HISTORY, samples[-_HISTORY:]
        ring[(index + np.arange(samples.size)) % _HISTORY] = samples

    @staticmethod
    def _span(ring: np.ndarray, start: int, count: int) -> np.ndarray:
        return ring[(start + np.arange(count)) % _HISTORY]

    # -- one block of the adaptive filter ------------------------------------------------------

    def _frames(self, index: int) -> np.ndarray:
        """The reference spectra the filter multiplies for the microphone block at INDEX."""
        base = index - max(0, self.delay - _MARGIN)
        starts = base - BLOCK - BLOCK * np.arange(PARTITIONS)
        slots = (starts[:, np.newaxis] + np.arange(2 * BLOCK)) % _HISTORY
        return np.fft.rfft(self._far[slots].astype(np.float64), axis=1)

    @staticmethod
    def _echo(weights: np.ndarray, far: np.ndarray) -> np.ndarray:
        """The echo WEIGHTS make of the reference spectra FAR, for one block."""
        return np.fft.irfft((weights * far).sum(axis=0), n=2 * BLOCK)[BLOCK:]

    def _block(self, mic: np.ndarray, index: int) -> np.ndarray:
        far = self._frames(index)
        echo = self._echo(self._weights, far)
        error = mic - echo
        sounding = self._far_until >= index - PARTITIONS * BLOCK - self.delay
        mic_power = float(np.mean(mic.astype(np.float64) ** 2))
        if not sounding:
            self._noise = 0.95 * self._noise + 0.05 * max(mic_power, 1.0)
            return self._suppress(error, 1.0)
        echo_power = float(np.mean(echo ** 2))
        error_power = float(np.mean(error ** 2))
        if error_power > _WORSE * mic_power:
            # The filter adds more than it takes away: it was learned for another delay (the
            # streams moved) or it diverged. Never worse than no canceller: the microphone as it
            # came, turned down as the echo it mostly is. If that goes on once the delay has
            # been looked for again (a new stream moves it by a few samples, and the filter
            # shifted to the new delay still knows the room), the room is learned again.
            self._worse += 1
            if self._worse >= _WORSE_BLOCKS and self._moved_at is None:
                _LOGGER.debug("The echo filter made things worse; learning the room again")
                self._use(np.zeros_like(self._weights))
                self._trained = self._worse = 0
            return self._suppress(mic, _FLOOR)
        self._worse = 0
        if self._talking_over(echo_power, error_power):
            return self._suppress(error, 1.0)
        left = _OVER * self._residual * echo_power / max(error_power, 1.0)
        cleaned = self._suppress(error, min(1.0, max(_FLOOR, 1.0 - left)))
        if self._moved_at is not None and self._keep_room:
            # Placed afresh, and the delay not looked for again yet: what the filter knows is
            # kept as it was, to be moved to the new delay whole or not at all (_set_delay).
            return cleaned
        if error_power < 0.25 * mic_power:
            self._trained += 1
            if echo_power > 4 * self._noise:
                self._residual = 0.9 * self._residual + 0.1 * min(error_power / echo_power, 1.0)
        trial = mic - self._echo(self._learning, far)
        self._compare(error_power, float(np.mean(trial ** 2)))
        spectrum = np.fft.rfft(np.concatenate([np.zeros(BLOCK), trial]))
        power = (np.abs(far) ** 2).sum(axis=0) + _REGULARISE
        gradient = STEP * np.conj(far) * spectrum / power
        # The gradient constraint: the filter's impulse response stays one block long per
        # partition, so the overlap-save product is a linear convolution.
        taps = np.fft.irfft(gradient, n=2 * BLOCK, axis=1)
        taps[:, BLOCK:] = 0.0
        self._learning += np.fft.rfft(taps, axis=1)
        return cleaned

    def _compare(self, kept_power: float, learning_power: float) -> None:
        """Two filters: the one in use (kept) and the one that learns. The first syllables of a
        voice over the answer are learned from before double talk is told from echo, and spoil
        the learning filter: the one in use takes the learner's weights only while they do
        clearly better, and a learner doing clearly worse is put back to them."""
        self._kept_error = 0.8 * self._kept_error + 0.2 * kept_power
        self._learning_error = 0.8 * self._learning_error + 0.2 * learning_power
        if self._learning_error < _ADOPT * self._kept_error and learning_power < kept_power:
            self._weights = self._learning.copy()
            self._kept_error = self._learning_error
        elif self._learning_error > _RESTORE * self._kept_error:
            # Not logged: with the echo cancelled to the noise floor the two trade places
            # often, harmlessly (dozens of times an answer in --debug runs).
            self._learning = self._weights.copy()
            self._learning_error = self._kept_error

    def _use(self, weights: np.ndarray) -> None:
        """WEIGHTS in use and to learn from."""
        self._weights = weights
        self._learning = weights.copy()
        self._kept_error = self._learning_error = 0.0

    def _suppress(self, block: np.ndarray, gain: float) -> np.ndarray:
        """BLOCK times the suppressor's GAIN, moved to from the last block's gradually (a step
        would be a click)."""
        start = self._gain
        self._gain = gain if gain >= start else max(gain, start * _RELEASE)
        if start == self._gain == 1.0:
            return block
        return block * np.linspace(start, self._gain, block.size)

    def _talking_over(self, echo_power: float, error_power: float) -> bool:
        """Whether someone talks over the reference (then the filter must not learn)."""
        trained = self._trained >= 60  # about a second of learning
        louder = error_power > _DOUBLE_TALK * (self._residual * echo_power + self._noise)
        if trained and louder:
            self._stuck += 1
            self.double_talk_blocks += 1
            if self._stuck < _STUCK:
                self._hold = _DOUBLE_TALK_HOLD
                return True
            _LOGGER.debug("The echo path seems to have changed: learning it again")
            self._trained, self._stuck = 0, 0
            return False
        self._stuck = 0
        if self._hold:
            self._hold -= 1
            return True
        return False

    # -- the bulk delay -------------------------------------------------------------------------

    def _maybe_find_delay(self) -> None:
        """Look for the delay again: every _DELAY_EVERY, and soon after the reference was
        placed afresh (a new stream, or after the device ran dry), when it may have moved."""
        end = self._n
        moved_at = self._moved_at
        moved = moved_at is not None and end - moved_at >= _QUICK_WINDOW + self.delay
        if end < self._next_delay_check and not moved:
            return
        self._next_delay_check = end + _DELAY_EVERY
        if self._far_until < end - _DELAY_WINDOW // 2:
            return  # too little reference in the window to correlate
        if moved_at is not None and moved:
            # Only what was heard since it moved (echoes of the earlier placement mislead).
            window = min(_DELAY_WINDOW, end - moved_at)
            self._moved_at = None
            found = self._correlate(end, window, _SURE)
            if found is not None:
                self._delay_candidate = found
                self._set_delay(found)
            return
        found = self._correlate(end, _DELAY_WINDOW, _CLEAR)
        if found is None:
            return
        if self._delay_candidate is not None and abs(found - self._delay_candidate) <= 2:
            self._set_delay(found)
        self._delay_candidate = found

    def _set_delay(self, found: int) -> None:
        """The direct path is FOUND samples after the reference. What the filter learned
        either moves along with the delay (it learned this echo where the old delay put it) or
        stays (it learned the room before the reference was placed afresh, and the room did
        not move): whichever explains what was heard last better."""
        if abs(found - self.delay) > 2:
            _LOGGER.debug("Echo delay %d -> %d samples", self.delay, found)
            shifted = self._shifted_weights(found - self.delay)
            self.delay = found
            kept, moved = self._error_powers(self._weights, shifted)
            self._use(shifted if moved < kept else self._weights)
            self._trained = 0

    def _error_powers(self, *candidates: np.ndarray, blocks: int = 16) -> list[float]:
        """What each of the CANDIDATES (filter weights) leaves of the last BLOCKS blocks heard
        (summed mean squares), at this delay."""
        end = self._n - self._pending.size
        totals = [0.0] * len(candidates)
        for index in range(max(0, end - blocks * BLOCK), end - BLOCK + 1, BLOCK):
            far = self._frames(index)
            mic = self._span(self._mic, index, BLOCK)
            for number, weights in enumerate(candidates):
                echo = np.fft.irfft((weights * far).sum(axis=0), n=2 * BLOCK)[BLOCK:]
                totals[number] += float(np.mean((mic - echo) ** 2))
        return totals

    def _correlate(self, end: int, window: int, clear: float) -> int | None:
        """The lag (samples) at which the reference best explains the last WINDOW samples of
        the microphone, or None when its peak is not CLEAR times the correlation's mean."""
        longest = int(MAX_DELAY_S * RATE)
        mic = self._span(self._mic, end - window, window).astype(np.float64)
        far = self._span(self._far, end - window - longest, window + longest).astype(np.float64)
        if not far.any() or not mic.any():
            return None
        size = 1 << int(np.ceil(np.log2(mic.size + far.size)))
        cross = np.fft.rfft(mic, size) * np.conj(np.fft.rfft(far, size))
        cross /= np.abs(cross) + 1e-9  # PHAT: every frequency counts alike, so the peak is sharp
        correlation = np.fft.irfft(cross, size)
        # mic[i] ~ far[i + longest - lag]: the lag shows at a circular shift of lag - longest.
        shifts = (np.arange(longest + 1) - longest) % size
        values = correlation[shifts]
        best = int(np.argmax(values))
        spread = float(np.mean(np.abs(values))) + 1e-12
        if values[best] < clear * spread:
            return None  # no clear echo: the room is quiet or someone talks over it
        return best

    def _shifted_weights(self, change: int) -> np.ndarray:
        """What the filter learned, for the bulk delay moved by CHANGE samples."""
        old = max(0, self.delay - _MARGIN)
        new = max(0, self.delay + change - _MARGIN)
        moved = new - old
        taps = np.fft.irfft(self._weights, n=2 * BLOCK, axis=1)[:, :BLOCK].reshape(-1)
        shifted = np.zeros_like(taps)  # moved beyond the filter: nothing learned still holds
        if 0 <= moved < taps.size:
            shifted[:taps.size - moved] = taps[moved:]
        elif -taps.size < moved < 0:
            shifted[-moved:] = taps[:taps.size + moved]
        padded = np.zeros((PARTITIONS, 2 * BLOCK))
        padded[:, :BLOCK] = shifted.reshape(PARTITIONS, BLOCK)
        return np.fft.rfft(padded, axis=1)

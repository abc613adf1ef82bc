"""Energy-based endpointing: where an utterance starts and ends in a stream of 16-bit audio.

Pure and synchronous: feed it int16 chunks of any size, get SpeechStart and SpeechEnd events.

The stream is cut into frames (30 ms by default) and each frame's level (RMS in dBFS, from
LEVEL_FROM_HZ up) is compared with a threshold THRESHOLD_DB above the background level, and
never below MIN_THRESHOLD_DBFS.
The background level is the quietest frame of the last NOISE_WINDOW_S seconds, speech included:
speech has quiet frames between syllables, so the estimate follows a fan that starts or stops
within a few seconds without being carried away by the talking itself.

Defaults, and why:
* end_silence_ms = 540 (18 frames). Every 100 ms of trailing silence we wait for is 100 ms the
  user waits for the answer, so this is as short as is safe: espeak-ng pauses at most ~210 ms
  at a comma (130 words a minute) and ~90 ms between words, and most hesitations inside a
  spoken sentence are under half a second. The end is declared at most end_silence_ms plus one
  frame after the speech really stops (measured on espeak-ng speech in silence and in
  noise: 430 to 560 ms after its last audible sample).
* start_ms = 90: three loud frames in a row, so a click or a door knock does not start one.
* pre_roll_ms = 300: the start is seen only once the voice is well above the threshold; the
  soft beginning (an "f", an "h") is in the frames before, which are kept.
* max_utterance_s = 10: questions here are short; a TV or a continuous noise must not make an
  utterance grow without bound. A capped utterance ends with reason "max_length".

With a voice activity model (voice/audio/voice_activity.py) frames are the model's 32 ms and
each also gets the probability that it holds speech. A start then needs a voiced frame among the
loud ones (a knock or a cough is loud, not voiced). The end needs both: VOICE_END_MS since the
last voiced frame and end_silence_ms of low level. The level alone cuts sentences in noise,
where quiet syllables and commas fall below its threshold: 16 of 48 sentences cut in two against
1 with the model (bench/vad_pauses.py; a low rumble at 10 dB SNR). A SpeechPause marks silence
inside an utterance long enough to recognise what was said so far while waiting to see whether
the person goes on (voice/runtime/listener.py), so the wait at the end costs less.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, Protocol

import numpy as np

EndReason = Literal["silence", "early", "max_length", "end_of_input"]

# Quieter than any real microphone: keeps digital silence (log of 0) finite.
_SILENCE_DBFS = -120.0


@dataclass(frozen=True)
class SpeechStart:
    """Speech began; SAMPLE is the stream position of its first loud frame."""

    sample: int


@dataclass(frozen=True)
class SpeechEnd:
    """Speech ended; AUDIO is the utterance (with pre-roll and the trailing silence) as int16.

    SAMPLE is the stream position where the end was decided; REASON says why.
    """

    audio: bytes
    reason: EndReason
    sample: int
    # The SAMPLE of the last SpeechPause when nothing loud or voiced came after it: what was
    # recognised of that pause's audio is what was said (None: no such pause).
    paused_at: int | None = None


@dataclass(frozen=True)
class SpeechPause:
    """The voice stopped GUESS_MS ago and the level has dropped, inside an utterance: AUDIO is
    the utterance so far. It may still go on (another SpeechPause or a SpeechEnd follows)."""

    audio: bytes
    sample: int


Event = SpeechStart | SpeechPause | SpeechEnd

# Silero's own thresholds (its examples): speech from 0.5, and it lasts until below 0.35.
VOICED_ON = 0.5
VOICED_OFF = 0.35
# Measured on espeak-ng speech, six voices at 110 to 170 words a minute, in silence and in noise
# (bench/vad_pauses.py): the longest silence the model heard inside a sentence was 384 ms (commas
# at 110 words a minute), except a whispering voice in noise, which it hears poorly. 416 ms
# keeps those sentences whole; tests/test_voice_activity.py checks it on voices and rates the
# measurement did not use.
VOICE_END_MS = 416
QUIET_CONFIRM_MS = 64  # a pause is a pause once the level has dropped this long too
# A pause long enough to start recognising what was said so far, on the chance that it was all.
# Recognition takes about 100 ms here (PocketSphinx, a short command), so it starts before a
# caller may end the utterance at the pause (PAUSE_MS): the words are ready about when the
# pause is long enough, not 100 ms after. Most gaps between words are shorter than this
# (bench/vad_pauses.py); one that is not costs a recognition that is thrown away.
GUESS_MS = 64
# The shortest silence after which an utterance may end early at its pause (end_at_pause),
# longer than the gaps between the words of a short command.
PAUSE_MS = 160


class FrameModel(Protocol):
    """What the endpointer needs of a voice activity model."""

    def probability(self, frame: bytes) -> float: ...

    def reset(self) -> None: ...


# The level is measured from this frequency up. Below it are the rumble of fans, traffic and
# lifts, mains hum and a hand on the table, and little of speech (PocketSphinx's front end
# ignores everything under 133 Hz; a telephone, under 300). Measured broadband, a low rumble
# hid the quiet parts of a sentence: bench/vad_pauses.py (10 dB rumble) cut 1 of 48 sentences
# with the voice model, 16 by the level alone; from 150 Hz up 0 and 7, the end as soon (median
# 466 ms both). On voices and noises that bench does not use (6 voices, 4 sentences with
# commas, sox's brown, pink and white noise at 5 and 10 dB: 144 clips) 16 cut against 10, every
# one left a whispering voice the model hears poorly.
LEVEL_FROM_HZ = 150.0


@lru_cache(maxsize=4)
def _band(samples: int, rate: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(window, each FFT bin's weight, the window's power) for frames of SAMPLES at RATE: by
    Parseval a bin stands for itself and its mirror image, but for 0 Hz and (in an even frame)
    the last; a bin under LEVEL_FROM_HZ counts for nothing."""
    window = np.hanning(samples)
    weights = np.where(np.fft.rfftfreq(samples, 1.0 / rate) >= LEVEL_FROM_HZ, 2.0, 0.0)
    if samples % 2 == 0:
        weights[-1] /= 2
    return window, weights, float(np.mean(window ** 2))


def frame_level_dbfs(frame: np.ndarray, rate: int = 16000) -> float:
    """Level of int16 samples from LEVEL_FROM_HZ up, in dB relative to full scale: the RMS
    level of what the frame holds in that band (0 dBFS is a full-scale square wave)."""
    if len(frame) < 2:
        return _SILENCE_DBFS
    window, weights, window_power = _band(len(frame), rate)
    spectrum = np.fft.rfft(frame.astype(np.float64) * window)
    # The window's loss of power made good, so a steady sound reads as its RMS level.
    power = float(weights @ (spectrum.real ** 2 + spectrum.imag ** 2)) / len(frame) ** 2 / window_power
    return max(_SILENCE_DBFS, 10.0 * math.log10(power / 32768.0**2)) if power > 0 else \
        _SILENCE_DBFS


class Endpointer:
    """Splits a stream of int16 mono audio into utterances by level against the background."""

    def __init__(self, rate: int = 16000, frame_ms: int = 30, start_ms: int = 90,
                 end_silence_ms: int = 540, max_utterance_s: float = 10.0,
                 pre_roll_ms: int = 300, threshold_db: float = 10.0,
                 min_threshold_dbfs: float = -55.0, noise_window_s: float = 3.0,
                 voice: FrameModel | None = None, voice_end_ms: int = VOICE_END_MS) -> None:
        if rate <= 0 or frame_ms <= 0:
            raise ValueError(f"rate and frame_ms must be positive, not {rate} and {frame_ms}")
        if min(start_ms, end_silence_ms, pre_roll_ms) < 0 or max_utterance_s <= 0:
            raise ValueError("Endpointer durations must not be negative")
        self.rate = rate
        self.voice = voice
        if voice is not None and rate != 16000:
            raise ValueError("The voice activity model takes 16 kHz audio")
        # 512 samples: the voice activity model's window.
        self.frame_samples = 512 if voice is not None else max(1, rate * frame_ms // 1000)
        frame_s = self.frame_samples / rate
        self.voice_end_frames = max(1, math.ceil(voice_end_ms / 1000 / frame_s - 1e-9))
        self.confirm_frames = max(1, math.ceil(QUIET_CONFIRM_MS / 1000 / frame_s - 1e-9))
        self.guess_frames = max(1, math.ceil(GUESS_MS / 1000 / frame_s - 1e-9))
        self.pause_frames = max(1, math.ceil(PAUSE_MS / 1000 / frame_s - 1e-9))
        self.start_frames = max(1, math.ceil(start_ms / 1000 / frame_s - 1e-9))
        self.end_frames = max(1, math.ceil(end_silence_ms / 1000 / frame_s - 1e-9))
        self.max_samples = max(self.frame_samples, int(max_utterance_s * rate))
        self.pre_roll_frames = math.ceil(pre_roll_ms / 1000 / frame_s - 1e-9)
        self.threshold_db = threshold_db
        self.min_threshold_dbfs = min_threshold_dbfs
        self._levels: deque[float] = deque(maxlen=max(1, round(noise_window_s / frame_s)))
        self._pending = bytearray()
        self._ring: deque[bytes] = deque(maxlen=self.pre_roll_frames + self.start_frames)
        self._utterance = bytearray()
        self._in_speech = False
        self._run = 0  # loud frames in a row before a start; quiet ones in a row after
        self._voiced = False  # the model's verdict on the last frame, with hysteresis
        self._voiced_in_run = False  # a voiced frame among the loud ones before a start
        self._unvoiced = 0  # frames since the last voiced one, in an utterance
        self._paused_at: int | None = None  # the last SpeechPause, while nothing followed it
        self._position = 0  # samples framed so far

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    @property
    def noise_dbfs(self) -> float:
        """The current background level estimate."""
        return min(self._levels) if self._levels else _SILENCE_DBFS

    @property
    def threshold_dbfs(self) -> float:
        """The level a frame must exceed to count as speech."""
        return max(self.noise_dbfs + self.threshold_db, self.min_threshold_dbfs)

    def feed(self, chunk: bytes | bytearray | memoryview | np.ndarray) -> list[Event]:
        """Feed int16 audio (raw little-endian bytes or an int16 array); return what happened."""
        if isinstance(chunk, np.ndarray):
            if chunk.dtype != np.int16:
                raise TypeError(f"Endpointer takes int16 samples, not {chunk.dtype}")
            chunk = chunk.astype("<i2", copy=False).tobytes()
        self._pending += chunk
        frame_bytes = 2 * self.frame_samples
        events: list[Event] = []
        while len(self._pending) >= frame_bytes:
            frame = bytes(self._pending[:frame_bytes])
            del self._pending[:frame_bytes]
            events.extend(self._frame(frame))
        return events

    def finish(self) -> list[Event]:
        """End of the stream: close an utterance in progress (reason "end_of_input")."""
        events: list[Event] = []
        if self._in_speech:
            self._utterance += self._pending[:len(self._pending) // 2 * 2]
            events.append(self._end("end_of_input", self._position + len(self._pending) // 2))
        self._pending.clear()
        return events

    @property
    def paused_at(self) -> int | None:
        """The sample of the last SpeechPause while nothing loud or voiced has followed it."""
        return self._paused_at

    @property
    def pause_is_long(self) -> bool:
        """The voice has been silent PAUSE_MS since the last SpeechPause began: long enough to
        end the utterance there (end_at_pause)."""
        return self._paused_at is not None and self._unvoiced >= self.pause_frames

    def end_at_pause(self) -> SpeechEnd:
        """End the utterance now, at its pause (reason "early"): the caller knows from what was
        said that nothing more is coming, as with a short command."""
        if self._paused_at is None or not self.pause_is_long:
            raise ValueError("No pause long enough to end the utterance at")
        return self._end("early", self._position)

    def reset(self) -> None:
        """Forget any utterance in progress (after a pause); the background estimate stays."""
        self._pending.clear()
        self._ring.clear()
        self._utterance = bytearray()
        self._in_speech = False
        self._run = 0
        self._voiced_in_run = False
        self._unvoiced = 0
        self._paused_at = None

    def _voice(self, frame: bytes) -> bool:
        if self.voice is None:
            return True
        probability = self.voice.probability(frame)
        self._voiced = probability >= (VOICED_OFF if self._voiced else VOICED_ON)
        return self._voiced

    def _frame(self, frame: bytes) -> list[Event]:
        level = frame_level_dbfs(np.frombuffer(frame, dtype="<i2"), self.rate)
        self._levels.append(level)
        loud = level > self.threshold_dbfs
        voiced = self._voice(frame)
        self._position += self.frame_samples
        if not self._in_speech:
            self._ring.append(frame)
            self._run = self._run + 1 if loud else 0
            self._voiced_in_run = loud and (self._voiced_in_run or voiced)
            if self._run < self.start_frames or not self._voiced_in_run:
                return []
            start = self._position - self._run * self.frame_samples
            self._utterance = bytearray(b"".join(self._ring))
            self._ring.clear()
            self._in_speech = True
            self._run = 0
            self._unvoiced = 0
            return [SpeechStart(start)]
        self._utterance += frame
        self._run = 0 if loud else self._run + 1
        if self.voice is None and self._run >= self.end_frames:
            return [self._end("silence", self._position)]
        if self.voice is not None:
            self._unvoiced = 0 if voiced else self._unvoiced + 1
            if self._unvoiced == 0 or self._run == 0:
                self._paused_at = None
            if self._unvoiced >= self.voice_end_frames and self._run >= self.end_frames:
                return [self._end("silence", self._position)]
            if self._paused_at is None and self._unvoiced >= self.guess_frames \
                    and self._run >= self.confirm_frames:
                self._paused_at = self._position
                return [SpeechPause(bytes(self._utterance), self._position)]
        if len(self._utterance) >= 2 * self.max_samples:
            return [self._end("max_length", self._position)]
        return []

    def _end(self, reason: EndReason, position: int) -> SpeechEnd:
        audio = bytes(self._utterance[:2 * self.max_samples])
        paused_at, self._paused_at = self._paused_at, None
        self._utterance = bytearray()
        self._in_speech = False
        self._run = 0
        self._unvoiced = 0
        return SpeechEnd(audio, reason, position,
                         paused_at if reason in ("silence", "early") else None)

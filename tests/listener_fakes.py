"""Fakes of the listener's devices, so its state machine runs in-process in milliseconds.

Audio time is the clock: every 30 ms block the fake microphone delivers moves it on by 30 ms, and
the fake speaker "speaks" until the clock has moved past the end of what it says. A scripted
utterance is a square wave whose height says which one it is; the scripted recogniser reads that
height, so what it hears is what the microphone carried, cut where the real endpointer cut it.
The earcons, the endpointer, the wake-phrase and barge-in rules, the voice's printing and the
skill are the real ones. The recognisers themselves are tested on real audio elsewhere
(tests/test_recognition.py, and this file's audio tests in test_listener.py).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from voice.asr.recognizer import Transcript
from voice.asr.second_opinion import SecondHearing
from voice.audio.earcons import earcon, names
from voice.audio.pcm import Audio

RATE = 16000
BLOCK_S = 0.030
BLOCK_SAMPLES = int(RATE * BLOCK_S)
SECONDS_PER_WORD = 0.35  # a person asking, about 170 words a minute
_BASE, _STEP = 3000, 200  # the square wave's height for utterance 0, and between utterances
_WAIT_S = 5.0  # real seconds a fake waits for the listener's threads before failing the test


@dataclass
class Event:
    at: float   # audio time, seconds
    # "print"; "sound" (an earcon); "speak", then "spoken" or "cut" (the assistant);
    # "said" and "said_end" (the person, the start and end of an utterance's sound)
    kind: str
    text: str


@dataclass
class Timeline:
    """Everything that happened, in audio time."""

    events: list[Event] = field(default_factory=list)

    def add(self, at: float, kind: str, text: str) -> None:
        self.events.append(Event(at, kind, text))

    def of(self, kind: str, containing: str = "") -> list[Event]:
        return [e for e in self.events if e.kind == kind and containing in e.text]

    def first(self, kind: str, containing: str = "", after: float = -1.0) -> Event:
        found = [e for e in self.of(kind, containing) if e.at > after]
        if not found:
            raise AssertionError(f"no {kind} event containing {containing!r} after {after:.2f} s:\n"
                                 + self.dump())
        return found[0]

    def dump(self) -> str:
        return "\n".join(f"{e.at:8.2f} {e.kind:6} {e.text[:90]}" for e in self.events)


class _Speech:
    def __init__(self, end: float) -> None:
        self.end = end
        self.done = threading.Event()
        self.thread = threading.current_thread()


class AudioTime:
    """The clock of both fakes: moved on by the microphone, waited on by the speaker."""

    def __init__(self, timeline: Timeline) -> None:
        self.now = 0.0
        self.timeline = timeline
        self.speech: _Speech | None = None
        self.ended = False
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
        with self._lock:
            speech = self.speech
        if speech is not None and self.now >= speech.end:
            speech.done.set()
            # The speaking thread ends before the next block: Voice.speaking is then False.
            speech.thread.join(_WAIT_S)

    def end(self) -> None:
        """The microphone has nothing more: let any speech finish."""
        self.ended = True
        with self._lock:
            if self.speech is not None:
                self.speech.done.set()


class FakeSpeaker:
    """A Speaker that takes SECONDS_PER_WORD of audio time per word and can be cut short."""

    available = True
    reason = ""
    voice: str | None = None

    def __init__(self, time: AudioTime, rate: int = 175) -> None:
        self.time = time
        self.rate = rate
        self.volume = 1.0
        self.started = threading.Event()  # set when say() has registered its speech
        self._sounds = {id(earcon(name)): name for name in names()}
        self._stopped = False

    def _sound_name(self, audio: Audio) -> str:
        return self._sounds.get(id(audio), "unknown sound")

    def say(self, text: str, lead: Audio | None = None,
            sounding: threading.Event | None = None) -> bool:
        time = self.time
        if sounding is not None:
            sounding.set()  # the fake's sound begins at once
        if lead is not None:
            time.timeline.add(time.now, "sound", self._sound_name(lead))
        time.timeline.add(time.now, "speak", text)
        speech = _Speech(time.now + len(text.split()) * 60.0 / self.rate)
        with time._lock:
            time.speech = speech
            self._stopped = False
        self.started.set()
        if not time.ended:
            speech.done.wait(_WAIT_S * 4)
        with time._lock:
            time.speech = None
            stopped = self._stopped
        time.timeline.add(time.now, "cut" if stopped else "spoken", text)
        self.started.clear()
        return not stopped

    def play_sound(self, audio: Audio) -> bool:
        self.time.timeline.add(self.time.now, "sound", self._sound_name(audio))
        return True

    def stop(self) -> None:
        with self.time._lock:
            if self.time.speech is not None and not self.time.speech.done.is_set():
                self._stopped = True
                self.time.speech.done.set()


class Printed:
    """The voice's text output, each line stamped with the audio time."""

    def __init__(self, time: AudioTime) -> None:
        self.time = time
        self._line = ""

    def write(self, text: str) -> int:
        self._line += text
        while "\n" in self._line:
            line, self._line = self._line.split("\n", 1)
            self.time.timeline.add(self.time.now, "print", line)
        return len(text)

    def flush(self) -> None:
        pass


@dataclass(frozen=True)
class _Silence:
    seconds: float


@dataclass(frozen=True)
class _Say:
    index: int
    seconds: float


@dataclass(frozen=True)
class _Until:
    condition: Callable[[], bool]
    limit_s: float


class ScriptedMicrophone:
    """An AudioSource playing a script: silence, utterances, and waits for the assistant."""

    def __init__(self, time: AudioTime, speaking: Callable[[], bool], speaker: FakeSpeaker,
                 lag_s: float | None = None) -> None:
        """LAG_S: the listener reads each block this long after it was captured (it fell
        behind), said by last_arrived as the real Microphone does; None: not said."""
        self.time = time
        self._lag_s = lag_s
        self.texts: list[str] = []  # utterance i is a square wave of height _BASE + i * _STEP
        self._steps: list[_Silence | _Say | _Until] = []
        self._speaking = speaking
        self._speaker = speaker
        self._closed = threading.Event()

    # -- the script --------------------------------------------------------------------------

    def silence(self, seconds: float) -> ScriptedMicrophone:
        self._steps.append(_Silence(seconds))
        return self

    def say(self, text: str, seconds: float | None = None) -> ScriptedMicrophone:
        """An utterance of TEXT, SECONDS long (by default SECONDS_PER_WORD a word)."""
        self.texts.append(text)
        length = seconds or SECONDS_PER_WORD * len(text.split())
        self._steps.append(_Say(len(self.texts) - 1, length))
        return self

    def until(self, condition: Callable[[], bool], limit_s: float = 120.0) -> ScriptedMicrophone:
        """Silence until CONDITION holds (checked before every block); fails after LIMIT_S."""
        self._steps.append(_Until(condition, limit_s))
        return self

    def until_speaking(self) -> ScriptedMicrophone:
        return self.until(lambda: self._speaking())

    def until_quiet(self) -> ScriptedMicrophone:
        """Silence until the assistant has stopped speaking (and the last earcon is played)."""
        return self.until(lambda: not self._speaking())

    # -- AudioSource ---------------------------------------------------------------------------

    @property
    def last_arrived(self) -> float | None:
        """When the block read last was captured (its end), in audio time."""
        return None if self._lag_s is None else self.time.now + BLOCK_S - self._lag_s

    def chunks(self) -> Iterator[bytes]:
        quiet = bytes(BLOCK_SAMPLES * 2)
        for step in self._steps:
            if isinstance(step, _Silence):
                for _ in range(round(step.seconds / BLOCK_S)):
                    yield from self._block(quiet)
            elif isinstance(step, _Say):
                self.time.timeline.add(self.time.now, "said", self.texts[step.index])
                height = _BASE + step.index * _STEP
                wave = np.where(np.arange(BLOCK_SAMPLES) % 32 < 16, height, -height)
                loud = wave.astype("<i2").tobytes()
                for _ in range(round(step.seconds / BLOCK_S)):
                    yield from self._block(loud)
                self.time.timeline.add(self.time.now, "said_end", self.texts[step.index])
            else:
                deadline = self.time.now + step.limit_s
                while not step.condition():
                    if self.time.now > deadline:
                        raise AssertionError(f"still waiting after {step.limit_s} s of audio")
                    yield from self._block(quiet)
            if self._closed.is_set():
                break
        self.time.end()

    def _block(self, block: bytes) -> Iterator[bytes]:
        if self._closed.is_set():
            return
        self._settle()
        yield block
        self.time.advance(BLOCK_S)

    def _settle(self) -> None:
        """Wait until a speech just started has registered with the clock, so the speaker's
        start does not depend on when its thread happened to run."""
        if self._speaking() and not self._speaker.started.wait(_WAIT_S):
            raise AssertionError("the speaker thread never started speaking")

    def close(self) -> None:
        self._closed.set()


class ScriptedRecognizer:
    """A Recognizer that hears which scripted utterance the audio carried.

    Its partial result grows word by word through the utterance, as a streaming engine's does.
    """

    name = "scripted"
    mode = "domain"

    def __init__(self, microphone: ScriptedMicrophone,
                 alternatives: dict[str, list[str]] | None = None) -> None:
        self.microphone = microphone
        self._extra = alternatives or {}
        self._heard: dict[int, int] = {}  # utterance index -> loud blocks heard

    def _text(self) -> str:
        if not self._heard:
            return ""
        index = max(self._heard, key=self._heard.__getitem__)
        return self.microphone.texts[index]

    def accept(self, chunk: bytes) -> str:
        height = int(np.abs(np.frombuffer(chunk, dtype="<i2")).max(initial=0))
        if height >= _BASE:
            index = round((height - _BASE) / _STEP)
            self._heard[index] = self._heard.get(index, 0) + 1
        text = self._text()
        if not text:
            return ""
        words = text.split()
        blocks = SECONDS_PER_WORD * len(words) / BLOCK_S
        shown = min(len(words), math.ceil(len(words) * max(self._heard.values()) / blocks))
        return " ".join(words[:shown])

    def finish(self) -> Transcript:
        text = self._text()
        self._heard.clear()
        return Transcript(text, (text, *self._extra.get(text, [])) if text else ())


def _heard_at_another_speed(wave: np.ndarray) -> bool:
    """The square wave of an utterance changes sign every 16 samples as said; played faster or
    slower (second_opinion.at_speed), more or less often."""
    loud = wave[np.abs(wave) >= _BASE // 2]
    signs = np.signbit(loud)
    rate = np.count_nonzero(signs[1:] != signs[:-1]) / max(1, loud.size)
    return abs(rate - 1 / 16) > 0.004


class ScriptedWhisper:
    """The second recogniser (voice/asr/second_opinion.py's Transcriber) for scripted audio: it
    hears utterance i as HEARD.get(text, text), where text is what the microphone said.

    With HOLD, it answers an utterance it hears differently (one in HEARD) only once HOLD is set,
    as a slow Whisper would: what the listener does meanwhile shows. AGAIN: how it hears an
    utterance the second time and after (at other speeds, voice/asr/second_opinion.py).
    """

    def __init__(self, microphone: ScriptedMicrophone, heard: dict[str, str] | None = None,
                 hold: threading.Event | None = None, again: dict[str, str] | None = None) -> None:
        self.microphone = microphone
        self.heard = heard or {}
        self.hold = hold
        self.again = again or {}
        self.calls: list[str] = []
        self.logprob = -0.2  # a clear hearing

    def hear(self, pcm: bytes) -> SecondHearing:
        return SecondHearing(self.transcribe(pcm), self.logprob)

    def transcribe(self, pcm: bytes) -> str:
        wave = np.frombuffer(pcm, dtype="<i2")
        samples = np.abs(wave)
        loud = samples[samples >= _BASE]
        if loud.size == 0:
            return ""
        if self.calls and _heard_at_another_speed(wave):
            # Resampled, the square wave rings: its height no longer tells the utterance, but
            # an utterance is heard again only after it was heard as it was said.
            text = self.calls[-1]
            return self.again.get(text, text)
        index = int(np.bincount(np.round((loud - _BASE) / _STEP).astype(int)).argmax())
        text = self.microphone.texts[index]
        self.calls.append(text)
        if self.hold is not None and text in self.heard and not self.hold.wait(_WAIT_S):
            raise AssertionError("the second recogniser was held and never released")
        return self.heard.get(text, text)

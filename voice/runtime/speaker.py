"""The speaker: says replies aloud sentence by sentence, stoppable at once, or stays silent."""

from __future__ import annotations

import logging
import queue
import re
import threading
from collections.abc import Iterator
from typing import Protocol

from ..audio.devices import AudioDeviceError, find_output_device, output_devices
from ..audio.echo_cancel import PlaybackReference
from ..audio.pcm import Audio
from ..audio.playback import AudioOutput
from ..tts.synthesizer import (
    DEFAULT_RATE,
    DEFAULT_VOLUME,
    INSTALL_HINT,
    SpeechError,
    Synthesizer,
    VoiceNotFoundError,
)
from . import trace

_LOGGER = logging.getLogger(__name__)

PRINT_ONLY = "so I will only print my answers."
# Fragments shorter than this ("Yes.", "1.") are spoken together with the next sentence: alone
# they sound clipped, and espeak ends every synthesis with a pause.
MIN_SENTENCE_WORDS = 3
_POLL_SECONDS = 0.02
_WORKER_JOIN_SECONDS = 2.0  # one sentence's synthesis at most; normally a few milliseconds
_SENTENCE_BREAK = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+|\n\s*\n")
_DONE = object()


class Speaker(Protocol):
    """Something that speaks text aloud, or explains why it cannot."""

    available: bool
    reason: str  # why there is no sound; empty when available
    rate: int  # words per minute
    volume: float  # 0.0 to 1.0
    voice: str | None  # the voice in use; setting it may raise VoiceNotFoundError

    def say(self, text: str, lead: Audio | None = None,
            sounding: threading.Event | None = None) -> bool:
        """Speak TEXT (after the sound LEAD, if any), blocking; True if spoken to the end.
        SOUNDING, if given, is set when the first sound is handed to the output, and at the
        latest when say() returns."""
        ...

    def play_sound(self, audio: Audio) -> bool:
        """Play a short sound (an earcon); False if it could not."""

    def stop(self) -> None:
        """Cut off speech in progress (from any thread)."""
        ...

    def echo_reference(self) -> PlaybackReference | None:
        """What this speaker plays, told as it plays (for an echo canceller); None if silent."""
        ...


def split_sentences(text: str) -> list[str]:
    """TEXT as sentences to synthesise one by one, with very short fragments kept joined."""
    pieces = [" ".join(p.split()) for p in _SENTENCE_BREAK.split(text)]
    sentences: list[str] = []
    pending = ""
    for piece in filter(None, pieces):
        pending = f"{pending} {piece}" if pending else piece
        if len(pending.split()) >= MIN_SENTENCE_WORDS:
            sentences.append(pending)
            pending = ""
    if pending:
        if sentences:
            sentences[-1] = f"{sentences[-1]} {pending}"
        else:
            sentences.append(pending)
    return sentences


class TtsSpeaker:
    """Speaks through a Synthesizer and an AudioOutput.

    Sentences are synthesised on a worker thread while earlier ones play, so the first words are
    heard after one sentence's synthesis rather than the whole reply's.
    """

    def __init__(self, synth: Synthesizer, output: AudioOutput) -> None:
        self._synth = synth
        self._output = output
        self.available = True
        self.reason = ""
        self._say_lock = threading.Lock()
        self._active_lock = threading.Lock()
        self._active: set[threading.Event] = set()

    @property
    def rate(self) -> int:
        return self._synth.rate

    @rate.setter
    def rate(self, value: int) -> None:
        self._synth.rate = value

    @property
    def volume(self) -> float:
        return self._synth.volume

    @volume.setter
    def volume(self, value: float) -> None:
        self._synth.volume = value

    @property
    def voice(self) -> str | None:
        return self._synth.voice

    @voice.setter
    def voice(self, spec: str | None) -> None:
        """Used from the next sentence on; VoiceNotFoundError if SPEC is not installed."""
        if spec:
            self._synth.voice = spec

    def say(self, text: str, lead: Audio | None = None,
            sounding: threading.Event | None = None) -> bool:
        """Speak TEXT, after the short sound LEAD if given; False if stopped or if speech failed.
        SOUNDING: set once the first sound is handed to the output (or when say() returns).

        LEAD plays while the first sentence is synthesised, so it adds no delay.

        A failure does not raise: the speaker turns unavailable and `reason` says why, so the
        caller (often a background thread) only has to check `available`.
        """
        # Registered before waiting for the lock, so stop() also cancels a say() queued behind
        # the current one.
        stop = threading.Event()
        with self._active_lock:
            self._active.add(stop)
        try:
            with self._say_lock:
                if not self.available:
                    return False
                return self._speak(split_sentences(text), stop, lead, sounding)
        except (SpeechError, AudioDeviceError) as err:
            _LOGGER.warning("Speech stopped working, so replies are only printed: %s", err)
            self.available = False
            self.reason = f"Speech stopped working, {PRINT_ONLY} {err}"
            return False
        finally:
            if sounding is not None:
                sounding.set()
            with self._active_lock:
                self._active.discard(stop)

    def stop(self) -> None:
        with self._active_lock:
            for event in self._active:
                event.set()

    def echo_reference(self) -> PlaybackReference:
        reference = self._output.reference
        if reference is None:
            reference = PlaybackReference()
            self._output.keep_open(reference)
        return reference

    def play_sound(self, audio: Audio) -> bool:
        """Play a short sound (an earcon) through the same output; False if it failed."""
        stop = threading.Event()
        try:
            with self._say_lock:
                if not self.available:
                    return False
                trace.mark("audio_ready")
                return self._output.play(audio, stop)
        except AudioDeviceError as err:
            _LOGGER.warning("Could not play a sound (%s).", err)
            return False

    def _speak(self, sentences: list[str], stop: threading.Event,
               lead: Audio | None = None, sounding: threading.Event | None = None) -> bool:
        audio: queue.Queue[object] = queue.Queue()
        if lead is not None:
            audio.put(lead)  # before the worker starts: it is played first
        worker = threading.Thread(target=self._synthesize_all, args=(sentences, stop, audio),
                                  name="tts-pipeline", daemon=True)
        worker.start()
        try:
            gaps = self._output.dry_gaps
            finished = self._output.play_all(self._synthesized(audio, stop, sounding), stop)
            for _ in range(self._output.dry_gaps - gaps):
                trace.mark("output_dry")  # a stutter only the program sees (bench/echo_bench.py)
            return finished and not stop.is_set()
        finally:
            # Return only when synthesis is over too: it briefly redirects the process's stdout,
            # and a program that prints and exits right after say() must not lose that output.
            stop.set()
            worker.join(_WORKER_JOIN_SECONDS)

    def _synthesize_all(self, sentences: list[str], stop: threading.Event,
                        audio: queue.Queue[object]) -> None:
        try:
            for sentence in sentences:
                if stop.is_set():
                    return
                audio.put(self._synth.synthesize(sentence))
            audio.put(_DONE)
        except Exception as err:  # handed over, so it is raised in the speaking thread
            audio.put(err)

    @staticmethod
    def _synthesized(audio: queue.Queue[object], stop: threading.Event,
                     sounding: threading.Event | None = None) -> Iterator[Audio]:
        """The worker's Audio in order; ends early when STOP is set, raises what the worker hit.
        SOUNDING is set as the first Audio is handed over."""
        while not stop.is_set():
            try:
                item = audio.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                continue
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            if isinstance(item, Audio):
                trace.mark("audio_ready")  # handed to the audio output (bench/latency_budget.py)
                if sounding is not None:
                    sounding.set()
                yield item


class SilentSpeaker:
    """Says nothing; `reason` tells the user why."""

    def __init__(self, reason: str) -> None:
        self.available = False
        self.reason = reason
        self.rate = DEFAULT_RATE
        self.volume = DEFAULT_VOLUME
        self.voice: str | None = None

    def say(self, text: str, lead: Audio | None = None,
            sounding: threading.Event | None = None) -> bool:
        if sounding is not None:
            sounding.set()  # there will be no sound
        return False

    def stop(self) -> None:
        return None

    def echo_reference(self) -> None:
        return None

    def play_sound(self, audio: Audio) -> bool:
        return False


def open_speaker(*, enabled: bool, rate: int | None = None, volume: float | None = None,
                 voice: str | None = None, device: int | str | None = None) -> Speaker:
    """A TtsSpeaker if text to speech and the output device work, else a SilentSpeaker saying why.

    Missing software or hardware never raises; an unknown VOICE does (VoiceNotFoundError), since
    it is a setting the user just typed and should fix.
    """
    if not enabled:
        return SilentSpeaker(f"Speech is turned off, {PRINT_ONLY}")
    try:
        synth = Synthesizer(rate, volume, voice)
    except VoiceNotFoundError:
        raise
    except SpeechError as err:
        _LOGGER.info("No text to speech: %s", err)
        return SilentSpeaker(f"Text to speech is not installed (espeak-ng), {PRINT_ONLY} "
                             f"{INSTALL_HINT}")
    try:
        index = find_output_device(device)
        if index is None:
            return SilentSpeaker(_no_device_reason(device, output_devices()))
        output = AudioOutput(index)
    except AudioDeviceError as err:
        _LOGGER.info("No audio output: %s", err)
        return SilentSpeaker(f"There is no sound output, {PRINT_ONLY} {err}")
    return TtsSpeaker(synth, output)


def _no_device_reason(device: int | str | None, devices: list[tuple[int, str]]) -> str:
    if device is None:
        return f"No audio output device was found, {PRINT_ONLY}"
    names = ", ".join(f"{index}: {name}" for index, name in devices)
    others = f"Output devices: {names}." if devices else "There is no other output device either."
    return f"The audio output device {str(device)!r} was not found, {PRINT_ONLY} {others}"

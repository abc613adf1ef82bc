"""Speech-to-text over Wyoming: audio-start, audio-chunk and audio-stop in any format Wyoming
allows, gathered as 16 kHz mono int16, then heard by the domain recogniser (or Whisper, when a
client asks for it by name and it is installed).

The recognisers are made on first use and used from one worker thread only: a PocketSphinx
decoder holds one utterance at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..asr.recognizer import Recognizer, RecognizerError, Transcript, transcript_of
from ..audio.pcm_stream import TARGET_RATE, PcmStream, format_problem

_LOGGER = logging.getLogger(__name__)

DOMAIN_MODEL = "numb-legs-domain"
MAX_UTTERANCE_S = 30.0  # a question is a few seconds; audio past this is not kept


class AudioFormatError(ValueError):
    """An audio event names a format that cannot be converted."""


class Utterance:
    """One utterance's audio as it arrives, converted chunk by chunk to 16 kHz mono int16.

    A chunk in another format than the one before (Wyoming puts the format in every chunk)
    starts a new conversion; the audio gathered so far is kept."""

    def __init__(self, max_seconds: float = MAX_UTTERANCE_S) -> None:
        self._stream: PcmStream | None = None
        self._parts: list[np.ndarray] = []
        self._kept = 0
        self._limit = int(max_seconds * TARGET_RATE)
        self.cut = False  # audio past the limit was dropped

    def start(self, rate: object, width: object, channels: object) -> None:
        """The format the following chunks are in (audio-start). Raises AudioFormatError."""
        self._switch(*_checked(rate, width, channels))

    def add(self, raw: bytes, rate: object, width: object, channels: object) -> None:
        """One chunk of RAW audio in the format it names. Raises AudioFormatError."""
        audio_format = _checked(rate, width, channels)
        if self._stream is None or not self._stream.same_format(*audio_format):
            self._switch(*audio_format)
        if self._kept >= self._limit:
            self.cut = True
            return
        if self._stream is not None:
            self._keep(self._stream.feed(raw))

    def finish(self) -> bytes:
        """The whole utterance as 16 kHz mono int16 PCM."""
        self._close_stream()
        audio = np.concatenate(self._parts) if self._parts else np.zeros(0, dtype=np.int16)
        self._parts, self._kept = [], 0
        return audio.tobytes()

    def _switch(self, rate: int, width: int, channels: int) -> None:
        self._close_stream()
        self._stream = PcmStream(rate, width, channels)

    def _close_stream(self) -> None:
        if self._stream is not None:
            self._keep(self._stream.flush())
            self._stream = None

    def _keep(self, samples: np.ndarray) -> None:
        room = self._limit - self._kept
        if len(samples) > room:
            samples = samples[:room]
            self.cut = True
        if len(samples):
            self._parts.append(samples)
            self._kept += len(samples)


def _checked(rate: object, width: object, channels: object) -> tuple[int, int, int]:
    problem = format_problem(rate, width, channels)
    if problem or not (isinstance(rate, int) and isinstance(width, int) and isinstance(channels, int)):
        raise AudioFormatError(problem)
    return rate, width, channels


@dataclass(frozen=True)
class AsrModel:
    """A recogniser offered to clients: its name, and how to make it."""

    name: str
    make: Callable[[], Recognizer]


class SpeechToText:
    """The offered recognisers by name, each loaded once, on first use. The first one is the
    default: a request naming no model (or one not offered) gets it."""

    def __init__(self, models: list[AsrModel]) -> None:
        if not models:
            raise ValueError("at least one recogniser must be offered")
        self.models = {model.name: model for model in models}
        self.default = models[0].name
        self._loaded: dict[str, Recognizer] = {}

    def chosen(self, name: object) -> str:
        """The model a request for NAME gets."""
        return name if isinstance(name, str) and name in self.models else self.default

    def prepare(self, name: str | None = None) -> None:
        """Load a recogniser ahead of its first utterance. Raises RecognizerError."""
        self._recognizer(self.chosen(name))

    def transcribe(self, name: object, pcm: bytes) -> Transcript:
        """What PCM (16 kHz mono int16) says, heard by the model NAME asks for. Raises
        RecognizerError when that recogniser cannot be loaded."""
        if len(pcm) < 2:
            return Transcript("", ())
        return transcript_of(self._recognizer(self.chosen(name)), pcm)

    def _recognizer(self, name: str) -> Recognizer:
        recognizer = self._loaded.get(name)
        if recognizer is None:
            _LOGGER.info("Loading the %s recogniser", name)
            try:
                recognizer = self.models[name].make()
            except (OSError, RuntimeError, ValueError) as err:
                raise RecognizerError(f"The {name} recogniser could not be loaded ({err}).") from err
            self._loaded[name] = recognizer
        return recognizer

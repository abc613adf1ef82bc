"""Speech recognisers behind one small interface: streaming 16 kHz audio in, transcripts out."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from knowledge.errors import NumbLegsError

_LOGGER = logging.getLogger(__name__)

SAMPLE_RATE = 16000


class RecognizerError(NumbLegsError):
    """A speech engine or its model cannot be used."""


@dataclass(frozen=True)
class Transcript:
    """One utterance as heard: the final transcript, and the n-best ones, most likely first (the
    final one included when it is not empty)."""

    text: str
    alternatives: tuple[str, ...]


class Recognizer(Protocol):
    """Streaming recognition of 16 kHz mono int16 audio, one utterance at a time."""

    name: str
    mode: str  # "domain" or "open"

    def accept(self, chunk: bytes) -> str:
        """Feed audio; return the partial transcript so far (may be empty)."""

    def finish(self) -> Transcript:
        """End the utterance; return what was heard. Ready for the next one."""


@runtime_checkable
class WholeUtterances(Protocol):
    """A recogniser that hears a whole utterance more cheaply than by streaming it."""

    def whole(self, audio: bytes) -> Transcript:
        """The transcript of one whole utterance, the same as streaming it would give."""


def transcript_of(recognizer: Recognizer, audio: bytes, chunk_bytes: int = 3200) -> Transcript:
    """Run a whole utterance through RECOGNIZER (in streaming-sized chunks unless it can take
    the utterance at once)."""
    if isinstance(recognizer, WholeUtterances):
        return recognizer.whole(audio)
    for start in range(0, len(audio), chunk_bytes):
        recognizer.accept(audio[start:start + chunk_bytes])
    return recognizer.finish()


def transcribe_bytes(recognizer: Recognizer, audio: bytes, chunk_bytes: int = 3200) -> str:
    """The final transcript of a whole utterance (``transcript_of`` for the n-best too)."""
    return transcript_of(recognizer, audio, chunk_bytes).text

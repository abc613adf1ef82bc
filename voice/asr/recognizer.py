"""Speech recognisers behind one small interface: streaming 16 kHz audio in, transcripts out."""

from __future__ import annotations

import logging
from typing import Protocol

from knowledge.errors import NumbLegsError

_LOGGER = logging.getLogger(__name__)

SAMPLE_RATE = 16000


class RecognizerError(NumbLegsError):
    """A speech engine or its model cannot be used."""


class Recognizer(Protocol):
    """Streaming recognition of 16 kHz mono int16 audio, one utterance at a time."""

    name: str
    mode: str  # "domain" or "open"

    def accept(self, chunk: bytes) -> str:
        """Feed audio; return the partial transcript so far (may be empty)."""

    def finish(self) -> str:
        """End the utterance; return the final transcript. Ready for the next one."""

    def alternatives(self) -> list[str]:
        """The last utterance's n-best transcripts, most likely first."""


def transcribe_bytes(recognizer: Recognizer, audio: bytes, chunk_bytes: int = 3200) -> str:
    """Run a whole utterance through RECOGNIZER in streaming-sized chunks."""
    for start in range(0, len(audio), chunk_bytes):
        recognizer.accept(audio[start:start + chunk_bytes])
    return recognizer.finish()

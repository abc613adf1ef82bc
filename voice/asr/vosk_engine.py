"""Vosk: the primary engine when a model is installed; optional runtime grammar."""

from __future__ import annotations

import json
import logging
import os
from contextlib import contextmanager
from pathlib import Path

from .recognizer import SAMPLE_RATE, RecognizerError, Transcript

_LOGGER = logging.getLogger(__name__)


@contextmanager
def _native_stderr_silenced(enabled: bool):
    """Kaldi prints ERROR lines straight to fd 2, which no log level hides: park them."""
    if not enabled:
        yield
        return
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class VoskRecognizer:
    """Streaming Vosk recogniser. With PHRASES, recognition is limited to them (plus [unk])."""

    name = "vosk"

    def __init__(self, model_path: Path, phrases: list[str] | None = None,
                 quiet: bool = True) -> None:
        try:
            import vosk
        except ImportError as err:
            raise RecognizerError("Vosk is not installed: pip install vosk") from err
        vosk.SetLogLevel(-2 if quiet else 0)
        self.mode = "domain" if phrases else "open"
        # Vosk's JSON reader does not decode \\u escapes: non-ASCII phrases must be written raw.
        self._grammar = json.dumps(phrases, ensure_ascii=False) if phrases else None
        try:
            with _native_stderr_silenced(quiet):
                self._model = vosk.Model(str(model_path))
                self._recognizer = self._new(vosk)
        except Exception as err:  # vosk raises bare Exception("Failed to create a model")
            raise RecognizerError(
                f"The Vosk model in {model_path} could not be loaded ({err}). The folder may be "
                "incomplete: delete it and run numb-legs download-model again.") from err
        self._vosk = vosk
        self._pending = ""  # text of endpoints Vosk found inside the current utterance

    def _new(self, vosk):
        if self._grammar:
            recognizer = vosk.KaldiRecognizer(self._model, SAMPLE_RATE, self._grammar)
        else:
            recognizer = vosk.KaldiRecognizer(self._model, SAMPLE_RATE)
        recognizer.SetWords(True)
        return recognizer

    def accept(self, chunk: bytes) -> str:
        if self._recognizer.AcceptWaveform(chunk):
            # Vosk found an end of utterance inside the stream: keep its text for finish().
            text = json.loads(self._recognizer.Result()).get("text", "")
            self._pending = (self._pending + " " + text).strip()
            return self._pending
        partial = json.loads(self._recognizer.PartialResult()).get("partial", "")
        return (self._pending + " " + partial).strip()

    def finish(self) -> Transcript:
        text = json.loads(self._recognizer.FinalResult()).get("text", "")
        final = (self._pending + " " + text).strip()
        self._pending = ""
        heard = " ".join(word for word in final.split() if word not in ("[unk]", "<UNK>"))
        return Transcript(heard, (heard,))

"""Speech recognisers behind one small interface, and the pure choice between them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from intents.model import IntentMatcher
    from intents.model import Match
    from intents.safety import SafetyStage

from knowledge.errors import NumbLegsError

_LOGGER = logging.getLogger(__name__)

SAMPLE_RATE = 16000
ENGINES = ("vosk", "sphinx")


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


@dataclass(frozen=True)
class EngineChoice:
    engine: str       # "vosk" or "sphinx"
    note: str         # said once to the user when the choice is a fallback, else ""


def choose_engine(requested: str | None, vosk_model: Path | None) -> EngineChoice:
    """Vosk when a model was found, else PocketSphinx; a forced engine is honoured.

    Pure: the caller looks for the model (so this is tested without disks or devices).
    """
    if requested == "sphinx":
        return EngineChoice("sphinx", "")
    if requested == "vosk":
        if vosk_model is None:
            raise RecognizerError(
                "You asked for the Vosk engine, but no Vosk model was found. Install one with "
                "'numb-legs download-model', or pass --model PATH.")
        return EngineChoice("vosk", "")
    if requested not in (None, ""):
        raise RecognizerError(f"Unknown speech engine {requested!r}: use vosk or sphinx.")
    if vosk_model is not None:
        return EngineChoice("vosk", "")
    return EngineChoice("sphinx", "No Vosk speech model is installed, so I'm using PocketSphinx. "
                                  "For better recognition run: numb-legs download-model.")


def transcribe_bytes(recognizer: Recognizer, audio: bytes, chunk_bytes: int = 3200) -> str:
    """Run a whole utterance through RECOGNIZER in streaming-sized chunks."""
    for start in range(0, len(audio), chunk_bytes):
        recognizer.accept(audio[start:start + chunk_bytes])
    return recognizer.finish()


RANK_PENALTY = 0.02  # confidence a hypothesis loses for each place it stands below the best


def understand_best(matcher: "IntentMatcher", hypotheses: list[str],
                    safety: "SafetyStage | None" = None) -> tuple[str, "Match"]:
    """Pick the transcript the matcher understands best among the recogniser's n-best.

    With SAFETY, a red flag in any of the n-best wins: a recogniser that puts "my face is
    drooping" third must not let the first, "my face is grouping", decide.

    The recogniser knows sounds, the matcher knows meaning: "what is sore circulation" (first)
    loses to "what is poor circulation" (third). A hypothesis the matcher rejects never beats
    one it understands; a lower rank costs a little confidence.
    """
    if safety is not None and hypotheses:
        index, found = safety.assess_many(hypotheses)
        if found.alarm:
            from intents.model import Match

            return hypotheses[index], Match(intent="emergency", confidence=1.0,
                                            slots={"red_flags": [found.flag] if found.flag else []},
                                            text=hypotheses[index], guess="emergency")
    prime = getattr(matcher, "prime", None)
    if prime is not None and len(hypotheses) > 1:
        prime(hypotheses)  # one encoding call for all of them, not one each
    best_text, best_match, best_key = "", matcher.match(""), (False, -1.0)
    for rank, text in enumerate(hypotheses or [""]):
        match = matcher.match(text)
        key = (match.intent != "unknown", match.confidence - RANK_PENALTY * rank)
        if key > best_key:
            best_text, best_match, best_key = text, match, key
    return best_text, best_match

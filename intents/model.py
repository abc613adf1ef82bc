"""Typed intent data and match results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict

from .names import INTENT_NAMES, IntentName

__all__ = ["INTENT_NAMES", "IntentName", "SLOT_NAMES", "Intent", "IntentSet", "Match",
           "IntentMatcher", "Thresholds"]

SLOT_NAMES: frozenset[str] = frozenset({"cause", "symptom"})


@dataclass(frozen=True)
class Intent:
    """One intent and the template lines that say it."""

    name: str
    templates: tuple[str, ...]
    # Each distinct bag of (normalised) words the templates stand for, with its template's index.
    word_sets: tuple[tuple[frozenset[str], int], ...]
    command: bool = False  # said on its own ("louder", "next"): scored with command_recall_weight


@dataclass(frozen=True)
class Thresholds:
    """Scoring settings. Confidence bands: at or above ``accept`` answer; from ``confirm`` ask;
    below, unknown. ``recall_weight`` is the F-beta beta (``command_recall_weight`` for command
    intents); ``unknown_word_weight`` how many times the rarest known word a word the domain never
    uses weighs."""

    accept: float
    confirm: float
    recall_weight: float = 1.0
    unknown_word_weight: float = 1.0
    command_recall_weight: float = 1.0


@dataclass(frozen=True)
class IntentSet:
    intents: tuple[Intent, ...]
    thresholds: Thresholds
    source: str


class Slots(TypedDict, total=False):
    """What an utterance named, by intent: every key is optional."""

    cause: str              # cause_info: the cause asked about (a cause id)
    causes: list[str]       # symptom_check: the three likeliest cause ids, likeliest first
    features: list[str]     # symptom_check: the symptoms heard (feature ids)
    mentioned: list[str]    # causes named in passing, counted as likelier
    evidence: list[str]     # the words that said each symptom
    red_flags: list[str]    # emergency: the red flags heard (red-flag ids)
    layer: str              # emergency: which layer of the safety stage heard it


@dataclass(frozen=True)
class Match:
    """What an utterance means. ``intent`` is ``unknown`` below the confirm band."""

    intent: str
    confidence: float
    slots: Slots = field(default_factory=lambda: Slots(), hash=False)
    matched: str = ""   # the template sentence (or red-flag phrase) that matched best
    text: str = ""      # the utterance as normalised
    needs_confirmation: bool = False
    guess: str = ""     # best intent even when rejected, for debugging and benchmarks

    def names(self, slot: str) -> list[str]:
        """The list slot SLOT (features, mentioned causes, red flags...) as names; [] if absent."""
        value = self.slots.get(slot)
        return [str(item) for item in value] if isinstance(value, (list, tuple)) else []

    def to_json(self) -> dict[str, Any]:
        """The match as `numb-legs understand --json` prints it."""
        return {"intent": self.intent, "slots": self.slots, "confidence": round(self.confidence, 3),
                "confirm": self.needs_confirmation}


class IntentMatcher(Protocol):
    """What the skill and the recognisers need of a matcher: the meaning of one utterance."""

    def match(self, text: str) -> Match: ...

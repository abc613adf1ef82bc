"""Frozen dataclasses for the knowledge base (schema: knowledge/data/SCHEMA.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CAUSE_IDS: tuple[str, ...] = (
    "osteochondrosis",
    "disc_herniation",
    "rheumatoid_arthritis",
    "neuropathy",
    "raynaud",
    "atherosclerosis",
    "multiple_sclerosis",
    "microstroke",
    "vitamin_deficiency",
    "poor_circulation",
)
RED_FLAG_IDS: tuple[str, ...] = ("stroke", "cauda_equina", "guillain_barre", "injury", "limb_ischaemia",
                                 "cord_compression", "diabetic_foot", "clot")
CONCEPT_KINDS: tuple[str, ...] = ("sign", "body", "context", "harmless", "explanation")
SAFETY_WORD_LISTS: tuple[str, ...] = ("negation", "uncertain", "scope_end", "remote_past", "treated",
                                      "fear", "generic_start", "personal", "hypothetical",
                                      "present")
# An answer is heard, not read: its first part says the one thing that matters in at most two
# sentences and 40 words (about 12 seconds at espeak-ng's default 175 words a minute); every
# further part, said on "more", is as short.
FIRST_MAX_SENTENCES = 2
PART_MAX_WORDS = 40
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


def sentence_count(text: str) -> int:
    """How many sentences TEXT has (a sentence ends with . ! or ? and a space)."""
    return len(_SENTENCE_END.split(text.strip())) if text.strip() else 0


def word_count(text: str) -> int:
    return len(text.split())


@dataclass(frozen=True)
class Answer:
    """An answer for the ear: the one thing that matters first, then the rest in short parts,
    each said when the person asks for more.

    ``action`` is the part "what should I do?" goes straight to; in order it is said last.
    ``offer`` asks whether to go on after the first part (empty: the dialogue's own offer).
    Texts may hold ``{number}``, the emergency number, filled in by the dialogue."""

    first: str
    more: tuple[str, ...] = ()
    action: str = ""
    offer: str = ""

    @property
    def parts(self) -> tuple[str, ...]:
        return (self.first, *self.more, *((self.action,) if self.action else ()))

    @property
    def action_index(self) -> int | None:
        """The index of ``action`` in ``parts``; None when there is none."""
        return len(self.more) + 1 if self.action else None


@dataclass(frozen=True)
class Feature:
    """A symptom feature the symptom check can ask about or hear."""

    id: str
    label: str
    question: str
    phrases: tuple[str, ...]


@dataclass(frozen=True)
class Cause:
    """One possible cause of numb legs."""

    id: str
    name: str
    aliases: tuple[str, ...]
    summary: str      # the first part of its answer
    explanation: str
    signs: str
    affects: str
    action: str
    prior: int
    indicators: dict[str, int] = field(hash=False)

    @property
    def names(self) -> tuple[str, ...]:
        """Every name people use for it: the aliases, then the name."""
        return (*self.aliases, self.name)

    @property
    def answer(self) -> Answer:
        """Summary first; then how it causes numbness, its signs and whom it affects; the action
        ("what should I do?") last."""
        return Answer(first=self.summary, more=(self.explanation, self.signs, self.affects),
                      action=self.action)


@dataclass(frozen=True)
class Step:
    id: str
    say: str
    seconds: int


@dataclass(frozen=True)
class Relief:
    intro: str
    steps: tuple[Step, ...]
    check: str
    better: str
    not_enough: str


@dataclass(frozen=True)
class Source:
    name: str
    title: str
    url: str


@dataclass(frozen=True)
class Rule:
    """Fires when every concept is present (not negated, not long past, not a general question).

    ``weak`` rules stay quiet when the utterance explains the numbness as harmless; ``ask`` rules
    ask the flag's question instead of raising the alarm; ``near`` rules need their concepts
    within a few words of each other; ``unless`` names explanations that quiet this rule only
    (lifting explains a strained back, never numbness between the legs)."""

    concepts: tuple[str, ...]
    weak: bool = False
    ask: bool = False
    near: bool = False  # the concepts must stand close together ("my FACE is DROOPING")
    unless: tuple[str, ...] = ()


@dataclass(frozen=True)
class Concept:
    """One idea (sudden, face, drooping, saddle area...) and the lay words that say it."""

    name: str
    kind: str  # sign, body, context, harmless or explanation (CONCEPT_KINDS)
    words: tuple[str, ...]


@dataclass(frozen=True)
class SafetyLexicon:
    """The safety stage's concepts and its word lists (negation, time, general questions...)."""

    concepts: tuple[Concept, ...]
    words: dict[str, tuple[str, ...]] = field(hash=False)
    # Regional, informal and typed word forms -> standard words ("cannae" -> "cannot").
    forms: dict[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class RedFlag:
    """An emergency sign: it wins over every other intent."""

    id: str
    condition: str
    patterns: tuple[str, ...]
    question: str
    advice: str
    source: Source
    rules: tuple[Rule, ...] = ()
    features: tuple[str, ...] = ()
    routine: bool = False  # asked, in file order, when the relief routine did not help

    def advice_for(self, number: str) -> str:
        return self.advice.replace("{number}", number)


@dataclass(frozen=True)
class SoonSign:
    """A sign that calls for a neurologist soon; its patterns weigh in the recogniser's model."""

    id: str
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class SeeDoctorSoon:
    answer: Answer
    signs: tuple[SoonSign, ...]


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything the assistant knows, validated at load time."""

    disclaimer: str
    overview: Answer
    features: tuple[Feature, ...]
    causes: tuple[Cause, ...]
    relief: Relief
    diagnosis: Answer
    prevention: Answer
    red_flags: tuple[RedFlag, ...]
    see_doctor_soon: SeeDoctorSoon
    safety: SafetyLexicon

    def answers(self) -> dict[str, Answer]:
        """Every answer in the data, by where it is written ("overview", "causes.raynaud")."""
        return {"overview": self.overview,
                **{f"causes.{cause.id}": cause.answer for cause in self.causes},
                "diagnosis": self.diagnosis, "prevention": self.prevention,
                "see_doctor_soon": self.see_doctor_soon.answer}

    def cause(self, cause_id: str) -> Cause:
        for cause in self.causes:
            if cause.id == cause_id:
                return cause
        raise KeyError(cause_id)

    def red_flag(self, flag_id: str) -> RedFlag:
        for flag in self.red_flags:
            if flag.id == flag_id:
                return flag
        raise KeyError(flag_id)

    def feature(self, feature_id: str) -> Feature:
        for feature in self.features:
            if feature.id == feature_id:
                return feature
        raise KeyError(feature_id)

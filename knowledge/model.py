"""Frozen dataclasses for the knowledge base (schema: knowledge/data/SCHEMA.md)."""

from __future__ import annotations

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
CONCEPT_KINDS: tuple[str, ...] = ("sign", "body", "context", "harmless")
SAFETY_WORD_LISTS: tuple[str, ...] = ("negation", "uncertain", "scope_end", "remote_past", "treated",
                                      "generic_start", "personal", "hypothetical", "present")


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
    explanation: str
    signs: str
    affects: str
    action: str
    prior: int
    indicators: dict[str, int] = field(hash=False)


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
class Examination:
    id: str
    name: str
    why: str


@dataclass(frozen=True)
class Diagnosis:
    first: str
    tests: tuple[Examination, ...]
    others: str


@dataclass(frozen=True)
class Tip:
    id: str
    say: str


@dataclass(frozen=True)
class Prevention:
    intro: str
    exercises: tuple[Tip, ...]
    vessels: tuple[Tip, ...]


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
    within a few words of each other."""

    concepts: tuple[str, ...]
    weak: bool = False
    ask: bool = False
    near: bool = False  # the concepts must stand close together ("my FACE is DROOPING")


@dataclass(frozen=True)
class Concept:
    """One idea (sudden, face, drooping, saddle area...) and the lay words that say it."""

    name: str
    kind: str  # sign, body, context or harmless (CONCEPT_KINDS)
    words: tuple[str, ...]


@dataclass(frozen=True)
class SafetyLexicon:
    """The safety stage's concepts and its word lists (negation, time, general questions...)."""

    concepts: tuple[Concept, ...]
    words: dict[str, tuple[str, ...]] = field(hash=False)


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
    id: str
    say: str
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class SeeDoctorSoon:
    advice: str
    signs: tuple[SoonSign, ...]


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything the assistant knows, validated at load time."""

    disclaimer: str
    overview: str
    features: tuple[Feature, ...]
    causes: tuple[Cause, ...]
    relief: Relief
    diagnosis: Diagnosis
    prevention: Prevention
    red_flags: tuple[RedFlag, ...]
    see_doctor_soon: SeeDoctorSoon
    safety: SafetyLexicon

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

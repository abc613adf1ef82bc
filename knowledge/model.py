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
RED_FLAG_IDS: tuple[str, ...] = ("stroke", "cauda_equina", "guillain_barre", "injury", "limb_ischaemia")


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
class Cue:
    """A word rule: fires when each group has a word present and no ``unless`` word is."""

    all: tuple[tuple[str, ...], ...]
    unless: tuple[str, ...] = ()


@dataclass(frozen=True)
class RedFlag:
    """An emergency sign: it wins over every other intent."""

    id: str
    condition: str
    patterns: tuple[str, ...]
    question: str
    advice: str
    source: Source
    cues: tuple[Cue, ...] = ()
    features: tuple[str, ...] = ()

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

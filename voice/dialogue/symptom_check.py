"""The symptom check: a few yes/no questions chosen to tell causes apart, then possible causes.

Never a diagnosis: it names the two or three most likely causes from the knowledge base, with
the reason for each, and whom to see. The ranking and the choice of questions come from the
causes' indicator weights in the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.model import Answer, Feature, KnowledgeBase, RedFlag
from knowledge.queries import RankedCause, rank_causes

MIN_QUESTIONS = 2
MAX_QUESTIONS = 3
CLEAR_LEAD = 3      # a top cause this many points ahead needs no more questions
CONTENDERS = 4      # questions are chosen to separate this many leading causes


@dataclass
class SymptomCheck:
    kb: KnowledgeBase
    present: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    mentioned: list[str] = field(default_factory=list)
    asked: int = 0
    current: Feature | None = None

    def ranking(self) -> list[RankedCause]:
        return rank_causes(self.kb, self.present, self.absent, boost=self.mentioned)

    def red_flag(self) -> RedFlag | None:
        """A red flag the answers add up to (sudden and one leg: a possible stroke)."""
        for flag in self.kb.red_flags:
            if flag.features and all(f in self.present for f in flag.features):
                return flag
        return None

    def next_question(self) -> Feature | None:
        """The most telling question still to ask, or None when it is time to answer."""
        ranked = self.ranking()
        enough = self.asked >= MAX_QUESTIONS or (
            self.asked >= MIN_QUESTIONS and ranked[0].score - ranked[1].score >= CLEAR_LEAD)
        if enough:
            self.current = None
            return None
        known = set(self.present) | set(self.absent)
        leaders = [item.cause for item in ranked[:CONTENDERS]]
        best: tuple[int, Feature] | None = None
        for feature in self.kb.features:
            if feature.id in known:
                continue
            weights = [cause.indicators.get(feature.id, 0) for cause in leaders]
            spread = max(weights) - min(weights)
            if spread > 0 and (best is None or spread > best[0]):
                best = (spread, feature)
        self.current = best[1] if best else None
        if self.current is not None:
            self.asked += 1
        return self.current

    def answer(self, yes: bool) -> None:
        if self.current is None:
            return
        (self.present if yes else self.absent).append(self.current.id)
        self.current = None

    def result(self, intro: str, because: str) -> tuple[Answer, list[str]]:
        """(what to say, ranked cause ids)."""
        ranked = self.ranking()[:3]
        return result_answer(self.kb, ranked, intro, because), [item.cause.id for item in ranked]


def result_answer(kb: KnowledgeBase, ranked: list[RankedCause], intro: str, because: str) -> Answer:
    """The possible causes first; then why the two likeliest fit, one part each; what to do about
    the likeliest is the answer's action."""
    names = [item.cause.name for item in ranked]
    listing = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
    reasons = []
    for item in ranked[:2]:
        labels = [kb.feature(fid).label for fid in item.reasons]
        if labels:
            reasons.append(f"{item.cause.name[0].upper()}{item.cause.name[1:]}, {because} "
                           + " and ".join(labels[:2]) + ".")
    return Answer(first=f"{intro} {listing}.", more=tuple(reasons), action=ranked[0].cause.action)

"""Questions asked of the knowledge base: ranking causes from heard symptom features."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .model import Cause, KnowledgeBase


@dataclass(frozen=True)
class RankedCause:
    cause: Cause
    score: int
    reasons: tuple[str, ...]  # feature ids that pointed towards this cause


MENTION_WEIGHT = 3  # a cause the person names counts as much as its strongest sign


def rank_causes(kb: KnowledgeBase, present: Iterable[str], absent: Iterable[str] = (),
                boost: Iterable[str] = ()) -> list[RankedCause]:
    """Rank causes by the weights of the features present (and, negated, those absent).

    BOOST names causes the person mentioned ("I've had sciatica for years"). The prior (how
    common a cause is) only breaks ties and orders causes when nothing is known, so a described
    symptom always outweighs mere frequency.
    """
    present_set = set(present)
    absent_set = set(absent)
    boosted = set(boost)
    ranked = []
    for cause in kb.causes:
        score = MENTION_WEIGHT if cause.id in boosted else 0
        reasons = []
        for feature_id, weight in cause.indicators.items():
            if feature_id in present_set:
                score += weight
                if weight > 0:
                    reasons.append(feature_id)
            elif feature_id in absent_set and weight > 0:
                score -= weight // 2 or 1
        ranked.append(RankedCause(cause=cause, score=score, reasons=tuple(reasons)))
    ranked.sort(key=lambda item: (-item.score, -item.cause.prior))
    return ranked

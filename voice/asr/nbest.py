"""Of the recogniser's n-best transcripts, the one the matcher understands best (a red flag in
any of them wins)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from intents.names import IntentName

if TYPE_CHECKING:
    from intents.model import IntentMatcher, Match
    from intents.safety import SafetyStage

RANK_PENALTY = 0.02  # confidence a hypothesis loses for each place it stands below the best


def understand_best(matcher: IntentMatcher, hypotheses: list[str],
                    safety: SafetyStage | None = None) -> tuple[str, Match]:
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

            return hypotheses[index], Match(intent=IntentName.EMERGENCY, confidence=1.0,
                                            slots={"red_flags": [found.flag] if found.flag else []},
                                            text=hypotheses[index], guess=IntentName.EMERGENCY)
    prime = getattr(matcher, "prime", None)
    if prime is not None and len(hypotheses) > 1:
        prime(hypotheses)  # one encoding call for all of them, not one each
    best_text, best_match, best_key = "", matcher.match(""), (False, -1.0)
    for rank, text in enumerate(hypotheses or [""]):
        match = matcher.match(text)
        key = (match.intent != IntentName.UNKNOWN, match.confidence - RANK_PENALTY * rank)
        if key > best_key:
            best_text, best_match, best_key = text, match, key
    return best_text, best_match

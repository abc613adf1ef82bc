"""What one utterance means as the skill first sees it: the safety stage, then the matcher."""

from __future__ import annotations

from .meaning import default_matcher
from .model import IntentMatcher, Match
from .names import IntentName
from .safety import SafetyStage, default_safety


class Understanding:
    """A matcher behind the safety stage: the one entry point for tests, benchmarks and `understand`."""

    def __init__(self, matcher: IntentMatcher | None = None, safety: SafetyStage | None = None) -> None:
        self.matcher = matcher if matcher is not None else default_matcher()
        self.safety = safety if safety is not None else default_safety()

    def match(self, text: str) -> Match:
        """An emergency Match when the safety stage raises the alarm, else the matcher's."""
        found = self.safety.assess(text)
        if found.alarm:
            return Match(intent=IntentName.EMERGENCY, confidence=1.0,
                         slots={"red_flags": [found.flag] if found.flag else []},
                         matched=" + ".join(found.evidence), text=text, guess=IntentName.EMERGENCY)
        return self.matcher.match(text)

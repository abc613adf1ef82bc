"""Two recognisers, one hearing: the domain recogniser (PocketSphinx or Vosk: fast, knows
numb-legs' words, and hears every sound as one of them) and Whisper (slower, hears everyday words
and says so when a sentence is not about numb legs). Pure decisions over what each heard; the
listener and `understand --wav` run the recognisers.

The rules, and the figures behind them (bench/spoken_dev.py on the spoken development set):
* Red flags: Whisper's hearing decides. The domain recogniser turns ordinary sentences into
  domain words, red-flag words among them, so its alarms on harmless lines are many; Whisper's are
  few, and it catches far more of the real ones.
* Meaning: what Whisper heard, when the matcher understands it. When Whisper's words mean nothing
  to the matcher, the sentence is out of scope, unless the matcher understands the domain
  recogniser's hearing beyond doubt (DOMAIN_STANDS).
* The fast path: a short command heard with high confidence by the domain recogniser is acted
  on at once; Whisper still listens to it, and a red flag it finds cuts the answer short.
* Heard again: anything else that raised no alarm is heard by Whisper once more at two other
  speeds (second_opinion.AGAIN_SPEEDS) while the answer is given; a red flag heard there cuts
  the answer short (recheck). Only red flags count from those hearings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from intents.names import IntentName

from .nbest import understand_best
from .second_opinion import SecondHearing

if TYPE_CHECKING:
    from intents.model import IntentMatcher
    from intents.safety import SafetyStage

_LOGGER = logging.getLogger(__name__)

# Commands the fast path may act on without the second recogniser: short, frequent, harmless to
# get wrong once ("repeat" instead of "next" costs one more sentence). Commands that end or undo
# something (goodbye, stop, no) are not among them: a mishearing there loses the conversation.
# Help is not among them either: the domain recogniser hears "tell me a joke" as "what are you".
FAST_COMMANDS = frozenset({IntentName.NEXT, IntentName.PREVIOUS, IntentName.REPEAT,
                           IntentName.YES, IntentName.SLOWER, IntentName.FASTER,
                           IntentName.LOUDER, IntentName.QUIETER})
FAST_MAX_WORDS = 3
# Matcher confidence the domain hearing needs to be acted on without Whisper.
SURE = 0.9
# Matcher confidence with which the domain hearing stands when the matcher rejects Whisper's.
# Chosen on the spoken development set (bench/spoken_dev.py, every second line, 395 lines):
# Whisper's hearing alone gave questions 60.8% / out-of-domain rejected 91.4% / red flags 77.4% /
# false alarms 6.1%; with the domain hearing standing at 0.95, 70.8 / 82.9 / 78.3 / 7.0; at 0.9,
# 71.5 / 68.6 / 80.0 / 7.0 (too many out-of-domain lines answered); at 0.78, 73.1 / 57.1.
DOMAIN_STANDS = 0.95
# Whisper's mean token log-probability below which its hearing is a guess (see DOMAIN_STANDS).
# Set from a handful of hearings ("Tell me a joke." -0.28, a garbled question -0.75), then
# checked on the development set: from -0.25 to -0.6 the figures move by a line or two.
WHISPER_UNSURE = -0.45

MODES = ("fused", "domain", "whisper")


@dataclass(frozen=True)
class Hearing:
    """What the skill is given for one utterance: the transcripts, most likely first, and which
    recogniser they came from ("domain", "whisper"; "again": Whisper, at another speed)."""

    hypotheses: tuple[str, ...]
    source: str
    # Both recognisers heard a goodbye: the conversation may end without asking first.
    agreed: bool = False


def fast_path(domain: tuple[str, ...], matcher: IntentMatcher, safety: SafetyStage) -> bool:
    """True when the domain hearing alone may be acted on at once: a short command, heard with
    high confidence, with no red flag in any of its transcripts."""
    if not _sure_command(domain, matcher):
        return False
    # ...and the most likely transcript is also the one understood best of the n-best.
    if understand_best(matcher, list(domain))[0] != domain[0]:
        return False
    return not safety.assess_many(list(domain))[1].alarm


def fuse(domain: tuple[str, ...], second: SecondHearing | None, matcher: IntentMatcher,
         safety: SafetyStage) -> Hearing:
    """Combine the domain recogniser's n-best (DOMAIN) and Whisper's hearing (SECOND; None:
    Whisper is not available, or not ready) into what the skill is given."""
    if second is None:
        return Hearing(domain, "domain")
    whisper = second.text
    if not whisper.strip():
        # Whisper heard no words: a cough, a breath, a door. The domain recogniser makes words
        # of any sound, so only a sure command of its own stands.
        return Hearing(domain, "domain") if _sure_command(domain, matcher) else Hearing((), "whisper")
    if safety.assess(whisper).alarm:
        return Hearing((whisper,), "whisper")
    meant = matcher.match(whisper)
    clear = meant.intent != IntentName.UNKNOWN and not meant.needs_confirmation
    if not clear and second.logprob < WHISPER_UNSURE and domain:
        # Whisper was guessing and its words mean little here (nothing, or only "did you
        # mean...?"), while the domain recogniser's hearing is understood beyond doubt: in
        # noise, tiny.en makes nonsense of domain words ("numb" as "home"). A sentence Whisper
        # was sure of keeps its meaning, out of scope included ("tell me a joke").
        sure = understand_best(matcher, list(domain))[1]
        if sure.confidence >= DOMAIN_STANDS and not sure.needs_confirmation:
            return Hearing(domain, "domain")
    if meant.intent != IntentName.UNKNOWN:
        agreed = meant.intent == IntentName.GOODBYE and bool(domain) and \
            understand_best(matcher, list(domain))[1].intent == meant.intent
        return Hearing((whisper,), "whisper", agreed)
    return Hearing((whisper,), "whisper")


def _sure_command(domain: tuple[str, ...], matcher: IntentMatcher) -> bool:
    """The most likely transcript is a short fast-path command, understood with confidence."""
    if not domain or not domain[0] or len(domain[0].split()) > FAST_MAX_WORDS:
        return False
    match = matcher.match(domain[0])
    return match.intent in FAST_COMMANDS and match.confidence >= SURE


def settle(domain: tuple[str, ...], second: SecondHearing | None, matcher: IntentMatcher,
           safety: SafetyStage, again: Callable[[], Iterable[SecondHearing]] | None = None
           ) -> tuple[Hearing, bool]:
    """What is finally acted on for one utterance, and whether the fast path took it: the
    listener's whole decision once both recognisers have spoken, for `understand --wav` and the
    benchmark. On the fast path the domain hearing stands unless Whisper heard a red flag.
    AGAIN: the utterance heard again at other speeds (recheck), asked for only off the fast
    path and when the hearing raises no alarm."""
    if fast_path(domain, matcher, safety):
        if second is not None and second.text.strip() and safety.assess(second.text).alarm:
            return Hearing((second.text,), "whisper"), True
        return Hearing(domain, "domain"), True
    hearing = fuse(domain, second, matcher, safety)
    if again is not None and not raises_alarm(hearing, safety):
        hearing = recheck(hearing, again(), safety)
    return hearing, False


def raises_alarm(hearing: Hearing, safety: SafetyStage) -> bool:
    """HEARING's transcripts raise the safety alarm (the safety stage's n-best verdict)."""
    return bool(hearing.hypotheses) and safety.assess_many(list(hearing.hypotheses))[1].alarm


def recheck(hearing: Hearing, again: Iterable[SecondHearing], safety: SafetyStage) -> Hearing:
    """HEARING, unless it raises no alarm and the same utterance heard again (AGAIN, at other
    speeds) holds a red flag: then that hearing. Nothing else is taken from those hearings:
    their words are no better than the first's, and a question is answered as first heard.
    AGAIN is read only as far as needed (a generator is not run when HEARING is an alarm)."""
    if raises_alarm(hearing, safety):
        return hearing
    for heard in again:
        if heard.text.strip() and safety.assess(heard.text).alarm:
            _LOGGER.debug("Red flag heard again: %r", heard.text)
            return Hearing((heard.text,), "again")
    return hearing

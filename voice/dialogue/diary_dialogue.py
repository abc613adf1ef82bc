"""The diary dialogue: log an episode from one sentence, ask only for what is missing, read it
back, save on "yes"; and speak a short summary of a period.

Like the relief routine, it keeps its own state and returns what to say; the skill decides when
it gets a turn (red flags always come first). Time comes from an injected clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from intents.names import IntentName
from knowledge.diary.store import DiaryError, DiaryStore, Episode
from knowledge.diary.summary import Summary, period_from_text, summarise
from knowledge.diary.timeparse import (
    SPELLED_BELOW,
    Heard,
    When,
    parse,
    parse_legs,
    spoken_when,
    start_time,
)
from knowledge.diary.words import DiaryWords, load_words
from knowledge.model import Answer
from knowledge.numbers import number_words, spoken_duration

from .responses import Responses

_LOGGER = logging.getLogger(__name__)

LEGS, DURATION, ACTIVITY, CONFIRM = "legs", "duration", "activity", "confirm"
ASK_ORDER = (LEGS, DURATION, ACTIVITY)
_THIRTY_DAYS = timedelta(days=30)
_CANCEL = frozenset({IntentName.STOP, IntentName.GOODBYE})
# Intents an answer to a diary question is often mistaken for; anything else, said clearly, is
# the person moving on, unless it also answers the question asked.
_ABOUT_DIARY = frozenset({IntentName.JOURNAL_LOG, IntentName.UNKNOWN, IntentName.SYMPTOM_CHECK,
                          IntentName.YES, IntentName.NO, IntentName.RELIEF_NOW})
_CANCEL_WORDS = frozenset({"cancel", "cancel it", "forget it", "never mind", "don't save it",
                           "do not save it", "delete it"})


@dataclass
class Draft:
    """The episode being written; None where nothing was said yet."""

    when: When | None = None
    duration_s: int | None = None
    legs: str | None = None
    activity: str | None = None
    signs: list[str] = field(default_factory=list)
    note: str = ""
    red_flags: bool = False
    skipped: set[str] = field(default_factory=set)

    def take(self, heard: Heard) -> None:
        """Add what HEARD says; a later statement replaces an earlier one (a correction)."""
        for name in ("when", "duration_s", "legs", "activity"):
            value = getattr(heard, name)
            if value is not None:
                setattr(self, name, value)
        self.signs.extend(sign for sign in heard.signs if sign not in self.signs)

    def missing(self) -> str | None:
        for name in ASK_ORDER:
            value = self.duration_s if name == DURATION else getattr(self, name)
            if value is None and name not in self.skipped:
                return name
        return None

    def episode(self, now: datetime) -> Episode:
        return Episode(started_at=start_time(self.when, self.duration_s, now),
                       duration_s=self.duration_s, legs=self.legs, activity=self.activity,
                       other_signs=tuple(self.signs), note=self.note, red_flags=self.red_flags)


def _plural(count: int) -> str:
    return "one episode" if count == 1 else \
        f"{number_words(count, spell_below=SPELLED_BELOW)} episodes"


class Journal:
    """One diary conversation: every method returns what to say."""

    def __init__(self, store: DiaryStore, r: Responses,
                 now: Callable[[], datetime] = datetime.now,
                 lexicon: DiaryWords | None = None) -> None:
        self.store = store
        self.t = r.journal
        self.w = r.journal_words
        self.now = now
        self.lexicon = lexicon or load_words()
        self.draft: Draft | None = None
        self.asking: str | None = None
        self.failed = False
        self.said = ""

    @property
    def active(self) -> bool:
        return self.draft is not None and self.asking is not None

    def hear(self, text: str, answering: str | None = None) -> Heard:
        return parse(text, self.now(), self.lexicon, answering=answering)

    # -- logging --------------------------------------------------------------------------------

    def start(self, text: str, *, red_flags: bool = False) -> str:
        """A new entry from TEXT; asks for what is missing, else reads it back."""
        self.draft = Draft(note=" ".join(text.split())[:500], red_flags=red_flags)
        self.draft.take(self.hear(text))
        self.failed = False
        return self._next()

    def after_emergency(self, text: str, *, add_words: bool = False) -> str:
        """Keep (or start, from TEXT) the entry marked with warning signs, ready to save on
        "yes"; no more questions now: the emergency advice matters more than a complete diary.
        ADD_WORDS: TEXT came during an entry already begun, and joins its note as said."""
        words = " ".join(text.split())
        if self.draft is None or self.asking is None:
            self.draft = Draft(note=words[:500])
            self.draft.take(self.hear(text))
        elif add_words and words:
            self.draft.note = f"{self.draft.note} … {words}".strip(" …")[:500]
        self.draft.red_flags = True
        self.asking = CONFIRM
        return self.t.after_emergency

    def turn(self, text: str, intent: str) -> str | None:
        """The dialogue's answer to TEXT (INTENT from the matcher), or None when the person has
        moved on to something else (the caller answers that; the entry is dropped, and the
        caller says so, unless its saving failed: then it waits, see ``waiting``)."""
        if self.draft is None or self.asking is None:
            return None
        norm = " ".join(text.lower().replace("\u2019", "'").split()).strip(" .!?")
        if norm in _CANCEL_WORDS or intent in _CANCEL:
            return self._cancel()
        if intent == IntentName.HELP:
            return self.t.help
        heard = self.hear(text, answering=self.asking)
        if intent not in _ABOUT_DIARY and not self._answers(heard, text):
            return None  # a clear question about something else ("why are my legs numb?")
        if self.asking == CONFIRM:
            if heard.anything:  # "no, it was the right leg": a correction, read back again
                self.draft.take(heard)
                return self._next()
            if intent == IntentName.YES or heard.retry or intent == IntentName.JOURNAL_LOG:
                return self._save()
            if intent == IntentName.NO:
                if self.said == self.t.change:  # a second "no": they don't want it saved
                    return self._cancel()
                return self._say(self.t.change)
            return self._unclear(intent)
        asked = self.asking
        if heard.anything:
            self.draft.take(heard)
            if asked == ACTIVITY and heard.activity is None and not heard.skip:
                if heard.legs is None and heard.duration_s is None:
                    self.draft.activity = "other"  # an answer we have no word for: "something else"
            return self._next()
        if heard.skip:
            self.draft.skipped.add(asked)
            return self._next()
        if (asked == ACTIVITY and intent in (IntentName.UNKNOWN, IntentName.NO)
                and len(norm.split()) <= 6 and norm):
            # "gardening", "nothing much": an answer, just not one of ours.
            self.draft.activity = "other"
            return self._next()
        if intent in (IntentName.YES, IntentName.NO):
            return self._say(f"{self.t.not_understood} {self._question(asked)}")
        return self._unclear(intent)

    def _answers(self, heard: Heard, text: str) -> bool:
        """True when HEARD clearly gives the field being asked for ("why are my legs numb" does
        not say which leg, though "my legs" alone would mean both)."""
        if heard.skip or heard.retry:
            return True
        if self.asking == DURATION:
            return heard.duration_s is not None
        if self.asking == LEGS:
            return parse_legs(text, self.lexicon, bare=True, plural=False) is not None
        if self.asking == ACTIVITY:
            return heard.activity is not None
        return False

    def waiting(self) -> str:
        """The reminder said after an answer to something else, while the entry whose saving
        failed waits for "try again"."""
        return self._say(self.t.waiting)

    def _unclear(self, intent: str) -> str | None:
        # After a failed save the person may well ask about their legs meanwhile: a symptom
        # question is answered (the entry waits), not taken for a garbled diary answer.
        muddled = (IntentName.UNKNOWN, IntentName.JOURNAL_LOG) if self.failed else \
            (IntentName.UNKNOWN, IntentName.JOURNAL_LOG, IntentName.SYMPTOM_CHECK)
        if intent in muddled:
            question = self._question(self.asking) if self.asking != CONFIRM else \
                self._read_back()
            return self._say(f"{self.t.not_understood} {question}")
        return None  # a real question about something else: let the skill answer it

    def _next(self) -> str:
        assert self.draft is not None
        missing = self.draft.missing()
        if missing is not None:
            self.asking = missing
            return self._say(self._question(missing))
        self.asking = CONFIRM
        return self._say(self._read_back())

    def _question(self, name: str | None) -> str:
        return self.t.ask(name)

    def describe(self, draft: Draft) -> str:
        """'your left leg, numb for ten minutes, just now, while sitting'."""
        now = self.now()
        parts = [self.w[draft.legs] if draft.legs else "your legs", self.t.numb]
        if draft.duration_s is not None:
            parts[-1] += " " + self.t.for_duration.fill(
                duration=spoken_duration(draft.duration_s, spell_below=SPELLED_BELOW))
        parts.append(spoken_when(start_time(draft.when, draft.duration_s, now), now))
        if draft.activity:
            parts.append(self.t.while_activity.fill(activity=self.w[draft.activity]))
        if draft.signs:
            parts.append(self.t.with_signs.fill(signs=" and ".join(draft.signs)))
        if draft.red_flags:
            parts.append(self.t.warning_signs)
        return ", ".join(parts)

    def _read_back(self) -> str:
        assert self.draft is not None
        return self.t.read_back.fill(episode=self.describe(self.draft))

    def _save(self) -> str:
        assert self.draft is not None
        now = self.now()
        try:
            self.store.add(self.draft.episode(now))
            count = self.store.count(now.replace(microsecond=0) - _THIRTY_DAYS)
        except DiaryError as err:
            # Kept, not dropped: the person hears why and can try again.
            _LOGGER.warning("Could not save a diary entry: %s", err)
            self.failed = True
            return self._say(self.t.save_failed.fill(reason=err.reason))
        self.draft = None
        self.asking = None
        self.failed = False
        text = self.t.saved.fill(count=_plural(count))
        return self._say(self._with_notices(text))

    def _cancel(self) -> str:
        self.draft = None
        self.asking = None
        return self._say(self.t.cancelled)

    def _with_notices(self, text: str) -> str:
        notices = self.store.pop_notices()
        return " ".join([*notices, text])

    def _say(self, text: str) -> str:
        self.said = text
        return text

    # -- summaries ------------------------------------------------------------------------------

    def summary(self, text: str) -> str:
        """A spoken summary of the period TEXT asks about (the last 30 days by default), whole."""
        return " ".join(self.summary_answer(text).parts)

    def summary_answer(self, text: str) -> Answer:
        """The summary as an answer for the ear: the count and whether to see a neurologist
        first, then the details, then what helps."""
        now = self.now()
        try:
            found = summarise(self.store, period_from_text(text, now, self.lexicon), self.lexicon)
        except DiaryError as err:
            return Answer(first=self.t.read_failed.fill(reason=err.reason))
        answer = self.speak(found, now)
        return replace(answer, first=self._with_notices(answer.first))

    def speak(self, found: Summary, now: datetime) -> Answer:
        """FOUND as an answer: how many, and whether to see a neurologist (or the trend), first."""
        t, w = self.t, self.w
        period = found.period
        if found.count == 0:
            parts = [t.summary_none.fill(period=period.name)]
            if found.last_started is not None:
                parts.append(t.summary_last.fill(when=spoken_when(found.last_started, now)))
            return Answer(first=" ".join(parts))
        name = period.name[0].upper() + period.name[1:]
        headline = [t.summary_count.fill(Period=name, count=_plural(found.count))]
        details = []
        one = found.count == 1
        if found.median_duration_s is not None:
            lasted = t.summary_one_duration if one else t.summary_duration
            details.append(lasted.fill(duration=spoken_duration(found.median_duration_s,
                                                                spell_below=SPELLED_BELOW)))
        leg = found.main_leg
        if leg is not None:
            which = t.summary_one_leg if one else t.summary_leg
            details.append(which.fill(leg=w[leg]))
        compare = self._compared(found) if found.previous_count is not None else ""
        if found.reasons:
            reasons = [w[reason] for reason in found.reasons]
            joined = reasons[0] if len(reasons) == 1 else \
                f"{', '.join(reasons[:-1])} and {reasons[-1]}"
            headline.append(t.summary_advice.fill(reasons=joined))
            closing = t.summary_report
        else:
            if compare:  # with no advice to give, the trend is what matters most
                headline.append(compare)
                compare = ""
            closing = t.summary_keep_going
        if compare:
            details.append(compare)
        if found.last_started is not None and not one:
            details.append(t.summary_last.fill(when=spoken_when(found.last_started, now)))
        more = tuple(" ".join(part) for part in (details, [closing]) if part)
        return Answer(first=" ".join(headline), more=more)

    def _compared(self, found: Summary) -> str:
        """'That's more than the one in the 30 days before.' ('the day before' for one day)."""
        t = self.t
        period = found.period
        days = max(1, round((period.end - period.start).total_seconds() / 86_400))
        before = t.before_one_day if days == 1 else t.before_days.fill(days=str(days))
        previous = found.previous_count or 0
        if previous == 0:
            return t.summary_none_before.fill(before=before)
        if found.count == previous:
            return t.summary_same.fill(before=before)
        compared = t.summary_more if found.count > previous else t.summary_fewer
        return compared.fill(previous=number_words(previous, spell_below=SPELLED_BELOW),
                             before=before)

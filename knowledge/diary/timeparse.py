"""Read an episode out of one spoken sentence: when, how long, which leg, doing what, other signs.

Pure: the current time is passed in, so every phrase is tested against a fixed clock. Words come
from ``knowledge/data/diary.toml``. Nothing here guesses a field that was not said: a missing
field is ``None`` and the dialogue asks for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from knowledge.numbers import load_number_words

from .words import ACTIVITIES, DiaryWords, Phrase, load_words

_TOKEN = re.compile(r"[0-9]+(?:\.[0-9]+)?|[a-z]+(?:'[a-z]+)?")
NOON = (12, 0)
# A person's day ends when they sleep, not at midnight: until this hour, "this evening" (or
# "this morning") is the one of the day still going on, which the calendar calls yesterday.
DAY_STARTS = 5


@dataclass(frozen=True)
class When:
    """When an episode started. ``relative_to_now``: said as "now" (or not said), so the start is
    now minus the duration, which is only known once the whole sentence is read."""

    at: datetime
    relative_to_now: bool = False


@dataclass(frozen=True)
class Heard:
    """What one utterance says about an episode; None where it says nothing."""

    when: When | None = None
    duration_s: int | None = None
    legs: str | None = None          # left, right or both
    activity: str | None = None      # sitting, lying, walking or other
    signs: tuple[str, ...] = ()
    skip: bool = False               # "I don't know": leave the asked field open
    retry: bool = False              # "try again", "save it"
    logging_cue: bool = False        # "log", "diary"...: meant for the diary

    @property
    def anything(self) -> bool:
        """True when the utterance gave at least one field of an episode."""
        return any(value is not None for value in (self.when, self.duration_s, self.legs,
                                                   self.activity)) or bool(self.signs)


def tokens(text: str) -> list[str]:
    """Lower-case words and numbers; hyphens split words ("twenty-five", "half-an-hour")."""
    return _TOKEN.findall(text.lower().replace("\u2019", "'").replace("-", " "))


def _find(words: list[str], phrase: Phrase, start: int = 0) -> int:
    """Index where PHRASE starts in WORDS at or after START, else -1."""
    size = len(phrase)
    first = phrase[0]
    for index in range(start, len(words) - size + 1):
        if words[index] == first and tuple(words[index:index + size]) == phrase:
            return index
    return -1


def _has(words: list[str], phrases: tuple[Phrase, ...]) -> bool:
    return any(_find(words, phrase) >= 0 for phrase in phrases)


def number_at(words: list[str], index: int, lexicon: DiaryWords) -> tuple[float, int] | None:
    """(value, index after it) for a number starting at INDEX: digits, words, "a couple of"."""
    if index >= len(words):
        return None
    word = words[index]
    numbers = load_number_words()
    if word[0].isdigit():
        value = float(word)
    elif word in numbers.tens[2:]:
        value = float(numbers.tens.index(word) * 10)
        if index + 1 < len(words) and words[index + 1] in numbers.units[1:10]:
            return value + numbers.units.index(words[index + 1]), index + 2
    elif word in numbers.units:
        value = float(numbers.units.index(word))
    else:
        for phrase, amount in lexicon.quantities.items():
            if tuple(words[index:index + len(phrase)]) == phrase:
                return float(amount), index + len(phrase)
        return None
    after = index + 1
    # "two and a half hours"
    if words[after:after + 3] == ["and", "a", "half"]:
        return value + 0.5, after + 3
    return value, after


def _amounts(words: list[str], lexicon: DiaryWords) -> list[tuple[int, int, int]]:
    """Every (start, end, seconds) amount of time said, longest phrases first where they overlap."""
    found: list[tuple[int, int, int]] = []
    taken = [False] * len(words)
    for phrase, seconds in lexicon.durations.items():
        start = _find(words, phrase)
        while start >= 0:
            if not any(taken[start:start + len(phrase)]):
                found.append((start, start + len(phrase), seconds))
                for i in range(start, start + len(phrase)):
                    taken[i] = True
            start = _find(words, phrase, start + 1)
    for index in range(len(words)):
        if taken[index]:
            continue
        number = number_at(words, index, lexicon)
        if number is None:
            continue
        value, after = number
        if after < len(words) and words[after] in lexicon.unit_seconds and not any(
                taken[index:after + 1]):
            found.append((index, after + 1, round(value * lexicon.unit_seconds[words[after]])))
            for i in range(index, after + 1):
                taken[i] = True
    return sorted(found)


def parse_duration(text: str, lexicon: DiaryWords | None = None) -> int | None:
    """Seconds the episode lasted ("for ten minutes", "half an hour"); "ten minutes ago" is a time."""
    lexicon = lexicon or load_words()
    words = tokens(text)
    for _start, end, seconds in _amounts(words, lexicon):
        if end < len(words) and words[end] in lexicon.ago:
            continue
        return seconds if seconds > 0 else None
    return None


def _day_part(words: list[str], lexicon: DiaryWords) -> str | None:
    for name in lexicon.day_parts:
        if name in words:
            return name
    return None


def this_part(name: str, now: datetime, lexicon: DiaryWords) -> When:
    """When "this NAME" ("this evening", "tonight") started, said at NOW: never later than now.

    The part of the person's day (which runs from DAY_STARTS to DAY_STARTS), at its usual time
    (``day_parts``). At 00:30 every part of that day is over: "this evening" is yesterday at
    19:00, and "this morning" yesterday at 9:00, the morning they got up in (the half hour
    since midnight is "just now" or "tonight" to someone still up). A part not reached yet:
    happening now once the part before it has come (18:00, "this evening"); before that, the
    same part of the day before (06:00, "this evening": the evening just gone, never tonight's).
    """
    hour_minute = lexicon.day_parts[name]
    day = now if now.hour >= DAY_STARTS else now - timedelta(days=1)
    start = _at(day, hour_minute)
    if start <= now:
        return When(start)
    before = [other for other in lexicon.day_parts.values() if other < hour_minute]
    begins = _at(day, max(before)) if before else _at(day, (DAY_STARTS, 0))
    if begins <= now:
        return When(now, relative_to_now=True)
    return When(start - timedelta(days=1))


def _at(day: datetime, hour_minute: tuple[int, int]) -> datetime:
    return day.replace(hour=hour_minute[0], minute=hour_minute[1], second=0, microsecond=0)


def parse_when(text: str, now: datetime, lexicon: DiaryWords | None = None) -> When | None:
    """When the episode started, or None when the sentence does not say."""
    lexicon = lexicon or load_words()
    words = tokens(text)
    # "ten minutes ago", "an hour ago"
    for _start, end, seconds in _amounts(words, lexicon):
        if end < len(words) and words[end] in lexicon.ago:
            return When(now - timedelta(seconds=seconds))
    part = _day_part(words, lexicon)
    hour_minute = lexicon.day_parts[part] if part is not None else NOON
    if _has(words, lexicon.last_night):
        return When(min(now, _at(now - timedelta(days=1), lexicon.day_parts["night"])))
    if _has(words, lexicon.yesterday):
        return When(_at(now - timedelta(days=1), hour_minute))
    for number, name in enumerate(lexicon.weekdays):
        if name in words or f"{name}s" in words:
            back = (now.weekday() - number) % 7 or 7  # "on monday" said on a Monday: last week
            return When(_at(now - timedelta(days=back), hour_minute))
    if part is not None and "tonight" not in words and not (
            _has(words, lexicon.this) or _has(words, lexicon.today) or "in" in words
            or "at" in words):
        part = None  # "night" alone ("at night" is fine) is not a time of its own
    if "tonight" in words:
        part = "tonight"
    if part is not None:
        return this_part(part, now, lexicon)
    if _has(words, lexicon.now) or _has(words, lexicon.today):
        return When(now, relative_to_now=True)
    return None


def parse_legs(text: str, lexicon: DiaryWords | None = None, *, bare: bool = False,
               plural: bool = True) -> str | None:
    """left, right or both; a side counts next to a limb word, or alone when BARE (an answer).
    With PLURAL, "my legs" with no side word means both."""
    lexicon = lexicon or load_words()
    words = tokens(text)
    sides: set[str] = set()
    for side in ("left", "right", "both"):
        for phrase in lexicon.sides[side]:
            start = _find(words, phrase)
            while start >= 0:
                after = start + len(phrase)
                near = words[after:after + 2]
                # "left and right legs", "left leg", "right foot", "the left one"
                if bare or any(word in lexicon.limbs for word in near):
                    sides.add(side)
                start = _find(words, phrase, start + 1)
    if "both" in sides or {"left", "right"} <= sides:
        return "both"
    if sides:
        return sides.pop()
    if plural and any(word in lexicon.plural_limbs for word in words):
        return "both"
    return None


def parse_activity(text: str, lexicon: DiaryWords | None = None) -> str | None:
    """sitting, lying, walking or other: the earliest one said."""
    lexicon = lexicon or load_words()
    words = tokens(text)
    best: tuple[int, str] | None = None
    for activity in ACTIVITIES:
        for phrase in lexicon.activities[activity]:
            start = _find(words, phrase)
            if start >= 0 and (best is None or start < best[0]):
                best = (start, activity)
    return best[1] if best else None


def parse_signs(text: str, lexicon: DiaryWords | None = None) -> tuple[str, ...]:
    """Other signs worth noting ("pins and needles", "back pain"), each named once."""
    lexicon = lexicon or load_words()
    words = tokens(text)
    taken = [False] * len(words)
    found: list[tuple[int, str]] = []
    for phrase, label in lexicon.signs.items():
        start = _find(words, phrase)
        while start >= 0:
            if not any(taken[start:start + len(phrase)]):
                found.append((start, label))
                for i in range(start, start + len(phrase)):
                    taken[i] = True
            start = _find(words, phrase, start + 1)
    names: list[str] = []
    for _, label in sorted(found):
        if label not in names:
            names.append(label)
    return tuple(names)


def parse(text: str, now: datetime, lexicon: DiaryWords | None = None, *,
          answering: str | None = None) -> Heard:
    """Everything TEXT says about an episode. ANSWERING names the field just asked for, so a bare
    "right" is the right leg (not "that's right") and "sitting" alone is an answer."""
    lexicon = lexicon or load_words()
    words = tokens(text)
    return Heard(
        when=parse_when(text, now, lexicon),
        duration_s=parse_duration(text, lexicon),
        legs=parse_legs(text, lexicon, bare=answering == "legs"),
        activity=parse_activity(text, lexicon),
        signs=parse_signs(text, lexicon),
        skip=_has(words, lexicon.skip),
        retry=_has(words, lexicon.retry) and len(words) <= 4,
        logging_cue=_has(words, lexicon.logging_cues),
    )


def start_time(when: When | None, duration_s: int | None, now: datetime) -> datetime:
    """When the episode began: a time said, else now minus how long it lasted."""
    if when is None or when.relative_to_now:
        return (when.at if when else now) - timedelta(seconds=duration_s or 0)
    return when.at


# -- speaking ------------------------------------------------------------------------------------


# The diary says numbers below seventy in words, larger ones in digits (speech reads both well).
SPELLED_BELOW = 70


def spoken_clock(moment: datetime) -> str:
    """'8:30 in the morning', '3 o'clock in the afternoon'."""
    hour = moment.hour % 12 or 12
    clock = f"{hour} o'clock" if moment.minute == 0 else f"{hour}:{moment.minute:02d}"
    if moment.hour < 12:
        part = "in the morning"
    elif moment.hour < 17:
        part = "in the afternoon"
    elif moment.hour < 21:
        part = "in the evening"
    else:
        part = "at night"
    return f"{clock} {part}"


def spoken_day(moment: datetime, now: datetime) -> str:
    """'today', 'yesterday', 'on Monday', 'on 3 November'."""
    days = (now.date() - moment.date()).days
    if days == 0:
        return "today"
    if days == 1:
        return "yesterday"
    if 1 < days < 7:
        return f"on {moment.strftime('%A')}"
    return f"on {moment.day} {moment.strftime('%B')}"


def spoken_when(moment: datetime, now: datetime) -> str:
    """'today at 8:30 in the morning', 'just now'."""
    if timedelta(0) <= now - moment < timedelta(minutes=2):
        return "just now"
    return f"{spoken_day(moment, now)} at {spoken_clock(moment)}"

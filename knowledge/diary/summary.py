"""Summaries of the diary over a period, and whether the pattern is worth showing a neurologist.

Never a diagnosis: the reasons name a pattern (frequent, getting longer, one-sided, warning signs
reported), with thresholds from ``knowledge/data/diary.toml``.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from .store import DiaryStore
from .timeparse import tokens
from .words import DiaryWords, load_words

FREQUENT, LENGTHENING, ONE_SIDED, RED_FLAGS = "frequent", "lengthening", "one_sided", "red_flags"
ADVICE_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class Period:
    """[start, end) and how to say it ("this month", "in the last 30 days")."""

    name: str
    start: datetime
    end: datetime
    compare: bool = True  # False for "so far": there is no previous period to compare with
    # Ends now: an episode logged this very second belongs in it.
    inclusive: bool = False

    @property
    def previous(self) -> Period:
        """The period of the same length just before this one."""
        length = self.end - self.start
        return Period("the period before", self.start - length, self.start)

    def seconds(self) -> tuple[int, int]:
        """[start, end) in whole Unix seconds, as the diary stores times."""
        end = self.end.timestamp()
        return math.floor(self.start.timestamp()), math.floor(end) + 1 if self.inclusive \
            else math.ceil(end)


@dataclass(frozen=True)
class Summary:
    period: Period
    count: int
    previous_count: int | None     # None when there is nothing to compare with
    median_duration_s: int | None  # over the episodes whose duration is known
    legs: dict[str, int]           # left/right/both -> episodes
    last_started: datetime | None  # the latest episode in the diary up to the period's end
    red_flag_count: int
    reasons: tuple[str, ...]       # why to see a neurologist; empty: nothing in the pattern

    @property
    def main_leg(self) -> str | None:
        """The side named most often, when one clearly leads."""
        if not self.legs:
            return None
        ranked = Counter(self.legs).most_common()
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            return None
        return ranked[0][0]


def _midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _month_start(moment: datetime) -> datetime:
    return _midnight(moment).replace(day=1)


def period_named(key: str, now: datetime, lexicon: DiaryWords | None = None) -> Period:
    """The period a key from the data file ("this_month", "rolling_7") stands for, ending now."""
    lexicon = lexicon or load_words()
    today = _midnight(now)
    if key == "today":
        return Period("today", today, now, inclusive=True)
    if key == "this_week":
        return Period("this week", today - timedelta(days=now.weekday()), now, inclusive=True)
    if key == "last_week":
        start = today - timedelta(days=now.weekday() + 7)
        return Period("last week", start, start + timedelta(days=7))
    if key == "this_month":
        return Period("this month", _month_start(now), now, inclusive=True)
    if key == "last_month":
        end = _month_start(now)
        return Period("last month", _month_start(end - timedelta(days=1)), end)
    if key == "this_year":
        return Period("this year", today.replace(month=1, day=1), now, inclusive=True)
    if key == "all":
        return Period("so far", datetime.fromtimestamp(0), now, compare=False, inclusive=True)
    days = int(key.split("_")[1]) if key.startswith("rolling_") else lexicon.default_days
    return Period(f"in the last {days} days", now - timedelta(days=days), now, inclusive=True)


def period_from_text(text: str, now: datetime, lexicon: DiaryWords | None = None) -> Period:
    """The period a question asks about ("how often this month?"); the last 30 days by default."""
    lexicon = lexicon or load_words()
    words = tokens(text)
    joined = f" {' '.join(words)} "
    for phrase, key in lexicon.periods.items():
        if f" {' '.join(phrase)} " in joined:
            return period_named(key, now, lexicon)
    return period_named("default", now, lexicon)


def _median(values: list[int]) -> float:
    return float(statistics.median(values))


def summarise(store: DiaryStore, period: Period, lexicon: DiaryWords | None = None) -> Summary:
    """Count, typical duration, sides, trend and the advice reasons for PERIOD."""
    lexicon = lexicon or load_words()
    advice = lexicon.advice
    start_s, end_s = period.seconds()
    advice_s = end_s - int(ADVICE_WINDOW.total_seconds())
    window_s = min(period.previous.seconds()[0] if period.compare else start_s, advice_s)
    rows = store.brief(window_s, end_s)  # one indexed range query, oldest first
    current = [row for row in rows if start_s <= row[0] < end_s]
    previous = None
    if period.compare:
        prev_s = period.previous.seconds()[0]
        previous = sum(1 for row in rows if prev_s <= row[0] < start_s)
    durations = [row[1] for row in current if row[1] is not None]
    legs = Counter(row[2] for row in current if row[2] is not None)
    red_flag_count = sum(row[3] for row in current)
    reasons = []
    recent = sum(1 for row in rows if advice_s <= row[0] < end_s)
    if max(recent, len(current) if period.end - period.start <= ADVICE_WINDOW else 0) >= \
            advice.frequent_count:
        reasons.append(FREQUENT)
    if len(durations) >= advice.lengthening_min:
        half = len(durations) // 2
        earlier, later = durations[:half], durations[-half:]
        if _median(later) >= advice.lengthening_ratio * max(_median(earlier), 1.0):
            reasons.append(LENGTHENING)
    sided = sum(legs.values())
    if sided >= advice.one_sided_min:
        side, most = max(((s, legs.get(s, 0)) for s in ("left", "right")), key=lambda p: p[1])
        if most / sided >= advice.one_sided_share:
            reasons.append(ONE_SIDED)
    if red_flag_count:
        reasons.append(RED_FLAGS)
    last = rows[-1][0] if rows else None
    if last is None:
        found = store.last_before(end_s)
        last = int(found.timestamp()) if found else None
    return Summary(
        period=period, count=len(current), previous_count=previous,
        median_duration_s=round(_median(durations)) if durations else None,
        legs=dict(legs), last_started=datetime.fromtimestamp(last) if last is not None else None,
        red_flag_count=red_flag_count, reasons=tuple(reasons))

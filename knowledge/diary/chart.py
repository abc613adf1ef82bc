"""Episodes counted per week (or per month, for a long diary) for the report's chart, and the
same figures in words: the chart's text alternative, never shortened."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .store import Episode

# Up to half a year is counted week by week; a longer diary month by month, so the chart keeps
# rows a person can read and the words stay a list a person can listen to (at most 26 figures
# for two years, one a month beyond: a long list still, but every figure is there).
WEEKLY_LIMIT = 26
WEEK, MONTH = "week", "month"


@dataclass(frozen=True)
class Bar:
    """One week (starting on a Monday) or one calendar month, and its episodes."""

    start: datetime
    count: int
    label: str  # "3 Aug 2026" for a week, "Aug 2026" for a month


@dataclass(frozen=True)
class Chart:
    """What the chart shows: bars of one unit, oldest first; no bars for an empty diary."""

    unit: str  # WEEK or MONTH
    bars: tuple[Bar, ...]
    made: datetime  # the report's date: the last bar counts only up to it

    @property
    def title(self) -> str:
        return f"Episodes per {self.unit}"

    def words(self) -> str:
        """Every figure of the chart in sentences a screen reader reads well."""
        if not self.bars:
            return "No episodes have been recorded, so there is no chart."
        unit, bars = self.unit, self.bars
        total = sum(bar.count for bar in bars)
        top = max(bar.count for bar in bars)
        busiest = [bar for bar in bars if bar.count == top]
        first, last = self._named(bars[0]), self._named(bars[-1])
        span = first if len(bars) == 1 else f"from {first} to {last}"
        where = f"in {self._named(busiest[0])}" if len(busiest) == 1 else \
            f"in {len(busiest)} of the {unit}s, the first {self._named(busiest[0])}"
        listed = "; ".join(f"{bar.label}: {bar.count}" for bar in bars)
        by = f"{unit.capitalize()} by {unit}"
        if unit == WEEK:
            by += " (each week starts on a Monday)"
        # A low last bar may only mean the week or month is not over yet.
        partial = f" The last {unit} is counted up to {_day(self.made)}." \
            if self.made < _following(unit, bars[-1].start) else ""
        return (f"Bar chart of episodes per {unit}: {_plural(len(bars), unit)}, {span}; "
                f"{_plural(total, 'episode')} in all. The most in one {unit} was {top}, "
                f"{where}.{partial} {by}: {listed}.")

    def _named(self, bar: Bar) -> str:
        return f"the week starting Mon {bar.label}" if self.unit == WEEK else bar.label


def _day(moment: datetime) -> str:
    return f"{moment:%a} {moment.day} {moment:%b %Y}"


def _following(unit: str, start: datetime) -> datetime:
    return start + timedelta(weeks=1) if unit == WEEK else _next_month(start)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _monday(moment: datetime) -> datetime:
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def _month(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(month: datetime) -> datetime:
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


def _counts(episodes: Iterable[Episode], today: datetime, start_of: Callable[[datetime], datetime],
            following: Callable[[datetime], datetime]) -> list[tuple[datetime, int]]:
    """(start, episodes) for every period from the first episode's to today's (or the last
    episode's, if later), empty periods included: a gap is a figure too."""
    counts = Counter(start_of(e.started_at) for e in episodes)
    if not counts:
        return []
    last = max(start_of(today), max(counts))
    periods = []
    period = min(counts)
    while period <= last:
        periods.append((period, counts.get(period, 0)))
        period = following(period)
    return periods


def weekly_counts(episodes: Iterable[Episode], today: datetime) -> list[tuple[datetime, int]]:
    """(Monday of the week, episodes that week) from the first episode's week to this week."""
    return _counts(episodes, today, _monday, lambda week: _following(WEEK, week))


def monthly_counts(episodes: Iterable[Episode], today: datetime) -> list[tuple[datetime, int]]:
    """(first of the month, episodes that month) from the first episode's month to this month."""
    return _counts(episodes, today, _month, _next_month)


def chart_of(episodes: list[Episode], today: datetime) -> Chart:
    """Week by week up to WEEKLY_LIMIT weeks, else month by month; nothing is left out."""
    weeks = weekly_counts(episodes, today)
    if len(weeks) <= WEEKLY_LIMIT:
        return Chart(WEEK, tuple(Bar(week, count, f"{week.day} {week:%b %Y}")
                                 for week, count in weeks), today)
    return Chart(MONTH, tuple(Bar(month, count, f"{month:%b %Y}")
                              for month, count in monthly_counts(episodes, today)), today)

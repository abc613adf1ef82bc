"""The report's chart: episodes per week, or per month for a long diary, and the same figures in
words, with nothing left out."""

from __future__ import annotations

from datetime import datetime, timedelta

from knowledge.diary.chart import MONTH, WEEK, WEEKLY_LIMIT, chart_of, monthly_counts, weekly_counts
from knowledge.diary.store import Episode

NOW = datetime(2026, 11, 24, 20, 15)  # a Tuesday


def _at(*moments: datetime) -> list[Episode]:
    return [Episode(moment, 60, "left", None) for moment in moments]


def test_weeks_start_on_monday_and_empty_weeks_are_counted():
    episodes = _at(datetime(2026, 11, 1, 23, 59), datetime(2026, 11, 2, 0, 0),
                   datetime(2026, 11, 2, 9, 0))
    assert weekly_counts(episodes, NOW) == [
        (datetime(2026, 10, 26), 1), (datetime(2026, 11, 2), 2), (datetime(2026, 11, 9), 0),
        (datetime(2026, 11, 16), 0), (datetime(2026, 11, 23), 0)]


def test_months_run_across_the_new_year():
    episodes = _at(datetime(2025, 11, 30), datetime(2026, 1, 31, 23, 0))
    assert monthly_counts(episodes, datetime(2026, 2, 3)) == [
        (datetime(2025, 11, 1), 1), (datetime(2025, 12, 1), 0), (datetime(2026, 1, 1), 1),
        (datetime(2026, 2, 1), 0)]


def test_up_to_the_limit_it_is_weekly_beyond_it_monthly_and_nothing_is_dropped():
    within = _at(*(NOW - timedelta(weeks=n) for n in range(WEEKLY_LIMIT)))
    chart = chart_of(within, NOW)
    assert chart.unit == WEEK and len(chart.bars) == WEEKLY_LIMIT
    beyond = _at(*(NOW - timedelta(weeks=n) for n in range(WEEKLY_LIMIT + 60)))
    chart = chart_of(beyond, NOW)
    assert chart.unit == MONTH and chart.title == "Episodes per month"
    assert sum(bar.count for bar in chart.bars) == len(beyond)
    assert chart.bars[0].label == "Apr 2025" and chart.bars[-1].label == "Nov 2026"


def test_the_words_give_every_figure_and_say_the_last_week_is_not_over():
    chart = chart_of(_at(NOW - timedelta(days=7), NOW - timedelta(days=6), NOW), NOW)
    assert chart.words() == (
        "Bar chart of episodes per week: 2 weeks, from the week starting Mon 16 Nov 2026 to the "
        "week starting Mon 23 Nov 2026; 3 episodes in all. The most in one week was 2, in the week "
        "starting Mon 16 Nov 2026. The last week is counted up to Tue 24 Nov 2026. Week by week "
        "(each week starts on a Monday): 16 Nov 2026: 2; 23 Nov 2026: 1.")


def test_the_words_for_ties_and_for_an_empty_diary():
    chart = chart_of(_at(NOW - timedelta(days=7), NOW), NOW)
    assert "The most in one week was 1, in 2 of the weeks, the first the week starting Mon 16 " \
        "Nov 2026." in chart.words()
    assert chart_of([], NOW).words() == "No episodes have been recorded, so there is no chart."
    assert chart_of([], NOW).bars == ()

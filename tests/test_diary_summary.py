"""Periods, counts, trends and when a summary advises a neurologist (thresholds in diary.toml)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from knowledge.diary.store import DiaryStore, Episode
from knowledge.diary.summary import FREQUENT, LENGTHENING, ONE_SIDED, RED_FLAGS, period_from_text, summarise
from knowledge.diary.words import load_words

NOW = datetime(2026, 11, 24, 20, 15)  # a Tuesday


@pytest.mark.parametrize("text, name, start, end", [
    ("how often this month", "this month", datetime(2026, 11, 1), NOW),
    ("how many times last month", "last month", datetime(2026, 10, 1), datetime(2026, 11, 1)),
    ("how many episodes this week", "this week", datetime(2026, 11, 23), NOW),
    ("how many times last week", "last week", datetime(2026, 11, 16), datetime(2026, 11, 23)),
    ("read me my diary", "in the last 30 days", NOW - timedelta(days=30), NOW),
    ("how often lately", "in the last 30 days", NOW - timedelta(days=30), NOW),
    ("what have i logged so far", "so far", datetime.fromtimestamp(0), NOW),
])
def test_periods(text, name, start, end):
    period = period_from_text(text, NOW)
    assert (period.name, period.start, period.end) == (name, start, end)
    assert period.previous.end == period.start
    assert period.previous.end - period.previous.start == period.end - period.start


def _store(tmp_path, episodes):
    store = DiaryStore(tmp_path / "diary.db")
    store.add_many([Episode(NOW - timedelta(days=d), m * 60 if m else None, legs, "sitting",
                            red_flags=flag) for d, m, legs, flag in episodes])
    return store


def _last_30(store):
    return summarise(store, period_from_text("lately", NOW))


def test_counts_median_legs_and_trend(tmp_path):
    store = _store(tmp_path, [(1, 10, "left", False), (2, 20, "right", False),
                              (3, None, None, False), (35, 5, "left", False)])
    found = _last_30(store)
    assert (found.count, found.previous_count, found.median_duration_s) == (3, 1, 900)
    assert found.legs == {"left": 1, "right": 1} and found.main_leg is None
    assert found.last_started == NOW - timedelta(days=1)
    assert found.reasons == ()


def test_frequent_is_the_documented_threshold(tmp_path):
    threshold = load_words().advice.frequent_count
    assert threshold == 4
    below = _store(tmp_path, [(d, 5, "both", False) for d in range(1, threshold)])
    assert FREQUENT not in _last_30(below).reasons
    below.add(Episode(NOW - timedelta(days=9), 300, "both", "lying"))
    assert FREQUENT in _last_30(below).reasons


def test_lengthening_one_sided_and_red_flags(tmp_path):
    store = _store(tmp_path, [(9, 5, "right", False), (6, 5, "right", False),
                              (3, 15, "right", True)])
    reasons = _last_30(store).reasons
    assert set(reasons) == {LENGTHENING, ONE_SIDED, RED_FLAGS}


def test_steady_short_mixed_episodes_need_no_advice(tmp_path):
    store = _store(tmp_path, [(9, 10, "left", False), (6, 10, "right", False),
                              (3, 10, "both", False)])
    assert _last_30(store).reasons == ()


def test_an_episode_logged_this_second_is_in_the_summary(tmp_path):
    store = DiaryStore(tmp_path / "diary.db")
    store.add(Episode(NOW, None, None, None))
    assert _last_30(store).count == 1
    assert summarise(store, period_from_text("this month", NOW)).count == 1

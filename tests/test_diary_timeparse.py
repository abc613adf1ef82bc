"""Spoken times, durations, legs and activities (every form listed in tests/data/diary_phrases.toml)."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path

import pytest

from knowledge.diary.timeparse import (
    SPELLED_BELOW,
    parse,
    parse_activity,
    parse_duration,
    parse_legs,
    parse_signs,
    spoken_when,
    start_time,
)
from knowledge.diary.words import load_words
from knowledge.numbers import spoken_duration

CASES = tomllib.loads((Path(__file__).parent / "data" / "diary_phrases.toml").read_text("utf-8"))
NOW = datetime(2026, 11, 24, 20, 15)


@pytest.mark.parametrize("case", CASES["when"], ids=lambda c: f"{c['say']}@{c.get('now', '')}")
def test_when(case):
    now = case.get("now", NOW)
    heard = parse(case["say"], now)
    assert heard.when is not None or "minutes" in case["say"], heard
    assert start_time(heard.when, heard.duration_s, now) == case["start"]


@pytest.mark.parametrize("case", CASES["duration"], ids=lambda c: c["say"])
def test_duration(case):
    assert parse_duration(case["say"]) == case.get("seconds")


@pytest.mark.parametrize("case", CASES["legs"], ids=lambda c: c["say"])
def test_legs(case):
    assert parse_legs(case["say"], bare=case.get("answering", False)) == case.get("legs")


@pytest.mark.parametrize("case", CASES["activity"], ids=lambda c: c["say"])
def test_activity(case):
    assert parse_activity(case["say"]) == case.get("activity")


def test_one_sentence_gives_every_field():
    heard = parse("my left leg went numb for ten minutes after sitting, with pins and needles "
                  "and back pain", NOW)
    assert (heard.legs, heard.duration_s, heard.activity) == ("left", 600, "sitting")
    assert heard.signs == ("pins and needles", "back pain")
    assert heard.when is None and not heard.skip


def test_signs_are_named_once():
    assert parse_signs("tingling, tingly, prickling") == ("tingling",)


def test_skip_and_logging_cue():
    assert parse("I don't know", NOW).skip
    assert parse("log that my leg went numb", NOW).logging_cue
    assert not parse("my leg went numb", NOW).logging_cue


def test_spoken_numbers_from_seventy_are_digits_in_the_diary():
    assert SPELLED_BELOW == 70
    assert spoken_duration(69 * 3600, spell_below=SPELLED_BELOW) == "sixty nine hours"
    assert spoken_duration(75 * 3600, spell_below=SPELLED_BELOW) == "75 hours"


def test_spoken_amounts_are_read_with_the_one_list_of_number_words():
    assert parse_duration("for twenty five minutes") == 25 * 60
    assert parse_duration("for ninety minutes") == 90 * 60


def test_spoken_when():
    assert spoken_when(NOW, NOW) == "just now"
    assert spoken_when(datetime(2026, 11, 24, 9, 0), NOW) == "today at 9 o'clock in the morning"
    assert spoken_when(datetime(2026, 11, 23, 19, 30), NOW) == "yesterday at 7:30 in the evening"
    assert spoken_when(datetime(2026, 11, 20, 15, 0), NOW).startswith("on Friday")
    assert spoken_when(datetime(2026, 11, 2, 23, 0), NOW) == "on 2 November at 11 o'clock at night"


def test_the_word_lists_load_and_are_sorted_longest_first():
    words = load_words()
    durations = list(words.durations)
    assert durations == sorted(durations, key=len, reverse=True)
    assert words.advice.frequent_count >= 1

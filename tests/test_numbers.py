"""knowledge/numbers.py: number words from one list, and durations as a speaker says them."""

from __future__ import annotations

import pytest

from knowledge.numbers import load_number_words, number_words, spoken_duration


@pytest.mark.parametrize(("value", "words"), [
    (0, "zero"), (7, "seven"), (19, "nineteen"), (20, "twenty"), (25, "twenty five"),
    (69, "sixty nine"), (90, "ninety"), (100, "one hundred"), (512, "five hundred twelve"),
    (999, "nine hundred ninety nine"), (1000, "1000"), (-4, "-4"),
])
def test_number_words_as_a_recogniser_writes_them(value, words):
    assert number_words(value) == words


def test_numbers_from_spell_below_stay_digits():
    assert number_words(69, spell_below=70) == "sixty nine"
    assert number_words(70, spell_below=70) == "70"


def test_one_list_of_number_words():
    words = load_number_words()
    assert len(words.units) == 20 and words.units[12] == "twelve"
    assert words.tens[:2] == ("", "") and words.tens[2:] == (
        "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


@pytest.mark.parametrize("seconds, words", [
    (20, "less than a minute"), (60, "a minute"), (600, "ten minutes"), (1500, "twenty five minutes"),
    (1800, "half an hour"), (3600, "an hour"), (5400, "an hour and a half"),
    (7200, "two hours"), (4500, "an hour and fifteen minutes"), (9000, "two hours and a half"),
])
def test_spoken_duration(seconds, words):
    assert spoken_duration(seconds) == words


@pytest.mark.parametrize("seconds, words", [
    (30, "30 seconds"), (60, "one minute"), (90, "90 seconds"), (120, "two minutes"),
    (600, "ten minutes"), (660, "660 seconds"),
])
def test_an_exact_duration_for_a_timer(seconds, words):
    # The relief routine's timer: never rounded ("a minute" for 30 seconds would be wrong).
    assert spoken_duration(seconds, exact=True) == words

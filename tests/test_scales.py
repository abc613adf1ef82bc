"""Slower or faster, quieter or louder: the end of the scale a command asks for, complaints
included ("you're talking too slowly" asks for faster), through the real matcher."""

from __future__ import annotations

import pytest

from intents.meaning import default_matcher
from intents.scales import asked_end, load_scales


@pytest.fixture(scope="module")
def matcher():
    return default_matcher()


def _end(text: str) -> str:
    ends = {asked_end(text, scale) for scale in load_scales().scales} - {""}
    assert len(ends) <= 1, ends
    return ends.pop() if ends else ""


@pytest.mark.parametrize("text, end", [
    # A complaint asks for the other end.
    ("you're speaking too slowly", "faster"),
    ("you are talking so slowly", "faster"),
    ("your going to fast", "slower"),
    ("not so fast", "slower"),
    ("it's a bit loud", "quieter"),
    ("your voice is so faint", "louder"),
    ("I can barely hear you, you sound quiet", "louder"),
    # A request asks for its own end, however it is framed.
    ("slow down please", "slower"),
    ("speak more slowly", "slower"),
    ("could you please talk slowly", "slower"),
    ("can you go slow", "slower"),
    ("a bit louder", "louder"),
    ("not loud enough", "louder"),
    ("quiet down", "quieter"),
    ("can't you be quiet", "quieter"),
    # A complaint denied asks for the word's own end.
    ("you're not loud enough", "louder"),
    ("that is not loud", "louder"),
    # Neither end, or both: nothing to say.
    ("next please", ""),
    ("not too fast and not too slow", ""),
])
def test_the_end_asked_for(text, end):
    assert _end(text) == end


@pytest.mark.parametrize("text, intent", [
    ("You're speaking too slowly.", "faster"),
    ("you are going too slowly", "faster"),
    ("you're talking so slowly", "faster"),
    ("you talk too fast", "slower"),
    ("that's too quiet", "louder"),
    ("it's a bit loud", "quieter"),
])
def test_a_complaint_gets_the_command_that_mends_it(matcher, text, intent):
    assert matcher.match(text).intent == intent


def test_only_commands_on_a_scale_are_moved(matcher):
    """A question that happens to say "slow" stays a question."""
    assert matcher.match("why are my legs so slow to wake up in the morning").intent not in {
        "faster", "slower"}

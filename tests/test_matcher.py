import pytest

from intents.matcher import default_matcher
from intents.understand import Understanding
from tests import devset


@pytest.fixture(scope="module")
def matcher():
    return default_matcher()


def test_development_set_meets_the_targets(matcher):
    scores = devset.score(Understanding(matcher), devset.load())
    assert scores["n_in_domain"] >= 200
    assert scores["in_domain"] >= 0.97, scores
    assert scores["ood_rejected"] >= 0.90, scores
    assert scores["red_flags"] == 1.0, scores


@pytest.mark.parametrize("text, intent, cause", [
    ("why are my legs numbs", "causes_overview", None),
    ("tell me about athero sclerosis", "cause_info", "atherosclerosis"),
    ("what is raynor's disease", "cause_info", "raynaud"),
    ("what is a slipped disc", "cause_info", "disc_herniation"),
    ("can sugar diabetes make my feet numb", "cause_info", "neuropathy"),
    ("set an alarm for seven", "unknown", None),
    ("how many legs does an ant have", "unknown", None),
])
def test_issue_examples(matcher, text, intent, cause):
    match = matcher.match(text)
    assert match.intent == intent, match
    if cause:
        assert match.slots["cause"] == cause


def test_red_flag_wins_over_everything_else(matcher):
    understanding = Understanding(matcher)
    match = understanding.match("tell me about prevention exercises, also my face is drooping")
    assert match.intent == "emergency" and match.slots["red_flags"] == ["stroke"]
    assert understanding.match("my leg is cold, pale and really painful").slots["red_flags"] == \
        ["limb_ischaemia"]
    # The matcher alone no longer knows red flags: the safety stage owns them.
    assert matcher.match("my face is drooping").intent != "emergency"


def test_negated_red_flag_phrase_is_not_an_emergency(matcher):
    assert Understanding(matcher).match("my legs are numb but i have no slurred speech").intent != "emergency"


def test_symptom_check_ranks_causes(matcher):
    match = matcher.match("both my feet burn at night and i am diabetic, what could it be")
    assert match.intent == "symptom_check"
    assert match.slots["causes"][0] == "neuropathy"


@pytest.mark.parametrize("text", ["", "   ", "\U0001F9B5\U0001F9B5", "x" * 100_000, "\x00\x01",
                                  "\u0423 \u043c\u0435\u043d\u044f \u043d\u043e\u0433\u0438"])
def test_any_string_gives_a_typed_answer(matcher, text):
    match = matcher.match(text)
    assert match.intent in ("unknown",) and 0.0 <= match.confidence <= 1.0

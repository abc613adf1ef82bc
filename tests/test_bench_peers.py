"""bench/peers.py: our templates converted for hassil (strict and fuzzy) and padacioso match
what they should."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import peers  # noqa: E402 - after sys.path is set

TEMPLATES = {
    "cause_info": ["(what is|tell me about) [a|an] {cause}"],
    "symptom_check": ["my {symptom} and [my] {symptom} what is it"],
    "stop": ["(please|okay) stop [talking]"],
    "emergency": ["call an ambulance"],
}
RED_FLAG = "my face is (drooping|droopy)"
CUE = (("slurred", "slurring"), ("speech", "words"))
CAUSES = {"slipped disc": "disc_herniation", "raynaud's disease": "raynaud"}
SYMPTOMS = [("back (hurts|aches)", "back_pain"), ("(leg|legs) (is|are) numb", "numb_leg")]

EXPECTED = [
    ("what is a slipped disc", "cause_info", {"cause": ["disc_herniation"]}),
    ("Tell me about Raynaud's disease", "cause_info", {"cause": ["raynaud"]}),
    ("my back hurts and my legs are numb what is it", "symptom_check",
     {"symptom": ["back_pain", "numb_leg"]}),
    ("please stop", "stop", {}),           # "please" is a filler: dropped on both sides
    ("stop talking", "stop", {}),
    ("call an ambulance", "emergency", {}),
    ("help my face is drooping now", "emergency", {}),   # a red flag stands anywhere
    ("i think my words are slurred", "emergency", {}),   # a word rule, words in any order
    ("what is a herniated cheese", "unknown", {}),
    ("set an alarm", "unknown", {}),
]


@pytest.fixture(scope="module")
def converted() -> peers.Converted:
    intents = {name: [peers.Pattern(peers.tree_of(t)) for t in lines]
               for name, lines in TEMPLATES.items()}
    intents["emergency"].append(peers.Pattern(peers.tree_of(RED_FLAG), anywhere=True))
    return peers.Converted(
        intents=intents, cues=[peers.CueRule(CUE)],
        causes={" ".join(peers.peer_words(a)): c for a, c in CAUSES.items()},
        symptoms=[(peers.tree_of(p), f) for p, f in SYMPTOMS])


def test_template_words_are_normalised_like_utterances() -> None:
    assert peers.render_hassil(peers.tree_of("(please|okay) stop [talking]")) == \
        "[okay] stop [talking]"
    assert peers.render_hassil(peers.tree_of("why are my legs numb")) == "why are my leg numb"
    assert peers.render_hassil(peers.tree_of("i can't feel my {cause}")) == \
        "i cannot feel my {cause}"


def test_padacioso_syntax_never_doubles_spaces() -> None:
    from padacioso.bracket_expansion import expand_parentheses

    text = peers.render_padacioso(peers.tree_of("why [do|are] my (legs|feet) [go] numb"))
    sentences = expand_parentheses(text)
    assert "why my leg numb" in sentences
    assert "why do my foot go numb" in sentences
    assert all("  " not in s and s == s.strip() for s in sentences)


def test_repeated_slots_get_their_own_names() -> None:
    text = peers.render_hassil(peers.tree_of("{symptom} and {symptom}"), peers._renamer())
    assert text == "{symptom} and {symptom_2}"


@pytest.mark.parametrize("make", [
    peers.HassilPeer,
    peers.PadaciosoPeer,
    lambda conv: peers.PadaciosoPeer(conv, known_values_only=True),
])
def test_converted_intents_match_the_expected_sentences(converted, make) -> None:
    peer = make(converted)
    for text, intent, values in EXPECTED:
        got_intent, got_values = peer.recognize(peers.prepare(text))
        if isinstance(peer, peers.PadaciosoPeer) and not peer.known_values_only \
                and intent == "unknown" and "what is" in text:
            # padacioso's open entities: {cause} captures "herniated cheese" (documented)
            assert got_intent == "cause_info"
            continue
        assert got_intent == intent, text
        assert {k: sorted(v) for k, v in got_values.items()} == \
            {k: sorted(v) for k, v in values.items()}, text


def test_hassil_fuzzy_answers_what_strict_misses_and_rejects_the_far_off(converted) -> None:
    """Real hassil 3.8.1: its FuzzyNgramMatcher over n-gram models built from the templates."""
    peer = peers.HassilFuzzyPeer(converted)
    strict = peers.HassilPeer(converted)
    plain = peers.prepare("tell me about a slipped disc")  # strict answers: fuzzy never asked
    assert peer.recognize(plain) == ("cause_info", {"cause": ["disc_herniation"]})
    for text, intent, values in [
        ("so what is a slipped disc then", "cause_info", {"cause": ["disc_herniation"]}),
        ("could you stop talking now", "stop", {}),
        ("my back aches and my leg is numb so what is it", "symptom_check",
         {"symptom": ["back_pain", "numb_leg"]}),
    ]:
        line = peers.prepare(text)
        assert strict.recognize(line)[0] == "unknown", text  # the fuzzy matcher answered these
        got_intent, got_values = peer.recognize(line)
        assert got_intent == intent, text
        assert {k: sorted(v) for k, v in got_values.items()} == values, text
    for text in ("set an alarm", "what is the weather like in paris tomorrow"):
        assert peer.recognize(peers.prepare(text)) == ("unknown", {}), text


@pytest.mark.slow
def test_hassil_fuzzy_builds_from_the_shipped_data() -> None:
    peer = peers.HassilFuzzyPeer(peers.convert())
    assert peer.recognize(peers.prepare("my legs feel kind of numb why"))[0] == "causes_overview"
    assert peer.recognize(peers.prepare("set an alarm for seven"))[0] == "unknown"


def test_keyword_baseline_uses_words_few_intents_share(converted) -> None:
    peer = peers.KeywordPeer(converted)
    assert peer.recognize(peers.prepare("ambulance"))[0] == "emergency"
    assert peer.recognize(peers.prepare("tell me about a slipped disc"))[0] == "cause_info"
    assert peer.recognize(peers.prepare("set an alarm"))[0] == "unknown"


def test_shipped_data_converts_whole() -> None:
    conv = peers.convert()
    hassil = peers.hassil_dict(conv)
    assert set(hassil["intents"]) == set(conv.intents)
    assert len(conv.intents["emergency"]) > 7  # red-flag patterns joined the emergency intent
    assert all(sentence for data in hassil["intents"].values()
               for sentence in data["data"][0]["sentences"])

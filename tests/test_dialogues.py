"""Conversations as data (tests/data/dialogues.toml), run against the real skill with a fake clock."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from intents.meaning import default_matcher
from knowledge import load_knowledge
from voice.dialogue.responses import load_responses
from voice.dialogue.skill import Skill

DIALOGUES = tomllib.loads((Path(__file__).parent / "data" / "dialogues.toml").read_text("utf-8"))


@pytest.mark.parametrize("dialogue", DIALOGUES["dialogue"], ids=lambda d: d["name"])
def test_dialogue(dialogue):
    now = [1000.0]
    skill = Skill(default_matcher(), load_knowledge(), load_responses(), emergency_number="999",
                  clock=lambda: now[0])
    for number, turn in enumerate(dialogue["turns"], start=1):
        where = f"turn {number} of {dialogue['name']!r}: {turn}"
        if "wait" in turn:
            now[0] += turn["wait"]
            reply = skill.tick()
        else:
            reply = skill.respond(turn["say"])
        if turn.get("silent"):
            assert reply is None, f"{where} -> {reply}"
            continue
        assert reply is not None, where
        for text in turn.get("expect", []):
            assert text in reply.text, f"{where} -> {reply.text}"
        if "intent" in turn:
            assert reply.intent == turn["intent"], f"{where} -> {reply.intent}: {reply.text}"


CASES = tomllib.loads((Path(__file__).parent / "data" / "symptom_cases.toml").read_text("utf-8"))


@pytest.mark.parametrize("case", CASES["case"], ids=lambda c: c.get("top") or c.get("top_three")
                         or "emergency")
def test_symptom_check(case):
    kb = load_knowledge()
    skill = Skill(default_matcher(), kb, load_responses(), emergency_number="999")
    reply = skill.respond(case["say"])
    questions = {feature.question: feature.id for feature in kb.features}
    asked = 0
    while reply.intent == "symptom_check" and reply.text.endswith("?") and asked < 6:
        question = next((q for q in questions if reply.text.endswith(q)), None)
        if question is None:
            break  # the final answer ends with an offer, not a feature question
        asked += 1
        reply = skill.respond("yes" if case["facts"].get(questions[question]) else "no")
    if case.get("emergency"):
        assert reply.intent == "emergency" and "Call 999 now" in reply.text, reply.text
        return
    assert 2 <= asked <= 4 or not case["facts"], (asked, reply.text)
    assert reply.intent == "symptom_check", reply.text
    ranked = skill.ctx.last_cause
    if "top" in case:
        assert ranked == case["top"], reply.text
        name = kb.cause(case["top"]).name
        assert reply.text.index(name) < 80, reply.text  # named first
    else:
        assert kb.cause(case["top_three"]).name in reply.text, reply.text
    assert "diagnose" in reply.text

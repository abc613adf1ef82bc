"""Conversations as data (tests/data/dialogues.toml), run against the real skill with a fake clock."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from intents.matcher import default_matcher
from knowledge import load_knowledge
from voice.responses import load_responses
from voice.skill import Skill

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

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

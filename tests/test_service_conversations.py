"""The service's conversations and turns in-process, with a clock the test moves: one Skill per
conversation over shared parts, found by id, forgotten when idle; handled or not-handled."""

from __future__ import annotations

from pathlib import Path

import pytest

from intents.meaning import default_matcher
from intents.safety import default_safety
from knowledge.diary.store import DiaryStore
from knowledge.loader import load_knowledge
from voice.dialogue.responses import load_responses
from voice.service.conversations import Conversations
from voice.service.handling import HISTORY_KEPT, Dialogue, SharedParts
from voice.service.texts import ServiceTexts, load_service_texts


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def parts(tmp_path: Path) -> SharedParts:
    return SharedParts(default_matcher(), load_knowledge(), load_responses(), default_safety(),
                       DiaryStore(tmp_path / "diary.db"), "999")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def dialogue(parts: SharedParts, clock: Clock) -> Dialogue:
    return Dialogue(parts, Conversations(parts.new_skill, idle_s=600, max_open=5, clock=clock),
                    load_service_texts())


def test_each_conversation_has_its_own_skill_over_the_shared_parts(parts, clock):
    conversations = Conversations(parts.new_skill, clock=clock)
    first, second = conversations.take(None), conversations.take(None)
    assert first.id != second.id and first.skill is not second.skill
    assert first.skill.matcher is second.skill.matcher is parts.matcher
    assert first.skill.kb is second.skill.kb and first.skill.diary is second.skill.diary
    assert first.skill.safety is parts.safety
    assert conversations.take(first.id) is first


@pytest.mark.parametrize("wanted", ["", "x" * 65, "has space", "semi;colon", 42, ["list"]])
def test_an_unusable_id_starts_a_new_conversation_with_an_id_of_ours(parts, clock, wanted):
    conversations = Conversations(parts.new_skill, clock=clock)
    conversation = conversations.take(wanted)
    assert conversation.id != wanted and len(conversation.id) == 32


def test_a_conversation_is_forgotten_after_the_idle_time_and_not_before(dialogue, clock):
    first = dialogue.turn("my legs are numb right now", None)
    clock.now += 599
    assert "Step 2 of 4" in dialogue.turn("next", first.context()).text
    clock.now += 599  # idle time counts from the last turn
    assert "Step 3 of 4" in dialogue.turn("next", first.context()).text
    clock.now += 600
    assert dialogue.expire() == 1 and len(dialogue.conversations) == 0
    later = dialogue.turn("next", first.context())
    assert "Step" not in later.text
    assert later.conversation_id == first.conversation_id  # the same id starts afresh


def test_beyond_the_most_open_the_one_idle_longest_is_forgotten(dialogue, clock):
    ids = []
    for _ in range(5):
        clock.now += 1
        ids.append(dialogue.turn("my legs are numb right now", None).conversation_id)
    clock.now += 1
    dialogue.turn("next", {"conversation_id": ids[0]})  # the first is used again: kept
    dialogue.turn("why are my legs numb", None)  # a sixth
    assert len(dialogue.conversations) == 5
    assert ids[0] in dialogue.conversations and ids[1] not in dialogue.conversations


def test_red_flags_and_safety_questions_are_handled_out_of_domain_is_not(dialogue):
    alarm = dialogue.turn("my face is drooping", None)
    assert alarm.handled and alarm.text.startswith("Call 999 now") and alarm.intent == "emergency"
    question = dialogue.turn("my leg suddenly went numb", None)
    assert question.handled and question.text.endswith("?")
    joke = dialogue.turn("tell me a joke", None)
    assert not joke.handled and "only help with numb legs" in joke.text
    for unusable in ("", "   ", "x" * 5000):
        assert not dialogue.turn(unusable, None).handled
    # Too long to answer, but the safety stage hears it all the same.
    long_alarm = dialogue.turn("well " * 300 + "my face is drooping", None)
    assert long_alarm.handled and long_alarm.intent == "emergency"


def test_goodbye_ends_the_conversation(dialogue):
    first = dialogue.turn("why are my legs numb", None)
    bye = dialogue.turn("goodbye", first.context())
    assert bye.ended and bye.context()["ended"] is True
    assert first.conversation_id not in dialogue.conversations


def test_a_long_conversation_keeps_a_bounded_history(dialogue):
    context = dialogue.turn("why are my legs numb", None).context()
    for _ in range(HISTORY_KEPT * 3):
        dialogue.turn("repeat", context)
    skill = dialogue.conversations.take(context["conversation_id"]).skill
    assert len(skill.ctx.history) <= HISTORY_KEPT


def test_the_timed_step_is_reworded_for_a_satellite(dialogue):
    context = dialogue.turn("my legs are numb right now", None).context()
    for _ in range(2):
        dialogue.turn("next", context)
    last = dialogue.turn("next", context).text
    assert "Step 4 of 4" in last and "then say next" in last and "check back" not in last
    assert "Has the feeling come back" in dialogue.turn("next", context).text


def test_a_transcript_is_understood_as_local_speech_is(dialogue):
    """The n-best rules of the listener: a red flag heard first raises the alarm, one heard only
    in a few less likely transcripts is noise; else the one the matcher understands best."""
    text, match = dialogue.understand(["my face is drooping", "my face is grouping"])
    assert text == "my face is drooping" and match.intent == "emergency"
    text, match = dialogue.understand(["why are my legs numb", "why are my legs numb now",
                                       "my face is drooping"])
    assert match.intent == "causes_overview"
    text, match = dialogue.understand(["what is sore circulation", "what is poor circulation"])
    assert match.intent == "cause_info"


def test_the_texts_file_is_checked(tmp_path):
    good = {"schema_version": 1, "routine_timer": "Say next after {duration}.",
            "describe": {"handle": "a", "domain_model": "b", "whisper_model": "c"}}
    assert ServiceTexts.from_dict("t.toml", good).routine_timer == "Say next after {duration}."
    from knowledge.errors import DataFileError

    with pytest.raises(DataFileError, match="routine_timer"):
        ServiceTexts.from_dict("t.toml", {**good, "routine_timer": "no placeholder"})
    with pytest.raises(DataFileError, match="surprise"):
        ServiceTexts.from_dict("t.toml", {**good, "surprise": 1})

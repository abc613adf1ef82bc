import pytest

from intents.meaning import default_matcher
from intents.model import Match
from knowledge import load_knowledge
from voice.dialogue.responses import load_responses
from voice.dialogue.skill import Reply, Skill


@pytest.fixture()
def skill():
    return Skill(default_matcher(), load_knowledge(), load_responses(), emergency_number="999")


def test_disclaimer_once_per_conversation(skill):
    kb = load_knowledge()
    first = skill.respond("why are my legs numb")
    second = skill.respond("what is a slipped disc")
    assert kb.disclaimer in first.text
    assert kb.disclaimer not in second.text


def _to_the_last_part(skill, reply):
    """Say "more" until the answer's last part; that reply."""
    for _ in range(10):
        following = skill.respond("more")
        if following.text.startswith("That's all"):
            return reply
        reply = following
    raise AssertionError("the answer never ended")


def test_follow_up_offer_fits_the_cause(skill):
    reply = skill.respond("what is multiple sclerosis")
    last = _to_the_last_part(skill, reply)
    assert last.text.endswith("Do you want to know which tests they may do?")
    assert skill.respond("yes").intent == "diagnostics"


def test_most_useful_fact_first_and_follow_up_offer(skill):
    reply = skill.respond("tell me about atherosclerosis")
    cause = load_knowledge().cause("atherosclerosis")
    assert reply.text.startswith(cause.summary)
    last = _to_the_last_part(skill, reply)
    assert last.text.endswith("Do you want to know how to prevent it?")
    prevention = skill.respond("yes")
    assert prevention.intent == "prevention"
    assert prevention.text.startswith(load_knowledge().prevention.first)


def test_repeat_and_last_cause_context(skill):
    first = skill.respond("what is raynaud's disease")
    assert skill.respond("say that again").text == first.text
    follow = skill.respond("what should i do about it")
    assert follow.intent == "cause_info"
    assert load_knowledge().cause("raynaud").action in follow.text


def test_unknown_offers_three_numbered_topics_and_understands_the_number(skill):
    reply = skill.respond("set an alarm for seven")
    assert "one, two or three" in reply.text and reply.intent == "unknown"
    chosen = skill.respond("two")
    assert chosen.intent == "relief_now"


def test_middling_match_is_confirmed_then_answered_on_yes(skill):
    match = skill.matcher.match("raynaud feet")
    reply = skill.handle(match.__class__(intent="cause_info", confidence=0.65, slots={"cause": "raynaud"},
                                         needs_confirmation=True, guess="cause_info"))
    assert reply.text == "Did you mean Raynaud's disease?"
    answer = skill.respond("yes")
    assert answer.intent == "cause_info"
    assert answer.text.startswith(load_knowledge().cause("raynaud").summary)


def test_no_to_a_confirmation_gives_the_menu(skill):
    skill.handle(skill.matcher.match("what is a slipped disc").__class__(
        intent="prevention", confidence=0.6, needs_confirmation=True, guess="prevention"))
    assert "one, two or three" in skill.respond("no").text


def test_emergency_uses_the_configured_number_and_interrupts(skill):
    skill.respond("how can i prevent numb legs")
    reply = skill.respond("my face is drooping and i can't talk properly")
    assert reply.intent == "emergency" and reply.stop_speaking
    assert reply.text.startswith("Call 999 now.")
    assert skill.respond("repeat").text == reply.text


@pytest.mark.parametrize("text, message", [
    ("", "didn't catch"), ("   ", "didn't catch"), ("\U0001F9B5", "didn't catch"),
    ("\u0423 \u043c\u0435\u043d\u044f \u043d\u043e\u0433\u0438", "only understand English"),
    ("why " * 30_000, "too long"),
])
def test_unusable_input_gets_a_clear_message(skill, text, message):
    reply = skill.respond(text)
    assert message in reply.text and not reply.usable


def test_speech_commands_and_goodbye(skill):
    assert skill.respond("speak slower").speech_change == "slower"
    assert skill.respond("louder please").speech_change == "louder"
    bye = skill.respond("goodbye")
    assert bye.end and bye.intent == "goodbye"


def test_asking_for_a_different_voice(skill):
    for said in ("use a different voice", "change your voice", "another voice please",
                 "your voice is hard to understand"):
        reply = skill.respond(said)
        assert (reply.intent, reply.speech_change) == ("change_voice", "change_voice"), said
        assert "different voice" in reply.text


def test_a_reply_as_understand_json_prints_it():
    match = Match(intent="cause_info", confidence=0.87654, slots={"cause": "sciatica"},
                  matched="tell me about {cause}", needs_confirmation=True)
    record = Reply("Sciatica is ...", "cause_info", match).to_json()
    assert list(record.items()) == [("intent", "cause_info"), ("slots", {"cause": "sciatica"}),
                                    ("confidence", 0.877), ("confirm", True),
                                    ("reply", "Sciatica is ...")]
    # No match of its own: the fallback's (understand --wav's best transcript), else none.
    unusable = Reply("That was empty.", "unknown", usable=False)
    assert unusable.to_json() == {"intent": "unknown", "slots": {}, "confidence": 0.0,
                                  "confirm": False, "reply": "That was empty."}
    assert unusable.to_json(fallback=match)["slots"] == {"cause": "sciatica"}
    assert Reply("Hello.", "help", match).to_json(fallback=Match("no", 0.1))["confidence"] == 0.877


def test_an_unsure_goodbye_is_asked_about_and_a_red_flag_still_comes_first(skill):
    asked = skill.respond("exit", sure=False)
    assert asked.text.startswith("Do you want to stop?") and not asked.end
    assert skill.respond("no").text == "Okay, let's carry on." and not skill.ctx.ending_asked
    skill.respond("goodbye", sure=False)
    assert skill.respond("not sure").text == "Okay, let's carry on."
    skill.respond("exit", sure=False)
    assert skill.respond("my face is drooping").intent == "emergency"
    skill.respond("goodbye", sure=False)
    assert skill.respond("yes please").end
    assert skill.respond("goodbye").end  # typed, or heard by both recognisers: at once

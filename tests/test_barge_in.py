"""Barge-in: the rule (pure) and the spoken routine cut short through real audio devices."""

from __future__ import annotations

import time

import pytest

from tests.listen_harness import ListenRun, trace_marks
from tests.speech import pcm16, silence, speak, to_16k
from voice.runtime.barge_in import BargeIn

# Barge-in's mechanics on the domain recogniser alone (Klatt voices, which Whisper tiny hears
# poorly; a red flag Whisper hears over an answer: tests/test_listener_fusion.py).
ASSISTANT = ["--engine", "sphinx", "--no-whisper", "--voice", "en-us+klatt"]


@pytest.mark.parametrize("heard", ["stop", "Stop it", "stop talking", "be quiet", "that's enough",
                                   "hey numb legs", "hey numb", "hey numb legs what is next"])
def test_interrupting_utterances(heard):
    assert BargeIn("hey numb legs").interrupts(heard)


@pytest.mark.parametrize("heard", ["", "stop the routine", "too", "tell", "what causes numb legs",
                                   "my legs feel numb", "next", "bus stop near my house"])
def test_utterances_that_do_not_interrupt(heard):
    # "stop" inside a sentence is not a command: the assistant's own words ("say stop at any
    # time"), if the microphone hears them, must not cut it off.
    assert not BargeIn("hey numb legs").interrupts(heard)


def test_words_after_the_wake_phrase_are_kept():
    barge = BargeIn("hey numb legs")
    assert barge.wake_rest("hey numb legs what is next") == "what is next"
    assert barge.wake_rest("what is next") is None
    assert BargeIn("computer").wake_rest("computer stop") == "stop"


def _spoken(text: str, tmp_path, name: str, voice: str = "en-us+klatt", speed: int = 140) -> bytes:
    return pcm16(to_16k(speak(text, tmp_path / f"{name}.wav", voice, speed),
                        tmp_path / f"{name}16.wav"))


@pytest.mark.slow
@pytest.mark.audio
def test_spoken_routine_with_barge_in(tmp_path):
    """Start the routine by voice, step through it, cut a step short with "stop", repeat it."""
    say = {name: _spoken(text, tmp_path, name) for name, text in {
        "start": "hey numb legs", "question": "my legs are numb what should i do",
        "next": "next", "stop": "stop", "repeat": "repeat"}.items()}
    run = ListenRun(tmp_path, None, [*ASSISTANT, "listen"], pace_speaker=True)
    try:
        assert run.wait_for("numb-legs is ready", timeout=60), run.stdout
        run.say(say["start"] + silence(0.3) + say["question"])
        assert run.wait_for("Let's wake your legs up", timeout=30), run.stdout
        run.wait_speaker_quiet(quiet_s=1.0, timeout=40)

        def step(expected: str):
            """Say "next"; if it is not heard, say it once more with the wake phrase, as a
            person would (a one-word command is sometimes missed; that is not under test)."""
            clip = run.say(say["next"])
            if not run.wait_for(expected, timeout=8):
                clip = run.say(say["start"] + silence(0.3) + say["next"])
            assert run.wait_for(expected, timeout=20), run.stdout
            return clip

        step("wiggle your toes")
        run.wait_speaker_quiet(quiet_s=1.0, timeout=40)

        clip = step("massage your legs")
        clip.done.wait(10)
        began = run.first_sound_after(clip.ended_at, timeout=10)
        assert began is not None, f"no sound from the speaker:\n{run.stdout}"
        time.sleep(max(0.0, began + 1.5 - time.monotonic()))  # well into a ten-second step
        stop = run.say(say["stop"])
        assert stop.done.wait(10)
        time.sleep(4.0)
        # What the speaker still played after "stop": the tail of the speech, then the short
        # rising "listening" sound. Uncut, the step had about eight seconds to go.
        after = run.sound_seconds_between(stop.ended_at, stop.ended_at + 4.0)
        assert after < 1.2, f"{after:.2f} s of sound after stop"

        # Still listening after the barge-in: no wake phrase needed.
        run.say(say["repeat"])
        assert run.wait_count("Next, massage your legs", 2, timeout=20), run.stdout
        run.wait_speaker_quiet(quiet_s=1.0, timeout=40)
    finally:
        stderr = run.stop()
    assert "Traceback" not in stderr, stderr
    # Barge-in only cut the speech: "stop" was not taken as "stop the routine".
    assert "I've stopped" not in run.stdout, run.stdout


@pytest.mark.slow
@pytest.mark.audio
def test_a_red_flag_said_over_an_answer_cuts_it_and_gets_emergency_advice(tmp_path):
    """No wake phrase, no "stop": a red flag said while the assistant speaks is heard at once."""
    say = {name: _spoken(text, tmp_path, name) for name, text in {
        "start": "hey numb legs", "question": "why are my legs numb",
        "flag": "my face is drooping"}.items()}
    run = ListenRun(tmp_path, None, [*ASSISTANT, "--emergency-number", "999", "listen"],
                    pace_speaker=True)
    try:
        assert run.wait_for("numb-legs is ready", timeout=60), run.stdout
        question = run.say(say["start"] + silence(0.3) + say["question"])
        assert question.done.wait(10)
        began = run.first_sound_after(question.ended_at, timeout=15)
        assert began is not None, f"no sound from the speaker:\n{run.stdout}"
        time.sleep(max(0.0, began + 2.0 - time.monotonic()))  # well into a long answer
        run.say(say["flag"])
        assert run.wait_for("Call 999 now", timeout=20), run.stdout
    finally:
        stderr = run.stop()
    assert "Traceback" not in stderr, stderr


def test_the_assistant_s_own_emergency_advice_heard_back_is_not_a_new_red_flag():
    """Echo guard: the reply being said, heard back through the microphone, is not a barge-in."""
    from rapidfuzz import fuzz

    from intents.normalize import normalize
    from voice.runtime.listener import _ECHO_SIMILARITY

    saying = "Call 999 now. This may be a stroke, and every minute matters."
    heard = "this may be a stroke and every minute matters"
    assert fuzz.partial_ratio(normalize(heard), normalize(saying)) >= _ECHO_SIMILARITY
    assert fuzz.partial_ratio(normalize("my face is drooping"), normalize(saying)) < _ECHO_SIMILARITY


@pytest.mark.parametrize("barge_in", [True, False], ids=["barge-in", "no-barge-in"])
def test_questions_are_not_taken_before_the_replys_last_sound_has_played(tmp_path, barge_in):
    # The microphone "reopens" for questions when the reply is over: if that came before the
    # speaker had played the reply's end, its last words would come back as a question.
    trace = tmp_path / "trace.jsonl"
    question = pcm16(to_16k(speak("what is a slipped disc", tmp_path / "q.wav", "en-us+klatt2"),
                            tmp_path / "q16.wav"))
    args = [*ASSISTANT, "listen", "--always-listen", "--no-earcons"]
    run = ListenRun(tmp_path, None, args + ([] if barge_in else ["--no-barge-in"]),
                    pace_speaker=True, env={"NUMB_LEGS_TRACE": str(trace)})
    try:
        assert run.wait_for("numb-legs is listening", timeout=90), run.stdout
        clip = run.say(question)
        clip.done.wait(15)
        assert run.first_sound_after(clip.ended_at or 0.0, 15) is not None, run.stdout
        run.wait_speaker_quiet(quiet_s=2.0, timeout=60)
    finally:
        run.stop()
    marks = trace_marks(trace, "questions_open")
    last_sound = max(when for when, sound in run.speaker.sound_blocks if sound)
    # A block read at `when` is playing for the next 1024 bytes (23 ms at 22050 Hz).
    played_out = last_sound + 1024 / 44100
    assert marks and marks[-1] >= played_out, (marks[-1] - played_out, run.stdout)

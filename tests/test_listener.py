"""The whole hands-free loop for real: virtual microphone -> recognition -> answer -> speaker."""

from __future__ import annotations

import numpy as np
import pytest
from rapidfuzz import fuzz

from tests.listen_harness import ListenRun
from tests.speech import pcm16, silence, speak, to_16k
from voice.asr.recognizer import transcribe_bytes
from voice.audio.resample import resample

TTS_RATE = 22050
ASSISTANT = ["--engine", "sphinx", "--voice", "en-us+klatt"]


def spoken(text: str, tmp_path, name: str) -> bytes:
    return pcm16(to_16k(speak(text, tmp_path / f"{name}.wav"), tmp_path / f"{name}16.wav"))


def heard_words(audio: np.ndarray) -> str:
    """What the recorded answer says, transcribed with the open-vocabulary recogniser."""
    from voice.asr.sphinx_engine import SphinxRecognizer

    pcm = resample(audio.astype(np.float64), TTS_RATE, 16000).astype(np.int16).tobytes()
    return transcribe_bytes(SphinxRecognizer("open"), pcm)


def key_words_found(transcript: str, words: list[str]) -> int:
    heard = transcript.split()
    return sum(any(fuzz.ratio(word, other) >= 75 for other in heard) for word in words)


@pytest.mark.audio
def test_wake_phrase_question_answer_and_follow_up(tmp_path):
    audio = (silence(1.0) + spoken("hey numb legs", tmp_path, "wake") + silence(0.3)
             + spoken("why are my legs numb", tmp_path, "q1") + silence(5.0)
             # A follow-up within the listening window, without the wake phrase.
             + spoken("what is a slipped disc", tmp_path, "q2") + silence(2.0))
    run = ListenRun(tmp_path, audio, [*ASSISTANT, "listen"])
    try:
        assert run.wait_for("You said:", timeout=60), run.stdout
        assert run.wait_for("The most common reason is sitting", timeout=30), run.stdout
        assert run.wait_count("You said:", 2, timeout=30), run.stdout
        assert run.wait_for("The soft centre of a disc", timeout=30), run.stdout
        run.wait_speaker_quiet()
    finally:
        stderr = run.stop()
    assert run.stdout.count("You said:") == 2, run.stdout
    assert "Traceback" not in stderr, stderr
    recorded = run.speaker_audio()
    assert len(recorded) > TTS_RATE * 5, "the answer was not played"
    transcript = heard_words(recorded)
    found = key_words_found(transcript, ["sitting", "lying", "nerves", "legs", "numbness",
                                         "blood", "vessels", "spine", "neurologist"])
    assert found >= 3, transcript


@pytest.mark.audio
def test_always_listening_answers_without_wake_phrase(tmp_path):
    audio = silence(0.8) + spoken("what is a slipped disc", tmp_path, "q") + silence(1.0)
    run = ListenRun(tmp_path, audio, [*ASSISTANT, "listen", "--always-listen"])
    try:
        assert run.wait_for("You said:", timeout=60), run.stdout
        run.wait_speaker_quiet(quiet_s=2.5)
    finally:
        run.stop()
    assert run.stdout.count("You said:") == 1, run.stdout
    assert "slipped disc" in run.stdout.lower() or "disc" in run.stdout, run.stdout


@pytest.mark.audio
def test_wake_phrase_alone_while_listening_is_not_a_question(tmp_path):
    # Not heard the first time, a person says the wake phrase again before the question; while
    # the assistant is already listening "hey numb legs" is an address, not "why are my legs numb".
    audio = (silence(0.8) + spoken("hey numb legs", tmp_path, "wake") + silence(1.5)
             + spoken("what is a slipped disc", tmp_path, "q") + silence(1.0))
    run = ListenRun(tmp_path, audio, [*ASSISTANT, "listen", "--always-listen"])
    try:
        assert run.wait_for("You said:", timeout=60), run.stdout
        run.wait_speaker_quiet(quiet_s=2.5)
    finally:
        run.stop()
    # One question heard and answered, and it was not the wake phrase (what the question was
    # heard as depends on the recogniser, not under test here).
    assert run.stdout.count("You said:") == 1, run.stdout
    said = run.stdout.split("You said:", 1)[1].splitlines()[0].strip()
    assert "what" in said and "numb legs" not in said, run.stdout
    assert "The most common reason is sitting" not in run.stdout, run.stdout


@pytest.mark.audio
def test_no_microphone_falls_back_to_typed_chat(tmp_path):
    import os
    import subprocess
    import sys

    from tests.audio_in_env import speaker_only_config
    from tests.listen_harness import ROOT

    config = speaker_only_config(tmp_path)
    env = dict(os.environ, ALSA_CONFIG_PATH=str(config), NUMB_LEGS_CACHE_DIR=str(tmp_path / "c"))
    result = subprocess.run([sys.executable, "-m", "voice", "listen"], input="what is ms\ngoodbye\n",
                            capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "No microphone was found, so type your questions instead." in result.stdout
    assert "Multiple sclerosis" in result.stdout and "Take care" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.audio
def test_microphone_that_stops_is_reopened_and_listening_goes_on(tmp_path):
    import time

    first = silence(0.8) + spoken("what is a slipped disc", tmp_path, "q1") + silence(1.0)
    run = ListenRun(tmp_path, first, [*ASSISTANT, "listen", "--always-listen"],
                    trailing_silence_s=0.0)
    try:
        assert run.wait_for("You said:", timeout=60), run.stdout
        # The device now sends nothing (as when unplugged): the assistant says so and reopens.
        assert run.wait_for("Trying to open the microphone again", timeout=30), run.stdout
        run.mic.wait(5)
        second = silence(0.5) + spoken("tell me about atherosclerosis", tmp_path, "q2") + silence(20)
        from tests.listen_harness import MIC_RATE, MIC_UNIT

        run.mic.play(second, MIC_UNIT, 2 * MIC_RATE)
        deadline = time.monotonic() + 60
        while run.stdout.count("You said:") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stderr = run.stop()
    assert run.stdout.count("You said:") == 2, run.stdout
    assert "Fatty deposits" in run.stdout, run.stdout
    assert "Traceback" not in stderr


@pytest.mark.audio
def test_without_wake_phrase_nothing_happens_until_enter(tmp_path):
    import time

    question = spoken("what is a slipped disc", tmp_path, "q")
    # Asked once without the wake phrase (ignored), then again after Enter (answered).
    audio = silence(0.8) + question + silence(4.0) + question + silence(2.0)
    run = ListenRun(tmp_path, audio, [*ASSISTANT, "listen", "--follow-up", "6"])
    try:
        assert run.wait_for("numb-legs is ready", timeout=60), run.stdout
        time.sleep(3.5)  # the first question has been heard and ignored by now
        assert "You said:" not in run.stdout, run.stdout
        run.proc.stdin.write("\n")  # push to talk
        run.proc.stdin.flush()
        assert run.wait_for("You said:", timeout=30), run.stdout
        assert run.wait_for("Want to know more", timeout=30), run.stdout
        # The answer ends with a question; silence gets one reprompt, then it waits again.
        assert run.wait_for("I'm still listening", timeout=30), run.stdout
        assert run.wait_for("Waiting. Say the wake phrase", timeout=30), run.stdout
    finally:
        run.stop()
    assert run.stdout.count("I'm still listening") == 1

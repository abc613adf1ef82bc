"""The hands-free loop: its state machine in-process on fake devices and audio time (milliseconds),
then the whole loop for real: virtual microphone -> recognition -> answer -> speaker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from rapidfuzz import fuzz

from knowledge.diary.store import DiaryStore
from knowledge.loader import load_knowledge
from tests.listen_harness import ListenRun
from tests.listener_fakes import (
    AudioTime,
    FakeSpeaker,
    Printed,
    ScriptedMicrophone,
    ScriptedRecognizer,
    Timeline,
)
from tests.speech import pcm16, silence, speak, to_16k
from voice.asr.recognizer import transcribe_bytes
from voice.asr.second_opinion import SecondOpinion
from voice.audio.resample import resample
from voice.dialogue.responses import load_responses
from voice.dialogue.skill import Skill
from voice.runtime.listener import FOLLOW_UP_S, Listener, ListenOptions
from voice.runtime.voice_output import Voice

# -- the state machine, in-process ------------------------------------------------------------
# The endpointer ends an utterance once it has had 400 ms of silence (ListenOptions' default):
# the block that completes it starts 390 ms after the sound stopped. Every figure here is in
# audio time, so it does not depend on how busy the machine is.
END_S = 0.39
SLACK_S = 0.10


def heard_at_the_end(at: float, end: float) -> bool:
    """Did something happen AT, when the endpointer should have declared an utterance ended at
    END over (a block's rounding, and a few blocks of slack)?"""
    return end + END_S - 0.01 <= at <= end + END_S + SLACK_S


@pytest.fixture(scope="module")
def matcher():
    from intents.meaning import default_matcher

    return default_matcher()


class Loop:
    """A Listener over a scripted microphone and recogniser, a fake speaker and audio time; the
    skill, voice, endpointer, wake-phrase and barge-in rules are the real ones."""

    def __init__(self, tmp_path: Path, matcher, whisper: Callable[[Loop], object] | None = None,
                 lag_s: float | None = None, **options) -> None:
        """WHISPER(loop), when given, makes the second recogniser (a ScriptedWhisper); LAG_S:
        the listener reads the microphone that far behind (ScriptedMicrophone)."""
        self.timeline = Timeline()
        self.time = AudioTime(self.timeline)
        self.speaker = FakeSpeaker(self.time)
        self.voice = Voice(self.speaker, out=Printed(self.time))
        self.mic = ScriptedMicrophone(self.time, lambda: self.voice.speaking, self.speaker,
                                      lag_s)
        skill = Skill(matcher, load_knowledge(), load_responses(), "999", clock=self.time,
                      diary=DiaryStore(tmp_path / "diary.db"))
        second = None
        if whisper is not None:
            second = SecondOpinion(lambda: whisper(self))  # type: ignore[arg-type, return-value]  # a ScriptedWhisper
            assert second.wait_ready(5.0), second.failure()
        self.listener = Listener(lambda: self.mic, ScriptedRecognizer(self.mic), skill, self.voice,
                                 ListenOptions(**options), clock=self.time, second=second)

    def run(self) -> Timeline:
        assert self.listener.run() is True, self.timeline.dump()
        return self.timeline


def test_wake_phrase_listening_answer_follow_up_then_waiting_again(tmp_path, matcher):
    loop = Loop(tmp_path, matcher)
    (loop.mic.silence(1.0)
     .say("why are my legs numb").silence(1.0)  # no wake phrase yet: not for the assistant
     .say("hey numb legs").silence(0.6)         # alone: it only starts listening
     .say("why are my legs numb").until_speaking().until_quiet()
     .silence(2.0).say("what is a slipped disc")  # a follow-up: no wake phrase needed
     .until_speaking().until_quiet()
     .silence(2 * FOLLOW_UP_S + 4.0)
     .say("what is a slipped disc").silence(2.0))  # waiting again: not answered
    timeline = loop.run()
    log = timeline.dump()
    ends = [e.at for e in timeline.of("said_end")]
    starts = [e.at for e in timeline.of("said")]

    assert timeline.events[0].kind == "print" and "numb-legs is ready" in timeline.events[0].text
    # Waiting: the first question goes unanswered, without a sound; the wake phrase alone gets
    # one rising sound once the endpointer has heard it end.
    (wake,) = timeline.of("sound", "listening")
    assert heard_at_the_end(wake.at, ends[1]), log
    heard = timeline.of("print", "You said:")
    assert [e.text for e in heard] == ["You said: why are my legs numb",
                                       "You said: what is a slipped disc"], log
    assert heard_at_the_end(heard[0].at, ends[2]), log
    answer = timeline.first("speak", "The most common reason is sitting")
    assert answer.at == heard[0].at, log
    # The follow-up came inside the window after the answer had been said in full.
    first_done = timeline.first("spoken", "The most common reason is sitting")
    assert first_done.at < starts[3] < first_done.at + FOLLOW_UP_S, log
    assert heard_at_the_end(heard[1].at, ends[3]), log
    assert not timeline.of("cut"), log
    # Then silence. A reply that ends on a question is asked again once, a window later; after
    # a window of silence, the falling sound and the way back to waiting.
    second_done = timeline.first("spoken", after=heard[1].at)
    last = second_done
    if second_done.text.rstrip().endswith("?"):
        (reprompt,) = timeline.of("speak", "I'm still listening")
        assert reprompt.at == pytest.approx(second_done.at + FOLLOW_UP_S, abs=SLACK_S), log
        last = timeline.first("spoken", "I'm still listening")
    else:
        assert not timeline.of("speak", "I'm still listening"), log
    done = timeline.first("sound", "done")
    assert done.at == pytest.approx(last.at + FOLLOW_UP_S, abs=SLACK_S), log
    waiting = timeline.first("print", "Waiting. Say the wake phrase")
    assert waiting.at == done.at, log
    # Waiting again: the same question is not answered without the wake phrase.
    assert starts[4] > waiting.at and len(timeline.of("print", "You said:")) == 2, log


def test_wake_phrase_and_question_in_one_breath(tmp_path, matcher):
    loop = Loop(tmp_path, matcher)
    loop.mic.silence(0.5).say("hey numb legs what is a slipped disc").until_speaking()
    loop.mic.until_quiet().silence(1.0)
    timeline = loop.run()
    log = timeline.dump()
    assert [e.text for e in timeline.of("print", "You said:")] == \
        ["You said: what is a slipped disc"], log
    # The rising sound, then the one that says "understood", then the answer.
    assert [e.text for e in timeline.of("sound")][:2] == ["listening", "understood"], log
    assert timeline.of("spoken", "disc"), log


def test_a_red_flag_said_over_an_answer_cuts_it_and_gets_emergency_advice(tmp_path, matcher):
    loop = Loop(tmp_path, matcher)
    (loop.mic.silence(0.5).say("hey numb legs why are my legs numb").until_speaking()
     .silence(1.0).say("what is a slipped disc")  # anything else said over it is dropped
     .silence(1.0).say("my face is drooping").until_quiet().silence(1.0))
    timeline = loop.run()
    log = timeline.dump()
    answer = timeline.first("speak", "The most common reason is sitting")
    flag_end = timeline.first("said_end", "my face is drooping").at
    cut = timeline.first("cut", "The most common reason is sitting")
    # Not cut by the question said over it; cut once the red flag's utterance has ended.
    assert answer.at < flag_end and heard_at_the_end(cut.at, flag_end), log
    assert timeline.first("sound", "listening", after=answer.at).at == cut.at, log
    advice = timeline.first("speak", "Call 999 now", after=flag_end)
    assert advice.at - cut.at < SLACK_S, log
    assert timeline.first("spoken", "Call 999 now").at > advice.at, log  # said to the end
    assert not [e for e in timeline.of("print") if "slipped disc" in e.text.lower()], log


def test_stop_cuts_the_answer_on_the_partial_result_and_is_not_a_question(tmp_path, matcher):
    loop = Loop(tmp_path, matcher)
    (loop.mic.silence(0.5).say("hey numb legs why are my legs numb").until_speaking()
     .silence(2.0).say("stop", seconds=0.5).silence(3.0))
    timeline = loop.run()
    log = timeline.dump()
    stop = timeline.first("said", "stop")
    cut = timeline.first("cut", "The most common reason is sitting")
    # Cut while "stop" is still being said: on the partial result, not at the utterance's end.
    assert stop.at < cut.at < timeline.first("said_end", "stop").at, log
    assert timeline.first("sound", "listening", after=stop.at).at == cut.at, log
    assert len(timeline.of("speak")) == 1 and len(timeline.of("print", "You said:")) == 1, log


@pytest.mark.parametrize("lag_s", [None, 0.0, 1.0], ids=["unsaid", "no-lag", "1s-behind"])
def test_what_was_captured_while_speaking_is_not_a_question_however_late_it_is_read(
        tmp_path, matcher, lag_s):
    """The loop can fall behind the microphone (hearing a long utterance again takes a second):
    blocks read after the answer ended but captured while it played are its echo, not a
    question, as when the microphone is paused. Read without a lag, the same words are one."""
    loop = Loop(tmp_path, matcher, lag_s=lag_s)
    (loop.mic.silence(0.5).say("hey numb legs why are my legs numb").until_speaking()
     .until_quiet().say("what is a slipped disc", seconds=0.7).silence(4.0))
    timeline = loop.run()
    log = timeline.dump()
    answered = [e for e in timeline.of("print", "You said:") if "slipped disc" in e.text.lower()]
    assert len(answered) == (0 if lag_s == 1.0 else 1), log


def test_a_red_flag_said_while_waiting_gets_emergency_advice(tmp_path, matcher):
    """No wake phrase: a red flag is heard at any moment (README), waiting included."""
    loop = Loop(tmp_path, matcher)
    (loop.mic.silence(1.0).say("my legs are numb").silence(1.0)  # not for the assistant
     .say("my face is drooping").until_speaking().until_quiet().silence(1.0))
    timeline = loop.run()
    log = timeline.dump()
    flag_end = timeline.first("said_end", "my face is drooping").at
    advice = timeline.first("speak", "Call 999 now")
    assert heard_at_the_end(advice.at, flag_end), log
    assert [e.text for e in timeline.of("print", "You said:")] == ["You said: my face is drooping"]


# -- the whole loop on real audio devices -----------------------------------------------------

TTS_RATE = 22050
# The loop's mechanics on the domain recogniser alone, which hears these Klatt voices well (Whisper
# tiny.en hears them poorly: "tell me about atherosclerosis" came out "tester ocularosis"). The
# loop with Whisper beside it, on real devices: test_whisper_beside_the_domain_recogniser_...
ASSISTANT = ["--engine", "sphinx", "--no-whisper", "--voice", "en-us+klatt"]


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


@pytest.mark.slow
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


@pytest.mark.slow
@pytest.mark.audio
def test_whisper_beside_the_domain_recogniser_catches_a_red_flag_it_mishears(tmp_path):
    """The default hearing, for real: a plain espeak-ng voice the domain recogniser hears badly
    ("my face is drooping and my arm is weak" came out "my dairy see you are weak"), Whisper
    loading in the background, then the red flag without a wake phrase."""
    def plain(text: str, name: str) -> bytes:
        return pcm16(to_16k(speak(text, tmp_path / f"{name}.wav", "en-us+m3", 150),
                            tmp_path / f"{name}16.wav"))

    audio = silence(6.0) + plain("my face is drooping and my arm is weak", "flag") + silence(2.0)
    run = ListenRun(tmp_path, audio, ["--engine", "sphinx", "--voice", "en-us+klatt",
                                      "--emergency-number", "999", "listen"])
    try:
        assert run.wait_for("Call 999 now", timeout=90), run.stdout
    finally:
        stderr = run.stop()
    assert "Traceback" not in stderr, stderr
    assert "still loading" not in run.stdout, run.stdout  # six seconds are enough to load it


def _always_listening(audio: bytes, tmp_path) -> str:
    """What `listen --always-listen` printed for AUDIO, once it has answered and fallen quiet."""
    run = ListenRun(tmp_path, audio, [*ASSISTANT, "listen", "--always-listen"])
    try:
        assert run.wait_for("You said:", timeout=60), run.stdout
        run.wait_speaker_quiet(quiet_s=2.5)
    finally:
        run.stop()
    return run.stdout


@pytest.mark.slow
@pytest.mark.audio
def test_always_listening_answers_without_wake_phrase(tmp_path):
    out = _always_listening(silence(0.8) + spoken("what is a slipped disc", tmp_path, "q")
                            + silence(1.0), tmp_path)
    assert out.count("You said:") == 1, out
    assert "slipped disc" in out.lower() or "disc" in out, out


@pytest.mark.slow
@pytest.mark.audio
def test_a_damaged_voice_activity_model_is_said_once_and_listening_goes_on(tmp_path,
                                                                           monkeypatch):
    from voice.audio.voice_activity import REINSTALL, load_voice_activity

    damaged = tmp_path / "vad.bin"
    data = bytearray(load_voice_activity().path.read_bytes())
    data[1000] ^= 0x01
    damaged.write_bytes(bytes(data))
    monkeypatch.setenv("NUMB_LEGS_VAD_MODEL", str(damaged))
    out = _always_listening(silence(0.8) + spoken("what is a slipped disc", tmp_path, "q")
                            + silence(1.0), tmp_path)
    assert out.count(REINSTALL) == 1, out
    assert "by the sound level alone" in out, out
    assert out.count("You said:") == 1 and "disc" in out, out  # the level endpointer heard it


@pytest.mark.slow
@pytest.mark.audio
def test_wake_phrase_alone_while_listening_is_not_a_question(tmp_path):
    # Not heard the first time, a person says the wake phrase again before the question; while
    # the assistant is already listening "hey numb legs" is an address, not "why are my legs numb".
    out = _always_listening(silence(0.8) + spoken("hey numb legs", tmp_path, "wake")
                            + silence(1.5) + spoken("what is a slipped disc", tmp_path, "q")
                            + silence(1.0), tmp_path)
    # One question heard and answered, and it was not the wake phrase (what the question was
    # heard as depends on the recogniser, not under test here).
    assert out.count("You said:") == 1, out
    said = out.split("You said:", 1)[1].splitlines()[0].strip()
    assert "what" in said and "numb legs" not in said, out
    assert "The most common reason is sitting" not in out, out


@pytest.mark.audio
def test_no_microphone_falls_back_to_typed_chat(tmp_path):
    import os
    import subprocess
    import sys

    from tests.audio_in_env import speaker_only_config
    from tests.listen_harness import ROOT

    config = speaker_only_config(tmp_path)
    env = dict(os.environ, ALSA_CONFIG_PATH=str(config))
    result = subprocess.run([sys.executable, "-m", "voice", "listen"], input="what is ms\ngoodbye\n",
                            capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "No microphone was found, so type your questions instead." in result.stdout
    assert "Multiple sclerosis" in result.stdout and "Take care" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.slow
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
        # Until the answer, not only the transcript: stopping between the two lost the answer.
        while "Fatty deposits" not in run.stdout and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stderr = run.stop()
    assert run.stdout.count("You said:") == 2, run.stdout
    assert "Fatty deposits" in run.stdout, run.stdout
    assert "Traceback" not in stderr


@pytest.mark.slow
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

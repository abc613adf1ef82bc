"""Two recognisers on real audio: every engine hears the same audio the same way every time (in
one process and in many), and `understand --wav` fuses PocketSphinx with Whisper by default."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rapidfuzz import fuzz

from intents.meaning import default_matcher
from intents.safety import default_safety
from tests.speech import pcm16, silence, speak, to_16k
from tests.test_recognition import _korean, korean_model
from voice.asr.fusion import Hearing, fast_path, fuse, recheck, settle
from voice.asr.recognizer import transcribe_bytes
from voice.asr.second_opinion import AGAIN_SPEEDS, SecondOpinion, at_speed
from voice.asr.second_opinion import SecondHearing as Heard

ROOT = Path(__file__).resolve().parent.parent


def _spoken(text: str, tmp_path: Path, voice: str = "en-us+m3", speed: int = 150) -> bytes:
    return pcm16(to_16k(speak(text, tmp_path / "s.wav", voice, speed), tmp_path / "s16.wav"))


def _engines():
    from voice.asr.sphinx_engine import SphinxRecognizer
    from voice.asr.vosk_engine import VoskRecognizer
    from voice.asr.whisper_engine import WhisperRecognizer, load_prompt

    yield "sphinx domain", SphinxRecognizer("domain"), "en"
    yield "sphinx open", SphinxRecognizer("open"), "en"
    yield "vosk (Korean model)", VoskRecognizer(korean_model()), "ko"
    yield "whisper", WhisperRecognizer(prompt=load_prompt()), "en"


@pytest.mark.slow
def test_the_same_audio_gives_the_same_transcript_every_time_on_every_engine(tmp_path):
    english = _spoken("my face is drooping", tmp_path)
    other = _spoken("tell me a joke", tmp_path, "en-gb+f2", 170)
    korean = _korean("다리가 저려요", tmp_path)
    for name, recognizer, language in _engines():
        audio = english if language == "en" else korean
        heard = []
        for turn in range(6):
            heard.append(transcribe_bytes(recognizer, audio))
            if turn == 2:
                # Different speech and a loud burst in between: nothing carries over.
                transcribe_bytes(recognizer, other if language == "en" else _korean("안녕하세요", tmp_path))
                transcribe_bytes(recognizer, (b"\xff\x7f\x00\x80" * 8000) + silence(0.5))
        assert len(set(heard)) == 1 and heard[0], (name, heard)
        # A listener streams the audio and then finishes: the same final transcript.
        for start in range(0, len(audio), 3200):
            recognizer.accept(audio[start:start + 3200])
        assert recognizer.finish().text == heard[0], name


@pytest.mark.slow
def test_the_same_file_gives_the_same_transcript_in_one_process_and_in_another(tmp_path):
    wav = speak("why are my legs numb when I wake up", tmp_path / "q.wav", "en-gb+m3", 140)

    def run() -> list[str]:
        result = subprocess.run([sys.executable, "-m", "voice", "--engine", "sphinx",
                                 "transcribe", "--json", *[str(wav)] * 4],
                                capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert result.returncode == 0, result.stderr
        return [json.loads(line)["transcript"] for line in result.stdout.splitlines()]

    first, second = run(), run()
    assert len(set(first)) == 1 and first == second, (first, second)


@pytest.fixture(scope="module")
def understanding():
    return default_matcher(), default_safety()


def test_whisper_decides_red_flags_and_meaning(understanding):
    matcher, safety = understanding
    heard = fuse(("my dairy see you are weak",), Heard("My face is drooping and my arm is weak."),
                 matcher, safety)
    assert heard.source == "whisper" and safety.assess(heard.hypotheses[0]).alarm
    # The domain recogniser turns a question about football into domain words: rejected.
    heard = fuse(("do your okay", "what is the legs do go day"),
                 Heard("What time does the football start?"), matcher, safety)
    assert heard.hypotheses == ("What time does the football start?",)
    assert matcher.match(heard.hypotheses[0]).intent == "unknown"
    # ...but a question the domain recogniser understood beyond doubt stands when Whisper's
    # words mean nothing and it was guessing (in noise tiny.en makes nonsense of domain words).
    heard = fuse(("what causes numb legs",), Heard("Watch the cosy hum lakes.", -0.8), matcher,
                 safety)
    assert heard.hypotheses == ("what causes numb legs",) and heard.source == "domain"
    # A clear sentence Whisper was sure of is out of scope, whatever the domain recogniser made
    # of it ("tell me a joke" heard as "what are you", which means help).
    heard = fuse(("what are you",), Heard("Tell me a joke.", -0.28), matcher, safety)
    assert heard.hypotheses == ("Tell me a joke.",)
    # A red flag the domain recogniser alone heard, in a sentence Whisper heard as harmless,
    # does not raise the alarm: the domain model's alarms on harmless speech are many.
    heard = fuse(("my face is drooping",), Heard("My face is fine today, thanks."), matcher, safety)
    assert heard.source == "whisper"


def test_a_sure_short_command_takes_the_fast_path_unless_whisper_hears_a_red_flag(understanding):
    matcher, safety = understanding
    assert fast_path(("next",), matcher, safety)
    assert not fast_path(("goodbye",), matcher, safety)  # ends things: never from one hearing
    assert not fast_path(("why are my legs numb",), matcher, safety)
    assert settle(("next",), Heard("Next."), matcher, safety) == (
        fuse(("next",), None, matcher, safety), True)
    hearing, fast = settle(("next",), Heard("My leg is cold and blue and I can't move it."),
                           matcher, safety)
    assert fast and hearing.source == "whisper" and safety.assess(hearing.hypotheses[0]).alarm
    # Whisper heard nothing (a cough): only a sure command of the domain recogniser stands.
    assert fuse(("why are my legs numb",), Heard(""), matcher, safety).hypotheses == ()
    assert fuse(("next",), Heard(""), matcher, safety).hypotheses == ("next",)


def test_only_a_red_flag_is_taken_from_the_utterance_heard_again(understanding):
    _, safety = understanding
    question = Hearing(("What causes numb legs?",), "whisper")
    flagged = recheck(question, [Heard("What causes numb legs?"),
                                 Heard("My legs are numb and I can't move them.")], safety)
    assert flagged.source == "again" and safety.assess(flagged.hypotheses[0]).alarm
    # Heard as another question, or as nothing: the first hearing stands.
    assert recheck(question, [Heard("What causes numb eggs?"), Heard("")], safety) == question
    assert recheck(question, [], safety) == question
    # Already an alarm: what was heard first stands, though the hearing again differs.
    alarm = Hearing(("My face is drooping.",), "whisper")
    assert recheck(alarm, [Heard("My leg is cold and blue.")], safety) == alarm


def test_at_another_speed_sound_is_longer_or_shorter_and_its_pitch_moves_with_it():
    rate, seconds = 16000, 2.0
    tone = (8000 * np.sin(2 * np.pi * 440 * np.arange(int(rate * seconds)) / rate)).astype("<i2")
    for speed in AGAIN_SPEEDS:
        played = np.frombuffer(at_speed(tone.tobytes(), speed), dtype="<i2").astype(float)
        assert abs(played.size - tone.size / speed) <= 2, (speed, played.size)
        spectrum = np.abs(np.fft.rfft(played[2000:-2000]))
        peak = np.argmax(spectrum) * rate / (played.size - 4000)
        assert abs(peak - 440 * speed) < 3, (speed, peak)


@pytest.mark.slow
def test_whisper_hears_the_same_words_again_at_other_speeds(tmp_path):
    from voice.asr.whisper_engine import WhisperRecognizer, load_prompt

    second = SecondOpinion(lambda: WhisperRecognizer(prompt=load_prompt()))
    assert second.wait_ready(60)
    try:
        audio = _spoken("my legs have gone weak and numb since this morning", tmp_path)
        heard = second.hear_again(audio)
    finally:
        second.close()
    assert len(heard) == len(AGAIN_SPEEDS), heard
    for hearing in heard:
        assert fuzz.ratio(hearing.text.lower().strip(".!?"),
                          "my legs have gone weak and numb since this morning") >= 80, heard


@pytest.mark.slow
def test_understand_wav_fuses_both_recognisers_by_default(tmp_path):
    lines = ["my face is drooping and my arm is weak", "tell me a joke", "next"]
    voices = [("en-us+m3", 150), ("en-gb+f2", 140), ("en-us+klatt3", 130)]
    files = [str(speak(text, tmp_path / f"{i}.wav", *voices[i])) for i, text in enumerate(lines)]

    def understand(*options: str) -> list[dict]:
        result = subprocess.run([sys.executable, "-m", "voice", *options, "understand", "--json",
                                 "--wav", *files], capture_output=True, text=True, cwd=ROOT,
                                timeout=300)
        assert result.returncode == 0, result.stderr
        return [json.loads(line) for line in result.stdout.splitlines()]

    fused = understand()
    assert [r["engine"] for r in fused] == ["sphinx+whisper"] * 3, fused
    assert fused[0]["intent"] == "emergency" and fused[0]["heard_by"] == "whisper", fused[0]
    assert fused[1]["intent"] == "unknown", fused[1]
    assert fused[2]["intent"] == "next" and fused[2]["path"] == "fast", fused[2]
    alone = understand("--no-whisper")
    assert [r["engine"] for r in alone] == ["sphinx"] * 3 and "heard_by" not in alone[0]

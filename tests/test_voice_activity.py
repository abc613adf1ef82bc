"""Endpointing on the voice (Silero VAD, the ONNX file in silero-vad's wheel), on real espeak-ng speech:
the model is checked before it is trusted, sentences with pauses inside stay whole in silence
and in noise (voices, rates and sentences the hangover was not chosen on: bench/vad_pauses.py
used en-us+f3, en-gb+m3, en-us+klatt2, en+whisper, en-us+croak, en-gb-x-rp+f2), a knock does not
start an utterance, and the listener recognises an utterance at its last pause."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from bench.noise import mix_at_snr, noise_file, read_pcm
from tests.speech import pcm16, silence, speak, to_16k
from voice.audio.endpoint import Endpointer, SpeechEnd, SpeechPause, SpeechStart
from voice.audio.voice_activity import (
    FRAME_BYTES,
    REINSTALL,
    VoiceActivity,
    VoiceActivityError,
    load_voice_activity,
)

RATE = 16000
# Pauses at commas, where a slow speaker stops for a third of a second.
SENTENCES = ("my feet tingle, and, they feel cold",
             "should I see a doctor, or, wait a few days",
             "is it, my back, that causes this")
VOICES = (("en-us+m5", 105), ("en-gb-scotland+f4", 125), ("en-us+klatt4", 150),
          ("en-029+m2", 115))


@pytest.fixture(scope="module")
def model() -> VoiceActivity:
    return load_voice_activity()


def _speech(text: str, folder: Path, voice: str, speed: int) -> Path:
    return to_16k(speak(text, folder / "raw.wav", voice, speed), folder / f"{voice}-{speed}.wav")


def _ends(endpointer: Endpointer, audio: bytes) -> list[SpeechEnd]:
    return [event for event in endpointer.feed(audio) + endpointer.finish()
            if isinstance(event, SpeechEnd)]


def test_the_model_hears_speech_and_not_silence(model):
    assert model.path.name == "silero_vad.onnx"
    rng = np.random.default_rng(3)
    quiet = (rng.standard_normal(FRAME_BYTES // 2) * 30).astype("<i2").tobytes()
    assert model.probability(quiet) < 0.2


def test_a_damaged_or_missing_model_is_named_with_the_command_that_reinstalls_it(model,
                                                                                  tmp_path):
    damaged = tmp_path / "vad.bin"
    data = bytearray(model.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(VoiceActivityError) as caught:
        VoiceActivity(damaged)
    assert "damaged" in str(caught.value) and REINSTALL in str(caught.value)
    with pytest.raises(VoiceActivityError) as caught:
        VoiceActivity(tmp_path / "gone.bin")
    assert "cannot be read" in str(caught.value) and REINSTALL in str(caught.value)
    good = tmp_path / "copy.bin"
    shutil.copy2(model.path, good)
    assert VoiceActivity(good).path == good  # an intact copy of the same file is accepted


@pytest.mark.slow
def test_sentences_with_pauses_stay_whole_in_silence_and_in_noise(model, tmp_path):
    noise = noise_file(tmp_path / "pink.wav", 12.0)
    cut, delays = [], []
    for voice, speed in VOICES:
        for number, text in enumerate(SENTENCES):
            clean = _speech(text, tmp_path, voice, speed)
            for snr in (None, 10.0):
                mixed = tmp_path / f"{voice}-{speed}-{number}-mixed.wav"  # a name per clip:
                speech = read_pcm(clean if snr is None else  # mix_at_snr keeps what it made
                                  mix_at_snr(clean, noise, snr, mixed))
                loud = np.nonzero(np.abs(read_pcm(clean)) > 100)[0]
                audio = silence(0.6) + speech.tobytes() + silence(1.5)
                last_speech = int(0.6 * RATE) + int(loud[-1])
                model.reset()
                ends = _ends(Endpointer(end_silence_ms=400, voice=model), audio)
                if len(ends) != 1 or ends[0].sample < last_speech or ends[0].reason != "silence":
                    cut.append((voice, speed, snr, text, [e.sample for e in ends]))
                else:
                    delays.append((ends[0].sample - last_speech) / RATE * 1000)
    assert not cut, cut
    # The end is the silence after the sentence, not the end of the input (1.5 s later);
    # how soon it comes is a benchmark figure (bench/vad_pauses.py).
    assert max(delays) < 1000, delays


def test_a_knock_is_loud_but_starts_no_utterance(model):
    rng = np.random.default_rng(5)
    knock = np.zeros(RATE // 10)
    knock[:400] = rng.standard_normal(400) * 12000 * np.exp(-np.arange(400) / 60)
    audio = silence(1.0) + knock.astype("<i2").tobytes() + silence(1.0)
    model.reset()
    with_model = Endpointer(end_silence_ms=400, voice=model).feed(audio)
    assert not [event for event in with_model if isinstance(event, SpeechStart)]
    by_level = Endpointer(end_silence_ms=400, start_ms=30).feed(audio)
    assert [event for event in by_level if isinstance(event, SpeechStart)]


@pytest.mark.slow
def test_the_listener_recognises_an_utterance_at_its_last_pause(model, tmp_path):
    """What is heard at the pause that turns out to be the end is the final transcript; a pause
    the person speaks on after is recognised again whole."""
    from concurrent.futures import ThreadPoolExecutor

    from voice.asr.recognizer import transcript_of
    from voice.asr.sphinx_engine import SphinxRecognizer
    from voice.runtime.listener import _Utterances

    recognizer = SphinxRecognizer("domain")
    question = pcm16(_speech("why are my legs numb, when I sit at work", tmp_path, "en-us+m5",
                             120))
    audio = silence(0.5) + question + silence(1.5)
    pauses, guesses = [], ThreadPoolExecutor(1)
    model.reset()
    utterances = _Utterances(recognizer, 400, voice=model, streaming=False, guesses=guesses)
    ended = []
    original = utterances.endpointer.feed

    def watched(chunk: bytes) -> list:
        events = original(chunk)
        pauses.extend(event for event in events if isinstance(event, SpeechPause))
        return events

    utterances.endpointer.feed = watched  # type: ignore[method-assign] - to see the pauses
    decoded: list[int] = []
    whole = recognizer.whole

    def counted(clip: bytes):
        decoded.append(len(clip))
        return whole(clip)

    recognizer.whole = counted  # type: ignore[method-assign] - to count the decodes
    for start in range(0, len(audio), 1600):
        fed = utterances.feed(audio[start:start + 1600])
        if fed.ended is not None:
            ended.append((fed.ended, fed.audio))
    assert len(ended) == 1 and len(pauses) >= 2
    words, whole_audio = ended[0]
    # Recognised at each pause, and not once more at the end.
    assert decoded == [len(pause.audio) for pause in pauses]
    # The final words are those of the last pause's audio: the whole question, not the part
    # before the comma.
    assert words == list(transcript_of(recognizer, pauses[-1].audio).alternatives)
    loud = np.nonzero(np.abs(np.frombuffer(question, dtype="<i2")) > 100)[0]
    assert pauses[-1].sample > int(0.5 * RATE) + int(loud[-1])
    assert "sit" in words[0]
    assert len(whole_audio) > len(pauses[-1].audio)
    guesses.shutdown()


@pytest.mark.slow
def test_a_sure_short_command_ends_at_its_pause_and_a_question_waits(model, tmp_path):
    """"repeat" heard beyond doubt at the first pause is all there is: the utterance ends there,
    not after the whole hangover; a question waits it out (a person may go on after a comma).
    Whisper is handed the command with an event to wait for (the answer's first sound), the
    question without: the listener waits for Whisper's hearing of it."""
    from concurrent.futures import ThreadPoolExecutor

    from intents.meaning import default_matcher
    from intents.safety import default_safety
    from voice.asr.fusion import fast_path
    from voice.asr.sphinx_engine import SphinxRecognizer
    from voice.runtime.listener import _Utterances

    matcher, safety = default_matcher(), default_safety()
    recognizer = SphinxRecognizer("domain")

    def ended_after(text: str) -> tuple[list[str], float, bool]:
        said = pcm16(_speech(text, tmp_path, "en-gb-scotland", 150))
        loud = np.nonzero(np.abs(np.frombuffer(said, dtype="<i2")) > 100)[0]
        audio = silence(0.5) + said + silence(1.5)
        model.reset()
        guesses = ThreadPoolExecutor(1)
        waits: list[threading.Event | None] = []
        utterances = _Utterances(recognizer, 400, voice=model, streaming=False, guesses=guesses,
                                 sure=lambda heard: fast_path(heard, matcher, safety),
                                 second=lambda audio, after: waits.append(after))
        try:
            for start in range(0, len(audio), FRAME_BYTES):
                fed = utterances.feed(audio[start:start + FRAME_BYTES])
                if fed.ended is None:
                    # Real time: the guess has the 32 ms of a frame to finish, as it would.
                    future = utterances._guess  # noqa: SLF001 - the pause's recognition
                    if future is not None:
                        future[1].result()
                    continue
                at = (start + FRAME_BYTES) // 2
                assert waits == [fed.sounding] and fed.sure == (fed.sounding is not None)
                return fed.ended, (at - int(0.5 * RATE) - int(loud[-1])) * 1000 / RATE, fed.sure
        finally:
            guesses.shutdown()
        raise AssertionError(f"{text!r} never ended")

    words, command_ms, sure = ended_after("repeat")
    assert words and words[0] == "repeat" and sure, words
    question, question_ms, sure = ended_after("tell me about sciatica")
    assert not sure
    assert question_ms >= 400, question_ms  # the level's 400 ms at least, and the voice's
    assert command_ms < 300 and command_ms < question_ms - 150, (command_ms, question_ms)
    print(f"ended {command_ms:.0f} ms after a sure command, {question_ms:.0f} ms after a question")

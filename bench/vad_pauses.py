"""How long people (here: espeak-ng voices) stay silent inside a turn, as the voice activity model
hears it, and how soon each endpointer declares the end of a turn.

The hangover after the last voiced frame (voice/audio/endpoint.py, VOICE_END_MS) is chosen from
the first figure: longer than every silence inside a sentence. The second compares the end
decided with the model against the sound level alone, on the same audio, in silence and in a
low rumble (fan, traffic) at 10 dB SNR: the delay from the last sample of speech to the end, and
whether any turn was cut in two. Run: python bench/vad_pauses.py
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from itertools import product
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from tests.speech import pcm16, speak, to_16k  # noqa: E402 - after sys.path is set
from voice.audio.endpoint import Endpointer, SpeechEnd  # noqa: E402 - after sys.path is set
from voice.audio.voice_activity import FRAME_BYTES, VoiceActivity  # noqa: E402 - after sys.path is set

RATE = 16000
# Turns with commas (pauses inside a sentence) and turns of two or three sentences.
SENTENCES = ("my legs are numb, and, I am worried about it",
             "why are my legs numb when I sit, cross legged, at work",
             "tell me, about, sciatica please",
             "what helps, when my feet, go numb at night")
TURNS = ("I have numbness in my left leg. It started yesterday. Should I see a doctor?",
         "My legs went numb. What should I do?")
VOICES = (("en-us+f3", 130), ("en-gb+m3", 170), ("en-us+klatt2", 110), ("en+whisper", 140),
          ("en-us+croak", 150), ("en-gb-x-rp+f2", 120))
LISTENER_END_MS = 400  # the listener's energy window (voice/runtime/listener.py)


def _noisy(speech: np.ndarray, snr_db: float | None, seed: int) -> np.ndarray:
    x = np.concatenate([np.zeros(RATE // 2), speech.astype(np.float64), np.zeros(RATE * 2)])
    if snr_db is None:
        return x.astype(np.int16)
    rng = np.random.default_rng(seed)
    white = rng.standard_normal(len(x))
    # A rumble: white noise through a one-pole low-pass (a fan, traffic).
    rumble = np.zeros_like(white)
    for index in range(1, len(white)):
        rumble[index] = 0.98 * rumble[index - 1] + white[index]
    rumble -= rumble.mean()
    power = np.mean(speech.astype(np.float64) ** 2)
    rumble *= np.sqrt(power / 10 ** (snr_db / 10) / np.mean(rumble ** 2))
    return np.clip(x + rumble, -32768, 32767).astype(np.int16)


def longest_silence(model: VoiceActivity, audio: bytes) -> int:
    """The longest run of unvoiced frames between the first and the last voiced one, in ms."""
    model.reset()
    voiced = []
    for start in range(0, len(audio) - FRAME_BYTES + 1, FRAME_BYTES):
        voiced.append(model.probability(audio[start:start + FRAME_BYTES]) >= 0.5)
    marks = [index for index, on in enumerate(voiced) if on]
    if not marks:
        return -1
    longest = run = 0
    for on in voiced[marks[0]:marks[-1] + 1]:
        run = 0 if on else run + 1
        longest = max(longest, run)
    return longest * FRAME_BYTES // 2 * 1000 // RATE


def end_delays(audio: np.ndarray, speech_end: int, model: VoiceActivity | None) -> tuple[int, float]:
    """(utterances found, ms from the last speech sample to the first end)."""
    if model is not None:
        model.reset()
    endpointer = Endpointer(end_silence_ms=LISTENER_END_MS, voice=model)
    ends = [event for event in endpointer.feed(audio.tobytes()) + endpointer.finish()
            if isinstance(event, SpeechEnd)]
    if not ends:
        return 0, float("nan")
    return len(ends), (ends[0].sample - speech_end) * 1000 / RATE


def pause_figures(voices=VOICES) -> dict:
    model = VoiceActivity()
    inside, between, rows = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        for (voice, speed), text in product(voices, SENTENCES + TURNS):
            speech = np.frombuffer(pcm16(to_16k(speak(text, scratch / "a.wav", voice, speed),
                                                scratch / "a16.wav")), dtype=np.int16)
            loud = np.nonzero(np.abs(speech) > 100)[0]
            for snr in (None, 10.0):
                audio = _noisy(speech, snr, len(rows))
                speech_end = RATE // 2 + int(loud[-1]) + 1
                gap = longest_silence(model, audio.tobytes())
                (inside if text in SENTENCES else between).append(gap)
                with_model = end_delays(audio, speech_end, model)
                level_only = end_delays(audio, speech_end, None)
                rows.append({"voice": voice, "speed": speed, "snr": snr, "text": text,
                             "longest_silence_ms": gap, "turns_with_model": with_model[0],
                             "end_ms_with_model": with_model[1],
                             "turns_level_only": level_only[0], "end_ms_level_only": level_only[1]})
    sentences = [row for row in rows if row["text"] in SENTENCES]
    return {
        "longest_inside_sentence_ms": max(inside),
        "longest_between_sentences_ms": max(between),
        "cut_with_model": sum(row["turns_with_model"] != 1 for row in sentences),
        "cut_level_only": sum(row["turns_level_only"] != 1 for row in sentences),
        "sentences": len(sentences),
        "end_median_ms_with_model": statistics.median(r["end_ms_with_model"] for r in sentences),
        "end_median_ms_level_only": statistics.median(r["end_ms_level_only"] for r in sentences),
        "rows": rows,
    }


if __name__ == "__main__":
    figures = pause_figures()
    print(json.dumps({key: value for key, value in figures.items() if key != "rows"}, indent=1))
    for row in figures["rows"]:
        print(row)

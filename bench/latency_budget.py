"""Where the time of one spoken turn goes, stage by stage, in the real `numb-legs listen`.

The process runs between virtual ALSA devices (tests/listen_harness.py): a microphone fed in
real time through a FIFO, a speaker FIFO drained by a thread. With NUMB_LEGS_TRACE set, it
writes a timestamp at each stage boundary (voice/runtime/trace.py, CLOCK_MONOTONIC, shared by every
process), and the harness knows, on the same clock, when each question's last loud sample went
into the microphone pipe and when the speaker first carried sound. Stages of a turn:

  endpointing wait  end of speech -> endpoint (the voice silent 416 ms and the level 400 ms,
                    or a sure short command at its first pause; plus the 128 ms pipe and
                    the blocks)
  final decode      endpoint -> final transcript and n-best (already made at the pause
                    that turned out to be the end, unless the person spoke on)
  matching          -> the n-best understood (understand_best)
  reply             -> the skill's reply composed
  synthesis         -> first sentence synthesised, handed to the audio output
  device            -> first sound read from the virtual speaker (stream opened, buffered)
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.listen_harness import MIC_RATE, ListenRun  # noqa: E402 - after sys.path is set
from tests.speech import pcm16, silence, speak, to_16k  # noqa: E402 - after sys.path is set

SPEECH_LEVEL = 300  # int16, about -40 dBFS: below this, espeak-ng's padding
STAGES = ("endpointing wait", "final decode", "matching", "reply", "synthesis to first audio",
          "device")
MARKS = ("endpoint", "decoded", "matched", "replied", "audio_ready")
# Questions PocketSphinx's domain model hears right in these voices (tests/data/spoken.tsv),
# answered without a follow-up question, so every turn is alike.
QUESTIONS = ("why are my legs numb", "what is a slipped disc", "tell me about atherosclerosis",
             "what is raynaud's disease", "tell me about multiple sclerosis",
             "should i see a doctor", "what tests will the neurologist do",
             "how can i prevent numb legs", "tell me about neuropathy",
             "what is poor circulation")
# Short commands the domain recogniser is sure of take the fast path when Whisper is on
# (voice/asr/fusion.py): every other turn is one of them.
COMMANDS = ("repeat", "say that again", "louder", "slower")
GAP_S = 2.0


def _summary(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    if not values:
        return {"median_ms": float("nan"), "p95_ms": float("nan")}
    return {"median_ms": statistics.median(values) * 1000,
            "p95_ms": values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))] * 1000}


def measure(turns: int = 32, whisper: bool = True) -> dict[str, object]:
    """Per stage, median and p95 over TURNS spoken turns; also the end-to-end figure, overall
    and per path (fast: the domain recogniser alone; second: waited for Whisper). WHISPER False:
    `--no-whisper`, questions only."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        audio = bytearray(silence(1.5))
        ends = []
        clips: dict[str, bytes] = {}
        for i in range(turns):
            text = COMMANDS[i // 2 % len(COMMANDS)] if whisper and i % 2 else \
                QUESTIONS[i // (2 if whisper else 1) % len(QUESTIONS)]
            if text not in clips:
                clips[text] = pcm16(to_16k(speak(text, tmp / f"q{i}.wav", "en-us+klatt", 140),
                                           tmp / f"q{i}16.wav"))
            question = clips[text]
            loud = np.flatnonzero(np.abs(np.frombuffer(question, dtype="<i2")) > SPEECH_LEVEL)
            ends.append((len(audio) // 2 + (loud[-1] + 1 if loud.size else 0)) / MIC_RATE)
            audio += question + silence(GAP_S)
        trace_path = tmp / "trace.jsonl"
        previous = os.environ.get("NUMB_LEGS_TRACE")
        os.environ["NUMB_LEGS_TRACE"] = str(trace_path)
        try:
            options = [] if whisper else ["--no-whisper"]
            run = ListenRun(tmp, bytes(audio), ["--engine", "sphinx", *options,
                                                "--voice", "en-us+klatt",
                                                # Earcons off: the "understood" sound would
                                                # come first and hide the synthesis stage.
                                                "listen", "--always-listen", "--no-earcons"],
                            trailing_silence_s=4, cache_dir=ROOT / "bench" / "out" / "cache")
        finally:
            if previous is None:
                os.environ.pop("NUMB_LEGS_TRACE", None)
            else:
                os.environ["NUMB_LEGS_TRACE"] = previous
        # The pipe takes audio only as fast as the process reads it, so this may take longer
        # than the audio lasts: wait until all of it has gone in.
        deadline = time.monotonic() + len(audio) / 2 / MIC_RATE * 3 + 60
        total_units = (len(audio) + 4 * MIC_RATE * 2) // run.mic.unit_bytes
        while time.monotonic() < deadline and len(run.mic.written_at) < total_units - 2:
            time.sleep(0.5)
        time.sleep(2.0)
        written = list(run.mic.written_at)
        run.stop()
        bursts = list(run.speaker.bursts)
        marks = [json.loads(line) for line in trace_path.read_text().splitlines() if line]
    unit_s = run.mic.unit_bytes / 2 / MIC_RATE
    per_stage: dict[str, list[float]] = {stage: [] for stage in STAGES}
    totals: list[float] = []
    per_path: dict[str, list[float]] = {"fast": [], "second": [], "domain": []}
    # The same stages for each path: the fast path's own budget is what issue 16 is about.
    path_stages: dict[str, dict[str, list[float]]] = {
        path: {stage: [] for stage in STAGES} for path in per_path}
    for end in ends:
        unit = min(int(end / unit_s), len(written) - 1)
        heard = written[unit]
        times = [heard]
        after = heard
        for name in MARKS:
            found = next((m["t"] for m in marks if m["stage"] == name and m["t"] >= after), None)
            if found is None:
                break
            times.append(found)
            after = found
        sound = next((b for b in bursts if b >= after), None) if len(times) == len(MARKS) + 1 \
            else None
        if sound is None or sound - heard > 5.0:
            continue  # not understood, or not answered: not a comparable turn
        times.append(sound)
        for stage, (a, b) in zip(STAGES, zip(times, times[1:])):
            per_stage[stage].append(b - a)
        totals.append(sound - heard)
        # The path the listener took, marked between the domain decode and the match.
        path = next((m["stage"] for m in marks if m["stage"] in ("fast_path", "second_pass")
                     and times[2] <= m["t"] <= times[3]), "")
        key = {"fast_path": "fast", "second_pass": "second"}.get(path, "domain")
        per_path[key].append(sound - heard)
        for stage, (a, b) in zip(STAGES, zip(times, times[1:])):
            path_stages[key][stage].append(b - a)
    return {"turns": len(totals), "asked": turns, "whisper": whisper,
            "stages": {stage: _summary(values) for stage, values in per_stage.items()},
            "total": _summary(totals),
            "paths": {path: {**_summary(values), "turns": len(values),
                             "stages": {stage: _summary(spans)
                                        for stage, spans in path_stages[path].items()}}
                      for path, values in per_path.items()}}


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 6), indent=2))

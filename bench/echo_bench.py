"""Barge-in through a loudspeaker (issue 16): the answer's echo mixed back into the microphone.

The real `numb-legs listen` runs between virtual ALSA devices (tests/listen_harness.py); what
its speaker plays comes back into its microphone at LEVEL_DB after DELAY_MS, as from a
loudspeaker beside a laptop, on top of what the person says. Two figures:

  played answers  questions asked and their answers left to play out: how many times the
                  assistant cut itself short (a barge-in with nobody speaking) or answered its
                  own voice (a "You said" nobody said), and how often and how long its
                  playback ran dry mid-answer (a stutter)
  stop            "stop" said over an answer, in voices the rest of the suite does not use for
                  it: how often the speech stopped within 2 s, and how soon after the word

By default numb-legs runs without an echo canceller; `--echo-cancel` turns on its own
(voice/audio/echo_cancel.py), measured here with ``--echo-cancel`` and by `make bench` with it
(bench/run.py: it is what a loudspeaker needs). Its output stream then stays open between
answers, sounding silence, so playback that runs dry mid-answer is silence the device plays:
counted from the program's trace, with no length. (WebRTC's AEC3 from
pywebrtc-audio was tried in this rig before and not adopted: it took the echo 20 to 50 dB down
but a person's voice said over an answer with it. Those figures, like every figure of this
bench before 2026-12-05, came from a rig whose echo was clipped garbage: tests/test_echo_rig.py.)

Run on its own: ``.venv/bin/python bench/echo_bench.py [ANSWERS] [STOPS] [--echo-cancel]``.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.voice_bench import trimmed  # noqa: E402 - after sys.path is set
from tests.listen_harness import ListenRun, trace_marks  # noqa: E402 - after sys.path is set

LEVEL_DB = 0.0
DELAY_MS = 40.0
QUESTIONS = ("why are my legs numb", "what is a slipped disc", "how can i prevent numb legs",
             "should i see a doctor", "tell me about multiple sclerosis",
             "what tests will the neurologist do", "what is poor circulation",
             "tell me about neuropathy")
STOP_VOICES = (("en-us+m4", 150), ("en-gb-scotland+f3", 140), ("en+m7", 160),
               ("en-us+f2", 130), ("en-gb-x-rp+m2", 170))
ARGS = ["--engine", "sphinx", "--voice", "en-us+klatt", "listen", "--always-listen",
        "--no-earcons"]


def echo_figures(answers: int = 40, stops: int = 40, level_db: float = LEVEL_DB,
                 delay_ms: float = DELAY_MS, cancel: bool = False) -> dict[str, object]:
    """CANCEL: with numb-legs' echo canceller (--echo-cancel), else as numb-legs runs by
    default, without it."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        trace = tmp / "trace.jsonl"
        asked = [trimmed(q, tmp, f"q{i}") for i, q in enumerate(QUESTIONS)]
        stop_clips = [trimmed("stop", tmp, f"stop{i}", voice, speed)
                      for i, (voice, speed) in enumerate(STOP_VOICES)]
        args = [*ARGS, "--echo-cancel"] if cancel else ARGS
        run = ListenRun(tmp, None, args, echo=(level_db, delay_ms),
                        env={"NUMB_LEGS_TRACE": str(trace)})
        played = {"answers": 0, "self_interruptions": 0, "self_answers": 0, "misses": [],
                  "dry_s": 0.0, "dry_gaps": 0}
        stopped: dict[str, object] = {"trials": 0, "stopped": 0, "latencies_ms": [],
                                      "misses": []}
        try:
            if not run.wait_for("numb-legs is listening", timeout=90):
                raise RuntimeError("numb-legs listen did not start:\n" + run.stdout)
            for i in range(answers):
                heard_before = run.stdout.count("You said:")
                barges_before = len(trace_marks(trace, "barge_in"))
                clip = run.say(asked[i % len(asked)])
                clip.done.wait(15)
                if run.first_sound_after(clip.ended_at or time.monotonic(), 15) is None:
                    played["misses"].append(f"{QUESTIONS[i % len(QUESTIONS)]!r}: no answer")
                    continue
                dry_before = len(run.speaker.dry)
                dry_marks = len(trace_marks(trace, "output_dry"))
                run.wait_speaker_quiet(quiet_s=2.5, timeout=90)
                played["answers"] += 1
                # Playback that ran dry mid-answer: the program did not keep the speaker fed.
                gaps = [gap for _, gap in run.speaker.dry[dry_before:]]
                # A stream kept open (--echo-cancel) plays silence when it runs dry: only the
                # program sees that (a trace mark, no length).
                played["dry_gaps"] += len(gaps) + len(trace_marks(trace, "output_dry")) - dry_marks
                played["dry_s"] += sum(gaps)
                extra = run.stdout.count("You said:") - heard_before - 1
                barges = len(trace_marks(trace, "barge_in")) - barges_before
                played["self_answers"] += max(0, extra)
                played["self_interruptions"] += barges
                if extra > 0 or barges:
                    played["misses"].append(f"{QUESTIONS[i % len(QUESTIONS)]!r}: {barges} "
                                            f"barge-ins, {max(0, extra)} answers to itself")
            for i in range(stops):
                voice = STOP_VOICES[i % len(STOP_VOICES)][0]
                clip = run.say(asked[i % len(asked)])
                clip.done.wait(15)
                began = run.first_sound_after(clip.ended_at or time.monotonic(), 15)
                if began is None:
                    continue
                # Somewhere in the first seconds of the answer, not always on a word.
                time.sleep(max(0.0, began + 1.0 + 0.11 * (i % 13) - time.monotonic()))
                said = run.say(stop_clips[i % len(stop_clips)])
                said.done.wait(10)
                end = said.ended_at or time.monotonic()
                time.sleep(2.5)
                stopped["trials"] += 1
                if run.sound_seconds_between(end + 2.0, end + 2.5) > 0:
                    stopped["misses"].append(f"{voice} over {QUESTIONS[i % len(QUESTIONS)]!r}")
                else:
                    stopped["stopped"] += 1
                    last = run.last_sound_between(end - 1.0, end + 2.0)
                    if last is not None:
                        stopped["latencies_ms"].append((last - end) * 1000)
                run.wait_speaker_quiet(quiet_s=2.0, timeout=90)
        finally:
            run.stop()
    latencies = sorted(stopped["latencies_ms"])  # type: ignore[arg-type] - a list above
    return {"level_db": level_db, "delay_ms": delay_ms, "cancel": cancel, "played": played,
            "stop": {**stopped, "rate": stopped["stopped"] / max(1, stopped["trials"]),
                     "median_ms": statistics.median(latencies) if latencies else float("nan")}}


if __name__ == "__main__":
    counts = [int(arg) for arg in sys.argv[1:3] if arg.isdigit()]
    print(json.dumps(echo_figures(*counts, cancel="--echo-cancel" in sys.argv), indent=1))

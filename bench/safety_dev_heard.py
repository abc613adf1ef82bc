"""The safety development set heard, for tuning how red flags are heard (Whisper's prompt,
second_opinion.AGAIN_SPEEDS): every second line of tests/data/safety_dev.tsv read aloud by four
espeak-ng voices that no benchmark uses, each line to a fresh skill, heard once (PocketSphinx and
Whisper fused, as `understand --wav` hears it) and then also heard again at AGAIN_SPEEDS
(fusion.recheck). The held-out set is never read here: bench/safety_bench.py measures it.

    .venv/bin/python bench/safety_dev_heard.py [--every N]

About 20 minutes for the 412 lines on 2 cores; figures printed, with every line still missed
and every false alarm.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import noise  # noqa: E402 - after sys.path is set
from safety_bench import SETS, _lines, _outcome, _skill  # noqa: E402 - after sys.path is set
from spoken_bench import clip_file  # noqa: E402 - after sys.path is set

# Not the voices of bench/safety_bench.py or bench/spoken_dev.py: tuning must not hear those.
VOICES = (("en-gb-x-rp+m2", 150), ("en-us+f2", 140), ("en-gb-scotland+klatt2", 130),
          ("en-us+croak", 160))


def run(every: int = 2) -> dict[str, dict]:
    from voice.asr.fusion import settle
    from voice.asr.nbest import understand_best
    from voice.asr.recognizer import transcript_of
    from voice.asr.second_opinion import heard_again
    from voice.asr.sphinx_engine import SphinxRecognizer
    from voice.asr.whisper_engine import WhisperRecognizer, load_prompt

    skill = _skill()
    domain = SphinxRecognizer("domain")
    whisper = WhisperRecognizer(prompt=load_prompt())
    rows = _lines(SETS["development"])[::every]
    modes = ("heard once", "heard again")
    found: dict[str, list[tuple[str, str, str, str, str]]] = {mode: [] for mode in modes}
    for index, (kind, category, text) in enumerate(rows):
        voice, speed = VOICES[index % len(VOICES)]
        pcm = noise.read_pcm(clip_file(text, voice, speed, None)).tobytes()
        nbest, second = transcript_of(domain, pcm).alternatives, whisper.hear(pcm)
        once = settle(nbest, second, skill.matcher, skill.safety)[0]
        again = settle(nbest, second, skill.matcher, skill.safety,
                       partial(heard_again, whisper.hear, pcm))[0]
        for mode, hearing in zip(modes, (once, again)):
            hypotheses = list(hearing.hypotheses)
            heard = understand_best(skill.matcher, hypotheses)[0] if hypotheses else ""
            outcome = _outcome(skill, heard, hypotheses) if heard else "none"
            found[mode].append((kind, category, text, outcome, heard))
    results = {}
    for mode, lines in found.items():
        emergencies = [line for line in lines if line[0] == "emergency"]
        harmless = [line for line in lines if line[0] == "harmless"]
        results[mode] = {
            "emergencies": len(emergencies), "harmless": len(harmless),
            "caught": sum(line[3] in ("alarm", "asked") for line in emergencies)
            / max(1, len(emergencies)),
            "false_alarms": sum(line[3] != "none" for line in harmless) / max(1, len(harmless)),
            "misses": [line[1:] for line in emergencies if line[3] not in ("alarm", "asked")],
            "alarms": [line[1:] for line in harmless if line[3] != "none"]}
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--every", type=int, default=2, help="read every Nth line (default 2)")
    results = run(parser.parse_args().every)
    for mode, result in results.items():
        print(f"{mode}: {result['caught']:.1%} of {result['emergencies']} emergencies caught, "
              f"{result['false_alarms']:.1%} of {result['harmless']} harmless lines alarmed")
    for mode, result in results.items():
        for category, text, outcome, heard in result["misses"]:
            print(f"  {mode}, missed ({outcome}): [{category}] {text!r} heard as {heard!r}")
        for category, text, outcome, heard in result["alarms"]:
            print(f"  {mode}, false alarm ({outcome}): [{category}] {text!r} heard as {heard!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The safety stage's figures (issue 11): emergencies and false alarms on the development and
held-out safety sets, typed through the whole skill and spoken by four espeak-ng voices (heard by
PocketSphinx, by Whisper, and by the two fused); and what the stage costs per utterance.

Typed: each line goes to a fresh Skill. An emergency line counts as caught at once when the reply
is emergency advice; as caught through a question when the reply is the safety question and "yes"
to it gets emergency advice. A harmless line with either is a false alarm.
"""

from __future__ import annotations

import statistics
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from intents.names import IntentName  # noqa: E402 - after sys.path is set
from voice.dialogue.skill import SAFETY_QUESTION  # noqa: E402 - after sys.path is set

SETS = {"development": ROOT / "tests" / "data" / "safety_dev.tsv",
        "held-out": ROOT / "tests" / "data" / "safety_heldout.tsv"}
# Four espeak-ng voices, not only Klatt: two plain variants, a Klatt one and a female British one.
SPOKEN_VOICES = (("en-us", 150), ("en-gb+f3", 140), ("en-us+klatt4", 130), ("en-us+m7", 160))


def _lines(path: Path) -> list[tuple[str, str, str]]:
    from intents.safety import read_labelled

    return read_labelled(path.read_text(encoding="utf-8").splitlines(), str(path.name))


def _skill():
    from intents.meaning import default_matcher
    from knowledge.loader import load_knowledge
    from voice.dialogue.responses import load_responses
    from voice.dialogue.skill import Skill

    return Skill(default_matcher(), load_knowledge(), load_responses(), emergency_number="999",
                 clock=lambda: 0.0)


def _outcome(skill, text: str, nbest: list[str] | None = None) -> str:
    """'alarm', 'asked' (a question whose yes is an emergency), 'asked-no-alarm' or 'none'."""
    skill.reset()
    reply = skill.respond(text, nbest=nbest or ())
    if reply.intent == IntentName.EMERGENCY:
        return "alarm"
    if reply.intent == SAFETY_QUESTION:
        return "asked" if skill.respond(IntentName.YES).intent == IntentName.EMERGENCY else "asked-no-alarm"
    return "none"


def _score(rows: list[tuple[str, str, str]], outcomes: list[str]) -> dict:
    emergencies = [(row, o) for row, o in zip(rows, outcomes) if row[0] == "emergency"]
    harmless = [(row, o) for row, o in zip(rows, outcomes) if row[0] == "harmless"]
    return {
        "emergencies": len(emergencies), "harmless": len(harmless),
        "at_once": sum(o == "alarm" for _, o in emergencies) / max(1, len(emergencies)),
        "caught": sum(o in ("alarm", "asked") for _, o in emergencies) / max(1, len(emergencies)),
        "false_alarms": sum(o != "none" for _, o in harmless) / max(1, len(harmless)),
        "misses": [(row[1], row[2], o) for row, o in emergencies if o != "alarm"],
        "alarms": [(row[1], row[2], o) for row, o in harmless if o != "none"],
    }


def typed() -> dict[str, dict]:
    skill = _skill()
    results = {}
    for name, path in SETS.items():
        rows = _lines(path)
        results[name] = _score(rows, [_outcome(skill, text) for _, _, text in rows])
    return results


def cost(repeats: int = 3) -> dict[str, float]:
    """Time the safety stage adds per utterance (its backstop loaded), over every line of both
    sets and the intent development set: median and p95 in ms."""
    from intents.safety import default_safety
    from tests import devset

    safety = default_safety()
    safety.assess("warm up: my legs are numb")
    texts = [text for path in SETS.values() for _, _, text in _lines(path)]
    texts += [line.text for line in devset.load()]
    times = []
    for _ in range(repeats):
        for text in texts:
            start = time.perf_counter()
            safety.assess(text)
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"median_ms": statistics.median(times), "p95_ms": times[int(0.95 * len(times)) - 1],
            "utterances": len(texts)}


def spoken(every: int = 1) -> dict[str, dict]:
    """The held-out lines read aloud by SPOKEN_VOICES in turn, each line to a fresh skill, heard
    three ways from the same audio: PocketSphinx's domain mode alone (every n-best transcript to
    the safety stage), Whisper tiny.en alone (with its domain prompt), and the two fused as
    `numb-legs understand --wav` and the listener fuse them by default (voice/asr/fusion.py),
    Whisper hearing the utterance again at other speeds for red flags (recheck).

    And, under "cost_nbest", what the safety stage costs on a spoken utterance: its first look
    at PocketSphinx's transcripts (up to ten, the rules on each, the backstop on the first), timed
    as the listener meets it, before anything else has encoded them."""
    import noise
    from spoken_bench import clip_file

    from voice.asr.fusion import settle
    from voice.asr.nbest import understand_best
    from voice.asr.recognizer import transcript_of
    from voice.asr.second_opinion import heard_again
    from voice.asr.sphinx_engine import SphinxRecognizer
    from voice.asr.whisper_engine import WhisperRecognizer, load_prompt

    skill = _skill()
    domain = SphinxRecognizer("domain")
    whisper = WhisperRecognizer(prompt=load_prompt())
    rows = _lines(SETS["held-out"])[::every]
    modes = ("domain", "whisper", "fused")
    outcomes: dict[str, list[str]] = {mode: [] for mode in modes}
    heard_as: dict[str, list[str]] = {mode: [] for mode in modes}
    costs: list[float] = []
    transcripts: list[int] = []
    for index, (_, _, text) in enumerate(rows):
        voice, speed = SPOKEN_VOICES[index % len(SPOKEN_VOICES)]
        pcm = noise.read_pcm(clip_file(text, voice, speed, None)).tobytes()
        nbest = transcript_of(domain, pcm).alternatives
        start = time.perf_counter()
        skill.safety.assess_many(list(nbest))
        costs.append((time.perf_counter() - start) * 1000)
        transcripts.append(len(nbest))
        second = whisper.hear(pcm)
        said = second.text
        fused = settle(nbest, second, skill.matcher, skill.safety,
                       partial(heard_again, whisper.hear, pcm))[0].hypotheses
        for mode, hypotheses in (("domain", nbest), ("whisper", (said,) if said else ()),
                                 ("fused", fused)):
            heard = understand_best(skill.matcher, list(hypotheses))[0] if hypotheses else ""
            heard_as[mode].append(heard)
            outcomes[mode].append(_outcome(skill, heard, list(hypotheses)) if heard else "none")
    results = {}
    for mode in modes:
        result = _score(rows, outcomes[mode])
        by_text = dict(zip((text for _, _, text in rows), heard_as[mode]))
        result["misses"] = [(c, t, o, by_text[t]) for c, t, o in result["misses"]]
        result["alarms"] = [(c, t, o, by_text[t]) for c, t, o in result["alarms"]]
        result["voices"] = [f"{v} at {s} wpm" for v, s in SPOKEN_VOICES]
        results[mode] = result
    costs.sort()
    results["cost_nbest"] = {"median_ms": statistics.median(costs),
                             "p95_ms": costs[max(0, int(0.95 * len(costs)) - 1)],
                             "utterances": len(costs),
                             "transcripts_median": statistics.median(transcripts)}
    return results


if __name__ == "__main__":
    import json

    print(json.dumps({"typed": typed(), "cost": cost(1)}, indent=1)[:4000])

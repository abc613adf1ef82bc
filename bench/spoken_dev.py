"""The spoken development set of issue 14: questions, commands, red flags, harmless near-misses
and out-of-domain lines, read aloud by six espeak-ng voices (plain, female, Klatt, RP, Scottish:
not one family) at two speeds each, clean and in pink noise at 20, 10 and 5 dB SNR, heard by the
domain recogniser (PocketSphinx), by Whisper tiny.en, and by the two fused (voice/asr/fusion.py;
fused, Whisper also hears each utterance again at other speeds, for red flags only).

Text: the development sets (tests/data/intent_dev.tsv, tests/data/safety_dev.tsv), which were
tuned on, and the held-out sets (tests/data/intent_heldout2.tsv, tests/data/safety_heldout.tsv),
which never are. Each line is read once, in one of the 48 voice, speed and noise conditions in
turn, so every condition is met by every kind of line. Every line is scored by what the whole
skill does with the hearing: the intent (and cause) for questions, emergency advice or the safety
question for red flags, no alarm for harmless lines, "not understood" for out-of-domain lines.

Whisper's transcripts are kept in bench/out/spoken_dev/whisper.json, keyed by the audio, the
model's SHA-256, the prompt and the decoding settings (they depend on nothing else), with the
seconds each took when it was made; the domain recogniser is run every time.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import noise  # noqa: E402 - after sys.path is set
from spoken_bench import clip_file, label  # noqa: E402 - after sys.path is set

from intents.names import IntentName  # noqa: E402 - after sys.path is set
from tests import devset  # noqa: E402 - after sys.path is set
from voice.asr.second_opinion import SecondHearing  # noqa: E402 - after sys.path is set
from voice.dialogue.skill import SAFETY_QUESTION  # noqa: E402 - after sys.path is set

DATA = ROOT / "tests" / "data"
OUT = ROOT / "bench" / "out" / "spoken_dev"
# Six voices, none of them the four the held-out red flags are read by in bench/safety_bench.py.
VOICES = ("en-us+m3", "en-gb+f2", "en-us+klatt3", "en-gb-x-rp+m5", "en-us+f4",
          "en-gb-scotland+klatt5")
SPEEDS = (135, 170)
NOISE: tuple[float | None, ...] = (None, 20.0, 10.0, 5.0)
SETS = {"development": (DATA / "intent_dev.tsv", DATA / "safety_dev.tsv"),
        "held-out": (DATA / "intent_heldout2.tsv", DATA / "safety_heldout.tsv")}
MODES = ("domain", "whisper", "fused")


@dataclass(frozen=True)
class SpokenLine:
    kind: str        # "intent", "ood", "emergency" or "harmless"
    text: str
    intent: str      # expected intent ("" for safety lines)
    cause: str
    category: str


def conditions() -> list[tuple[str, int, float | None]]:
    return [(voice, speed, snr) for snr in NOISE for voice in VOICES for speed in SPEEDS]


def lines(name: str, every: int = 1) -> list[SpokenLine]:
    from intents.safety import read_labelled

    intent_path, safety_path = SETS[name]
    out = []
    for line in devset.load(intent_path):
        if line.intent == IntentName.EMERGENCY:
            kind = "emergency"
        else:
            kind = "ood" if line.intent == IntentName.UNKNOWN else "intent"
        out.append(SpokenLine(kind, line.text, line.intent, line.cause, line.category))
    for tag, category, text in read_labelled(safety_path.read_text(encoding="utf-8").splitlines(),
                                             safety_path.name):
        out.append(SpokenLine(tag, text, "", "", category))
    return out[::every]


class WhisperCache:
    """Whisper's transcripts of clips, kept across runs (see the module's docstring)."""

    def __init__(self, recognizer: Any) -> None:
        from voice.asr.whisper_engine import _BEAM, COMPUTE_TYPE, load_specs

        self.recognizer = recognizer
        self.path = OUT / "whisper.json"
        spec = load_specs()[recognizer.model_name]
        self.tag = hashlib.sha1(f"{spec.sha256}|{recognizer.prompt}|beam{_BEAM}|{COMPUTE_TYPE}|"
                                "logprob".encode()).hexdigest()
        self.entries: dict[str, list[Any]] = {}
        if self.path.exists():
            self.entries = json.loads(self.path.read_text(encoding="utf-8"))

    def hear(self, pcm: bytes) -> tuple[SecondHearing, float]:
        key = hashlib.sha1(pcm + self.tag.encode()).hexdigest()
        if key not in self.entries:
            start = time.perf_counter()
            heard = self.recognizer.hear(pcm)
            self.entries[key] = [heard.text, time.perf_counter() - start, heard.logprob]
        text, seconds, logprob = self.entries[key]
        return SecondHearing(str(text), float(logprob)), float(seconds)

    def save(self) -> None:
        OUT.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.entries), encoding="utf-8")


def outcome(skill: Any, line: SpokenLine, hypotheses: tuple[str, ...]) -> bool:
    """Whether the skill did the right thing with HYPOTHESES for LINE."""
    from voice.asr.nbest import understand_best

    skill.reset()
    text, match = understand_best(skill.matcher, list(hypotheses)) if hypotheses else ("", None)
    reply = skill.respond(text, nbest=hypotheses) if text else None
    intent = reply.intent if reply is not None else IntentName.UNKNOWN
    raised = intent == IntentName.EMERGENCY or (
        intent == SAFETY_QUESTION and skill.respond(IntentName.YES).intent == IntentName.EMERGENCY)
    if line.kind == "emergency":
        return raised
    if line.kind == "harmless":
        return intent not in (IntentName.EMERGENCY, SAFETY_QUESTION)
    if line.kind == "ood":
        return intent == IntentName.UNKNOWN
    if intent != line.intent or match is None:
        return False
    return devset.correct(devset.Line(line.category, line.text, line.intent, line.cause), match)


def run(every: int = 3, sets: tuple[str, ...] = tuple(SETS)) -> dict[str, Any]:
    """{set: {mode: figures}} and the per-condition figures of the fused mode."""
    from spoken_bench import bench_skill

    from voice.asr.fusion import settle
    from voice.asr.recognizer import transcript_of
    from voice.asr.second_opinion import heard_again
    from voice.asr.sphinx_engine import SphinxRecognizer
    from voice.asr.whisper_engine import WhisperRecognizer, load_prompt

    skill = bench_skill()
    domain = SphinxRecognizer("domain")
    whisper = WhisperCache(WhisperRecognizer(prompt=load_prompt()))
    grid = conditions()

    def cached(pcm: bytes) -> SecondHearing:
        return whisper.hear(pcm)[0]

    results: dict[str, Any] = {"voices": [f"{v} at {s} wpm" for v in VOICES for s in SPEEDS],
                               "noise": [label(n) for n in NOISE], "sets": {}}
    for name in sets:
        rows: list[dict[str, Any]] = []
        for index, line in enumerate(lines(name, every)):
            voice, speed, snr = grid[index % len(grid)]
            pcm = noise.read_pcm(clip_file(line.text, voice, speed, snr)).tobytes()
            seconds = len(pcm) / 2 / noise.RATE
            start = time.perf_counter()
            heard = transcript_of(domain, pcm).alternatives
            domain_s = time.perf_counter() - start
            second, whisper_s = whisper.hear(pcm)
            said = second.text
            fused, fast = settle(heard, second, skill.matcher, skill.safety,
                                 partial(heard_again, cached, pcm))
            row = {"line": line, "voice": f"{voice} at {speed} wpm", "noise": label(snr),
                   "domain_heard": heard[0] if heard else "", "whisper_heard": said,
                   "fast": fast, "audio_s": seconds, "domain_s": domain_s, "whisper_s": whisper_s}
            row["domain"] = outcome(skill, line, heard)
            row["whisper"] = outcome(skill, line, (said,) if said else ())
            row["fused"] = outcome(skill, line, fused.hypotheses)
            row["domain_nbest"] = list(heard)
            row["whisper_logprob"] = second.logprob
            rows.append(row)
        whisper.save()
        results["sets"][name] = summarise(rows)
        (OUT / f"{name}.rows.json").write_text(json.dumps(
            [{**row, "line": row["line"].__dict__} for row in rows]), encoding="utf-8")
    return results


def _share(rows: list[dict[str, Any]], mode: str, kind: str) -> tuple[float, int]:
    chosen = [row[mode] for row in rows if row["line"].kind == kind]
    return (sum(chosen) / len(chosen) if chosen else 0.0), len(chosen)


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    figures: dict[str, Any] = {"lines": len(rows), "modes": {}}
    audio = sum(row["audio_s"] for row in rows)
    for mode in MODES:
        per = {kind: _share(rows, mode, kind)[0] for kind in ("intent", "ood", "emergency")}
        per["false_alarms"] = 1.0 - _share(rows, mode, "harmless")[0]
        per["overall"] = sum(row[mode] for row in rows) / len(rows)
        figures["modes"][mode] = per
    figures["counts"] = {kind: _share(rows, "fused", kind)[1]
                         for kind in ("intent", "ood", "emergency", "harmless")}
    figures["rtf"] = {"domain": sum(r["domain_s"] for r in rows) / audio,
                      "whisper": sum(r["whisper_s"] for r in rows) / audio}
    figures["fast_share"] = sum(row["fast"] for row in rows) / len(rows)
    figures["whisper_median_s"] = statistics.median(row["whisper_s"] for row in rows)
    for axis in ("voice", "noise"):
        groups: dict[str, list[bool]] = defaultdict(list)
        for row in rows:
            groups[row[axis]].append(row["fused"])
        figures[f"by_{axis}"] = {key: sum(v) / len(v) for key, v in groups.items()}
    figures["misses"] = [
        (row["line"].kind, row["line"].text, row["voice"], row["noise"], row["whisper_heard"],
         row["domain_heard"]) for row in rows if not row["fused"]]
    return figures


if __name__ == "__main__":
    step = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    result = run(step, tuple(sys.argv[2:]) or tuple(SETS))
    for set_name, fig in result["sets"].items():
        print(set_name, fig["lines"], fig["counts"], "fast", round(fig["fast_share"], 3),
              "rtf", {k: round(v, 3) for k, v in fig["rtf"].items()})
        for mode_name, per in fig["modes"].items():
            print("  ", mode_name, {k: round(v, 3) for k, v in per.items()})
        print("   by noise", {k: round(v, 3) for k, v in fig["by_noise"].items()})
        print("   by voice", {k: round(v, 3) for k, v in fig["by_voice"].items()})
    (OUT / "last.json").write_text(json.dumps(result, default=str, indent=1), encoding="utf-8")

"""English end to end on PocketSphinx: spoken questions through `numb-legs understand --wav`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.speech import VOICES, speak

ROOT = Path(__file__).resolve().parent.parent
SPOKEN = ROOT / "tests" / "data" / "spoken.tsv"
FLOOR = 0.90           # issue 3's target for the domain-tuned mode
RED_FLAG_FLOOR = 0.85  # 8 of the 9 red-flag questions; the ninth is in the misses below
# Red flags in long, natural sentences (the development and held-out sets read aloud) are
# heard far less well than the short questions above: these floors guard what was reached.
NATURAL_RED_FLAG_FLOOR = 0.72
NATURAL_FALSE_ALARM_CEILING = 0.05  # out-of-domain lines answered with emergency advice


def load() -> list[tuple[str, str]]:
    rows = []
    for line in SPOKEN.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            text, intent = line.split("\t")
            rows.append((text, intent))
    return rows


def understand_spoken(texts: list[str], tmp_path: Path) -> list[dict]:
    """Each text spoken by espeak-ng (voices and speeds in turn), then `understand --wav` on
    all of them in one run, in order: one JSON record each."""
    files = []
    for index, text in enumerate(texts):
        voice, speed = VOICES[index % len(VOICES)]  # several voices and speeds
        # espeak-ng writes 22050 Hz: understand --wav must resample it itself.
        files.append(str(speak(text, tmp_path / f"{index:03d}.wav", voice, speed)))
    env = dict(os.environ)
    result = subprocess.run([sys.executable, "-m", "voice", "--engine", "sphinx", "--no-whisper",
                             "understand", "--json", "--wav", *files], capture_output=True, text=True,
                            cwd=ROOT, env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == len(texts)
    return records


@pytest.mark.slow
def test_spoken_questions_are_understood(tmp_path):
    rows = load()
    assert len(rows) >= 40
    records = understand_spoken([text for text, _ in rows], tmp_path)
    right = [r["intent"] == intent for r, (_, intent) in zip(records, rows)]
    misses = [(text, r["transcript"], r["intent"]) for ok, r, (text, _) in zip(right, records, rows)
              if not ok]
    # Decoding is deterministic for the same audio in the same order (the recogniser's channel
    # normalisation adapts from one file to the next, as it does while listening), so this is
    # not flaky. Known misses, all acoustic: "help" heard as "dial", "no thanks" as "both feet",
    # "poor circulation" as "sore circulation", "i fell" as "i am".
    assert sum(right) / len(rows) >= FLOOR, misses
    red = [ok for ok, (_, intent) in zip(right, rows) if intent == "emergency"]
    assert sum(red) / len(red) >= RED_FLAG_FLOOR, misses


def natural_lines():
    """Red-flag and out-of-domain lines of the development and held-out sets, as written by
    people (long, natural, often more than one thing at once); the typo lines are left out."""
    from tests import devset

    lines = devset.load() + devset.load(devset.DEVSET.with_name("heldout.tsv"))
    return [line for line in lines if line.category in ("red_flag", "ood")]


@pytest.mark.slow
def test_red_flags_said_in_natural_sentences(tmp_path):
    lines = natural_lines()
    records = understand_spoken([line.text for line in lines], tmp_path)
    # Caught: emergency advice, or the safety question that leads there (a red flag heard only in
    # a less likely transcript is asked about); a question on a harmless line is a false alarm.
    raised = ("emergency", "safety_question")
    caught = [r["intent"] in raised for r, line in zip(records, lines)
              if line.intent == "emergency"]
    alarms = [r["intent"] in raised for r, line in zip(records, lines)
              if line.intent != "emergency"]
    misses = [(line.text, r["transcript"]) for r, line in zip(records, lines)
              if line.intent == "emergency" and r["intent"] not in raised]
    # Measured: 38 of 50 caught, 2 of 64 false alarms; 33 of 50 before red flags weighed as
    # much as an intent in the language model and contractions were kept ("can't").
    assert sum(caught) / len(caught) >= NATURAL_RED_FLAG_FLOOR, misses
    assert sum(alarms) / len(alarms) <= NATURAL_FALSE_ALARM_CEILING

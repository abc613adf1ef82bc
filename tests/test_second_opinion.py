"""voice/asr/second_opinion.py: Whisper's hearings on their worker thread, with the real model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.speech import pcm16, speak, to_16k

ROOT = Path(__file__).resolve().parent.parent

# In a fresh process set up as `numb-legs listen` is (the allocator tuned first): Whisper loaded,
# one hearing to warm it, its memory handed back; then how much more the process holds once a
# hearing through the worker is over (polled: the hand-back is a task of its own, after it).
_HELD_AFTER = """
import sys, time
from knowledge.heap import give_back_freed_memory, tune_allocator

tune_allocator()
from voice.asr.second_opinion import SecondOpinion
from voice.asr.whisper_engine import WhisperRecognizer

def resident_mb():
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024

pcm = open(sys.argv[1], "rb").read()
opinion = SecondOpinion(WhisperRecognizer)
assert opinion.wait_ready(60)
opinion.hear(pcm)
time.sleep(0.5)
give_back_freed_memory()
before = resident_mb()
heard = opinion.hear(pcm)
held = resident_mb() - before
for _ in range(50):
    if held < 15:
        break
    time.sleep(0.1)
    held = resident_mb() - before
print(heard.text)
print(round(held))
"""


def test_a_hearing_gives_back_what_it_freed(tmp_path):
    clip = tmp_path / "question.pcm"
    clip.write_bytes(pcm16(to_16k(speak("why are my legs numb", tmp_path / "q.wav", "en-gb+f2",
                                        150), tmp_path / "q16.wav")))
    done = subprocess.run([sys.executable, "-c", _HELD_AFTER, str(clip)], capture_output=True,
                          text=True, timeout=180, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    text, held = done.stdout.split("\n")[:2]
    assert "legs" in text.lower()
    # Kept by the heap instead, about 45 MB (a hearing frees about 100).
    assert int(held) < 15, f"the process holds {held} MB more after a hearing"

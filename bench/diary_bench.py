"""Diary figures (issue 5): logging one episode end to end, and a summary over 10,000 episodes.

Logging is the real path: ``Skill.respond`` on a full sentence (matcher, parser, read-back), then
on "yes" (the row committed to a WAL-mode SQLite file with synchronous=FULL, then counted), on a
temporary diary. The summary is the spoken one ("read me my diary", the last 30 days) over a
diary holding 10,000 episodes, all inside that period. Run on its own:
``.venv/bin/python bench/diary_bench.py``.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LOG_RUNS = 200
SUMMARY_RUNS = 20
EPISODES = 10_000


def diary_figures(log_runs: int = LOG_RUNS, summary_runs: int = SUMMARY_RUNS,
                  episodes: int = EPISODES) -> dict[str, float]:
    """{"log_median_ms", "log_p95_ms", "summary_median_ms", "episodes", "log_runs"}."""
    from intents.meaning import default_matcher
    from knowledge import load_knowledge
    from knowledge.diary.store import DiaryStore, Episode
    from voice.dialogue.diary_dialogue import Journal
    from voice.dialogue.responses import load_responses
    from voice.dialogue.skill import Skill

    now = datetime.now().replace(microsecond=0)
    with tempfile.TemporaryDirectory(prefix="numb-legs-diary-bench-") as folder:
        store = DiaryStore(Path(folder) / "log.db")
        skill = Skill(default_matcher(), load_knowledge(), load_responses(), diary=store,
                      now=lambda: now)
        skill.respond("my left leg went numb for ten minutes after sitting")  # warm caches
        skill.respond("yes")
        times = []
        for _ in range(log_runs):
            start = time.perf_counter()
            skill.respond("my left leg went numb for ten minutes after sitting")
            reply = skill.respond("yes")
            times.append((time.perf_counter() - start) * 1000)
            if not reply.text.startswith("Saved"):
                raise RuntimeError(f"the episode was not saved: {reply.text}")
        if store.count() != log_runs + 1:
            raise RuntimeError("an episode is missing from the diary")
        store.close()

        big = DiaryStore(Path(folder) / "big.db")
        rng = random.Random(5)
        big.add_many([Episode(now - timedelta(seconds=rng.randrange(29 * 86_400)),
                              rng.choice((None, 60, 300, 600, 1800)),
                              rng.choice((None, "left", "right", "both")),
                              rng.choice((None, "sitting", "lying", "walking", "other")))
                      for _ in range(episodes)])
        journal = Journal(big, load_responses(), lambda: now)
        text = journal.summary("read me my diary")
        if "episodes" not in text:
            raise RuntimeError(f"unexpected summary: {text}")
        summary_times = []
        for _ in range(summary_runs):
            start = time.perf_counter()
            journal.summary("read me my diary")
            summary_times.append((time.perf_counter() - start) * 1000)
        big.close()
    times.sort()
    return {
        "log_median_ms": round(statistics.median(times), 2),
        "log_p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
        "log_runs": float(log_runs),
        "summary_median_ms": round(statistics.median(summary_times), 2),
        "summary_runs": float(summary_runs),
        "episodes": float(episodes),
    }


if __name__ == "__main__":
    print(json.dumps(diary_figures(), indent=2))

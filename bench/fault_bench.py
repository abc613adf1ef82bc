"""Fault figures (issue 15): thousands of seeded faults through the real CLI.

The same cases as tests/test_fault_fuzz.py (tests/faults.py: random bytes, truncation and bit
flips in the settings file, the diary, the caches and WAV input, one `numb-legs` subprocess per
case, at most 10 s each), many more of them. Run on its own:
``.venv/bin/python bench/fault_bench.py [CASES]``.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faults import TARGETS, FaultLab, Outcome, run_cases  # noqa: E402 - after sys.path is set

CASES = 2000
# Seeds after the ones `make test` runs, so the bench adds cases rather than repeating them.
FIRST_SEED = 10_000


def fault_figures(cases: int = CASES) -> dict[str, object]:
    """Counts of each kind of failure over CASES seeded faults, per target and in all."""
    with tempfile.TemporaryDirectory(prefix="numb-legs-faults-") as folder:
        lab = FaultLab(Path(folder))
        outcomes = list(run_cases(lab, range(FIRST_SEED, FIRST_SEED + cases)))
    return summarise(outcomes)


def summarise(outcomes: list[Outcome]) -> dict[str, object]:
    kinds: Counter[str] = Counter()
    for outcome in outcomes:
        for problem in outcome.problems:
            kinds[_kind(problem)] += 1
    seconds = sorted(outcome.seconds for outcome in outcomes)
    diary = [outcome for outcome in outcomes if outcome.case.target == "diary"]
    return {
        "cases": len(outcomes),
        "failed": sum(bool(outcome.problems) for outcome in outcomes),
        "by_target": {target: sum(outcome.case.target == target for outcome in outcomes)
                      for target in TARGETS},
        "failed_by_target": {target: sum(bool(o.problems) for o in outcomes
                                         if o.case.target == target) for target in TARGETS},
        "kinds": dict(kinds),
        "hangs": kinds["hang"], "tracebacks": kinds["traceback"],
        "episodes_readable": sum(outcome.readable for outcome in diary),
        "episodes_lost": sum(outcome.lost for outcome in diary),
        "diaries_damaged": sum(outcome.readable < 40 for outcome in diary),
        "median_s": statistics.median(seconds) if seconds else 0.0,
        "max_s": seconds[-1] if seconds else 0.0,
        "examples": [outcome.describe() for outcome in outcomes if outcome.problems][:10],
    }


def _kind(problem: str) -> str:
    for key, kind in (("still running", "hang"), ("traceback", "traceback"),
                      ("catch-all", "unexpected problem"), ("exit code", "bad exit code"),
                      ("without a message", "silent failure"), ("stopped working", "stopped"),
                      ("answered differently", "different answer"), ("lost", "episodes lost")):
        if key in problem:
            return kind
    return problem


if __name__ == "__main__":
    figures = fault_figures(int(sys.argv[1]) if len(sys.argv) > 1 else CASES)
    print(json.dumps(figures, indent=1))

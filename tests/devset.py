"""Read the labelled development set (tests/data/devset.tsv) and score a matcher on it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).parent / "data"
DEVSET = DATA / "devset.tsv"
# Tuned on: the first written beside the templates, the others apart from them (writer N; writers
# Z1 and Z2; writers Z3 and Z4; each scored once before anything was tuned on it: the figures are
# in its header).
DEV_SETS = (DEVSET, DATA / "intent_dev.tsv", DATA / "intent_dev2.tsv", DATA / "intent_dev3.tsv")
# Never tuned on: the project's first held-out set, one by writers O and P, one by writers X and Y
# and one by writers H1 and H2 (each scored for the first time after the calibration it measures
# was fixed; the newest last).
HELDOUT_SETS = (DATA / "heldout.tsv", DATA / "intent_heldout.tsv", DATA / "intent_heldout2.tsv",
                DATA / "intent_heldout3.tsv")


@dataclass(frozen=True)
class Line:
    category: str
    text: str
    intent: str
    cause: str


def load_all(paths: tuple[Path, ...]) -> list[Line]:
    return [line for path in paths for line in load(path)]


def load(path: Path = DEVSET) -> list[Line]:
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#") or raw.startswith("category\t"):
            continue
        category, text, intent, cause = (raw.split("\t") + ["", "", "", ""])[:4]
        lines.append(Line(category, text, intent, cause))
    return lines


def correct(line: Line, match) -> bool:
    """Intent right (a middling match that will be confirmed counts), and the cause right too."""
    if line.intent == "unknown":
        return match.intent == "unknown"
    if match.intent != line.intent:
        return False
    if line.intent == "cause_info":
        return match.slots.get("cause") == line.cause
    if line.intent == "symptom_check" and line.cause:
        return line.cause in match.slots.get("causes", [])[:3]
    return True


def score(matcher, lines: list[Line]) -> dict[str, float]:
    """MATCHER's figures on LINES (matcher: a Matcher, a MeaningMatcher or an Understanding)."""
    return tally(lines, [matcher.match(line.text) for line in lines])


def tally(lines: list[Line], results: list) -> dict[str, float]:
    """The figures of RESULTS, each the match of the line at the same place in LINES."""
    pairs = list(zip(lines, results))
    in_domain = [(line, m) for line, m in pairs if line.intent != "unknown"]
    ood = [m for line, m in pairs if line.intent == "unknown"]
    red = [m for line, m in pairs if line.category == "red_flag" or line.intent == "emergency"]
    # Confidently wrong: answered as something else without asking "did you mean" first.
    wrong = [m for line, m in pairs
             if m.intent != "unknown" and not getattr(m, "needs_confirmation", False)
             and not correct(line, m)]
    return {
        "wrong": len(wrong) / len(lines), "n": len(lines),
        "in_domain": sum(correct(line, m) for line, m in in_domain) / len(in_domain),
        "at_once": sum(correct(line, m) and not getattr(m, "needs_confirmation", False)
                       for line, m in in_domain) / len(in_domain),
        "ood_rejected": sum(m.intent == "unknown" for m in ood) / len(ood),
        "red_flags": sum(m.intent == "emergency" for m in red) / len(red) if red else float("nan"),
        "n_in_domain": len(in_domain), "n_ood": len(ood), "n_red": len(red),
    }

"""Fit the meaning matcher's calibration (intents/data/meaning.toml) and report it.

The logistic model is fitted on the example bank only, each writer's lines scored against the
other writers' lines (so its features look as they will on sentences nobody wrote for the bank).
The decision bands are then chosen on the development sets (tests/devset.py DEV_SETS), the
wrong-answer target held with 95% confidence; the held-out sets
are only reported, never used to choose.

    .venv/bin/python -m bench.calibrate            # fit, choose, print, write meaning.toml
    .venv/bin/python -m bench.calibrate --report   # print figures for the shipped file only
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from intents.banks import MEANING_BANK, bank_vectors
from intents.embedding import default_encoder
from intents.matcher import default_word_matcher as default_matcher
from intents.meaning import (
    FEATURES,
    OUT_OF_DOMAIN,
    TEMPLATE_WRITER,
    Calibration,
    Evidence,
    MeaningMatcher,
    SemanticIndex,
    _Semantic,
    body_elsewhere,
    candidate_features,
    candidates,
    episode_told,
    labelled_rows,
    load_calibration,
    symptoms_told,
)
from intents.model import Match
from intents.names import IntentName
from intents.safety import default_safety
from tests import devset

ROOT = Path(__file__).resolve().parent.parent
DEV = devset.DEV_SETS
HELDOUT = devset.HELDOUT_SETS
K = 2
# What a confidently wrong answer costs against a "did you mean ...?" question, in the listener's
# time: a wrong first part is about 12 s of speech that does not help, then the question again
# (about 15 s in all); a "did you mean" is about 3 s and a "yes". So about five questions.
WRONG_COST = 5
# The targets (at most 2% confidently wrong) are promises about sentences nobody here has seen,
# and the development sets are a few hundred lines by few writers: a band that meets 2% on them
# on average misses it on the next set about half the time (the first calibration did: 1.4% on
# development, 2.2% held-out). So the bands must meet it with 95% confidence: the one-sided Wilson
# upper bound of the development rate, not the rate itself, is held to the target.
MAX_WRONG = 0.02
CONFIDENCE_Z = 1.645


def wilson_upper(rate: float, n: int, z: float = CONFIDENCE_Z) -> float:
    """One-sided upper confidence bound of a proportion RATE observed on N lines (Wilson score)."""
    if n <= 0:
        return 1.0
    centre = rate + z * z / (2 * n)
    spread = z * np.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n))
    return float((centre + spread) / (1 + z * z / n))


@dataclass(frozen=True)
class BankSet:
    """The written examples' candidates, each row's seen only through the other writers' rows."""

    x: np.ndarray          # features of each candidate
    y: np.ndarray          # 1 where the candidate is the row's intent
    row: np.ndarray        # the row each candidate belongs to
    writer: np.ndarray     # the writer of each candidate's row
    ood: np.ndarray        # per row: out of domain


@lru_cache(maxsize=2)
def bank_set(k: int) -> BankSet:
    rows = labelled_rows()
    encoder = default_encoder()
    plain = [(intent, cause, text) for intent, cause, _, text in rows]
    vectors = bank_vectors(MEANING_BANK, encoder, plain)
    index = SemanticIndex(plain, vectors, k)
    writers = np.array([writer for _, _, writer, _ in rows])
    words = default_matcher()
    xs: list[list[float]] = []
    ys: list[float] = []
    row_of: list[int] = []
    writer_of: list[str] = []
    ood: list[bool] = []
    for i, (intent, _, writer, text) in enumerate(rows):
        if writer == TEMPLATE_WRITER:
            continue
        ood.append(intent == OUT_OF_DOMAIN)
        sims = index.similarities(vectors[i]).copy()
        others = writers != writer
        sims[~others] = -np.inf
        embed = index.label_scores(sims)
        centroid = centroids_without(plain, vectors, others, vectors[i])
        reading = words.read(text)
        named = bool(reading.causes)
        episode = episode_told(text)
        symptoms = symptoms_told(reading)
        elsewhere = body_elsewhere(text)
        for candidate in candidates(reading.scores, embed, named, episode, symptoms):
            xs.append(candidate_features(candidate, reading.scores, embed, reading.unknown, centroid,
                                         named, episode, symptoms, elsewhere))
            ys.append(float(candidate == intent and intent != OUT_OF_DOMAIN))
            row_of.append(len(ood) - 1)
            writer_of.append(writer)
    return BankSet(np.array(xs), np.array(ys), np.array(row_of), np.array(writer_of),
                   np.array(ood))


def bank_probabilities(bank: BankSet) -> np.ndarray:
    """Each candidate's probability from a model fitted without its writer's rows: how the
    calibration will look on sentences by people whose words it never saw."""
    out = np.zeros(len(bank.y))
    for writer in np.unique(bank.writer):
        held = bank.writer == writer
        weights, bias = fit(bank.x[~held], bank.y[~held])
        out[held] = 1 / (1 + np.exp(-(bank.x[held] @ weights + bias)))
    return out


def bank_figures(bank: BankSet, probability: np.ndarray, accept: float,
                 confirm: float) -> dict[str, float]:
    """In-domain right, out of domain rejected and confidently wrong over the bank's rows, each
    decided by its likeliest candidate (the matcher's decision without the cause slot)."""
    rows = len(bank.ood)
    best = np.full(rows, -1.0)
    right = np.zeros(rows, dtype=bool)
    for p, y, r in zip(probability, bank.y, bank.row):
        if p > best[r]:
            best[r], right[r] = p, y > 0
    answered = best >= confirm
    sure = best >= accept
    in_domain = ~bank.ood
    return {"n": rows, "in_domain": float((right & answered)[in_domain].mean()),
            "ood_rejected": float((~answered)[bank.ood].mean()),
            "wrong": float((sure & ~right).mean()),
            "wrong_in_domain": float((sure & ~right)[in_domain].mean()),
            "at_once": float((right & sure)[in_domain].mean())}


_CENTROIDS: dict[bytes, SemanticIndex] = {}


def centroids_without(rows: list, vectors: np.ndarray, keep: np.ndarray,
                      vector: np.ndarray) -> dict[str, float]:
    """Centroid scores from the rows in KEEP only (one index per writer left out, memoised)."""
    key = keep.tobytes()
    if key not in _CENTROIDS:
        _CENTROIDS[key] = SemanticIndex([r for r, k in zip(rows, keep) if k], vectors[keep], K)
    return _CENTROIDS[key].centroid_scores(vector)


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, steps: int = 50) -> tuple[np.ndarray, float]:
    """Logistic regression by Newton's method (small L2 on the weights, none on the bias)."""
    design = np.hstack([x, np.ones((len(x), 1))])
    theta = np.zeros(design.shape[1])
    penalty = np.full(design.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-design @ theta))
        gradient = design.T @ (p - y) + penalty * theta
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if np.abs(step).max() < 1e-8:
            break
    return theta[:-1], float(theta[-1])


def gather(semantic: _Semantic, paths: tuple[Path, ...]) -> list[tuple[devset.Line, Evidence]]:
    """Each line of PATHS with both views' evidence (gathered once, then decided many times)."""
    words = default_matcher()
    lines = [line for path in paths for line in devset.load(path)]
    return [(line, Evidence.gather(line.text, words.read(line.text), semantic.index,
                                   semantic.encoder)) for line in lines]


def decide(matcher: MeaningMatcher, line: devset.Line, evidence: Evidence) -> Match:
    """As the skill hears it: the safety stage first, then the matcher."""
    if _alarm(line.text):
        return Match(intent=IntentName.EMERGENCY, confidence=1.0, text=line.text, guess=IntentName.EMERGENCY)
    return matcher.choose(evidence) if evidence.reading.words else evidence.reading.match


@cache
def _alarm(text: str) -> bool:
    return default_safety().assess(text).alarm


def figures(matcher: MeaningMatcher, gathered: list[tuple[devset.Line, Evidence]]) -> dict[str, float]:
    lines = [line for line, _ in gathered]
    return devset.tally(lines, [decide(matcher, line, evidence) for line, evidence in gathered])


def misses(matcher: MeaningMatcher, gathered: list[tuple[devset.Line, Evidence]]) -> list[str]:
    out = []
    for line, evidence in gathered:
        match = decide(matcher, line, evidence)
        if not devset.correct(line, match):
            out.append(f"{line.category}\t{line.intent}/{line.cause} -> {match.intent}"
                       f"/{match.slots.get('cause', '')} {match.confidence:.2f}"
                       f"{' (ask)' if match.needs_confirmation else ''}\t{line.text}")
    return out


def write(path: Path, weights: np.ndarray, bias: float, k: int, accept: float, confirm: float,
          cause_min: float, note: str) -> None:
    lines = ["# The meaning matcher's calibration (intents/meaning.py). Written by",
             "# `python -m bench.calibrate`: the model is fitted on intents/data/intent_examples.tsv",
             "# (each writer's lines against the others'); the bands are chosen on the development",
             "# sets; the held-out set is never used. " + note,
             "schema_version = 1", "", "[model]", f"k = {k}", f"bias = {bias:.5f}", "",
             "[model.weights]"]
    lines += [f"{name} = {value:.5f}" for name, value in zip(FEATURES, weights)]
    lines += ["", "[decision]",
              "# Probability at or above accept: answer; from confirm: ask \"did you mean\"; below: unknown.",
              f"accept = {accept:.3f}", f"confirm = {confirm:.3f}",
              "# A cause question names no cause we spot: the nearest cause's mean cosine must reach this.",
              f"cause_min = {cause_min:.3f}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--misses", action="store_true", help="list the development misses")
    args = parser.parse_args(argv)
    out = ROOT / "intents/data/meaning.toml"
    from intents.meaning import load_semantic

    if not args.report:
        bank = bank_set(K)
        x, y = bank.x, bank.y
        weights, bias = fit(x, y)
        held_out_writers = bank_probabilities(bank)
        print(f"fitted on {len(y)} candidates ({int(y.sum())} right):",
              dict(zip(FEATURES, np.round(weights, 3))), "bias", round(bias, 3))
        semantic = load_semantic(K)
        dev_evidence = gather(semantic, DEV)
        best = None
        for confirm in np.arange(0.30, 0.80, 0.025):
            for accept in np.arange(confirm, 0.96, 0.025):
                calibration = Calibration(tuple(weights), bias, float(accept), float(confirm), K, 0.45)
                dev = figures(MeaningMatcher(default_matcher(), calibration, semantic), dev_evidence)
                # Two views of unseen sentences: the development sets (one or two writers, every
                # step of the decision), and the bank's rows each decided by a model fitted
                # without its writer (eleven writers, intent only). A band is judged on both,
                # so it cannot fit one writer's habits. The bank's out-of-domain rows were
                # written to be as near the domain as possible, far harder than what people
                # ask, so from the bank only its in-domain rows' wrong answers count.
                writers = bank_figures(bank, held_out_writers, float(accept), float(confirm))
                both = {name: (dev[name] * dev["n"] + writers[name] * writers["n"])
                        / (dev["n"] + writers["n"]) for name in ("in_domain", "at_once", "wrong")}
                # Safety of the answer first: at most 2% confidently wrong (with 95% confidence,
                # above) and 95% out of domain rejected; then the most in-domain lines right;
                # then the fewest "did you mean" questions, each confidently wrong answer
                # costing WRONG_COST of them. When no band meets the bound (the wrong answers
                # are confident ones, which no band can hold back), the rate itself is held to
                # the target, and it says so.
                ok = (dev["ood_rejected"] >= 0.95 and dev["wrong"] <= MAX_WRONG
                      and writers["wrong_in_domain"] <= MAX_WRONG)
                sure = ok and wilson_upper(dev["wrong"], int(dev["n"])) <= MAX_WRONG
                key = (sure, ok, round(both["in_domain"], 3),
                       both["at_once"] - WRONG_COST * both["wrong"])
                if best is None or key > best[0]:
                    best = (key, float(accept), float(confirm), dev)
        assert best is not None
        (sure, _, *_), accept, confirm, dev = best
        if not sure:
            print(f"No band keeps confidently wrong answers under {MAX_WRONG:.0%} with 95% "
                  "confidence: the rate itself is held to it.")
        print("bank, each writer's rows by a model fitted without them:",
              bank_figures(bank, held_out_writers, accept, confirm))
        print(f"chosen on dev: accept {accept:.2f} confirm {confirm:.2f}: {dev}")
        write(out, weights, bias, K, accept, confirm, 0.45,
              f"Fitted on {len(y)} candidates.")
    calibration = load_calibration()
    semantic = load_semantic(calibration.k)
    matcher = MeaningMatcher(default_matcher(), calibration, semantic)
    for name, paths in (("development", DEV), ("held-out", HELDOUT)):
        gathered = gather(semantic, paths)
        print(name, figures(matcher, gathered))
        if args.misses and name == "development":
            print("\n".join(misses(matcher, gathered)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The meaning matcher: the word matcher's scores weighed with sentence embeddings.

Two views of one utterance:

* the word matcher (intents/matcher.py) knows the domain's words: it mends recognition errors,
  finds cause names however they are misheard, and is sure of itself on the phrasings its
  templates cover;
* the embedding view knows meaning: the utterance is compared with a bank of example sentences
  written apart from the templates (intents/data/intent_examples.tsv, plus two sentences of
  every template, and out-of-domain lines near the domain as negatives). Each label's score is
  the mean cosine of its K nearest examples.

For each candidate intent (the word matcher's best and the embedding's best) a logistic model
turns both views' scores and margins into one probability that the candidate is right
(intents/data/meaning.toml, fitted by ``python -m intents.calibrate`` on the example bank, each
writer's lines scored against the others' only). The best probability decides: answer, ask
"did you mean ...?", or say it is outside what numb-legs knows.

The embedding model loads in the background; until it is there (or if it cannot load), the word
matcher answers alone, as it always did.
"""

from __future__ import annotations

import csv
import logging
import math
import random
import re
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from knowledge.datafile import Node, read_package_toml
from knowledge.errors import NumbLegsError

from .banks import MEANING_BANK, Row
from .matcher import Matcher, Reading
from .model import Match, Slots
from .names import IntentName
from .normalize import language
from .scales import steer

_LOGGER = logging.getLogger(__name__)

OUT_OF_DOMAIN = "out_of_domain"
EXAMPLES_FILE = "intent_examples.tsv"
TEMPLATE_WRITER = "templates"
# Features of one candidate, in the order of the fitted weights.
_BODY_WORD = re.compile(r"[a-z]+")
FEATURES = ("word", "embed", "embed_margin", "ood_gap", "word_margin", "agree", "unknown_words",
            "centroid_margin", "centroid_ood_gap", "cause_named", "word_near_exact",
            "episode_told", "symptoms_told", "body_elsewhere")


class MeaningUnavailable(NumbLegsError):
    """The example bank or the calibration cannot be read."""


@dataclass(frozen=True)
class Calibration:
    """A logistic model over FEATURES, and the decision bands on its probability."""

    weights: tuple[float, ...]
    bias: float
    accept: float
    confirm: float
    k: int
    cause_min: float

    @classmethod
    def from_node(cls, node: Node) -> Calibration:
        node.require_version()
        model = node.get("model")
        weights = model.get("weights")
        decision = node.get("decision")
        return cls(weights=tuple(weights.get(name).number() for name in FEATURES),
                   bias=model.get("bias").number(), k=model.get("k").integer(1, 50),
                   accept=decision.get("accept").number(0.0, 1.0),
                   confirm=decision.get("confirm").number(0.0, 1.0),
                   cause_min=decision.get("cause_min").number(-1.0, 1.0))

    def probability(self, features: Sequence[float]) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, features))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def load_calibration() -> Calibration:
    label, data = read_package_toml("intents", "meaning.toml")
    return Calibration.from_node(Node(label, data))


class SemanticIndex:
    """The example bank as unit vectors, scored per label by the mean of the K nearest."""

    def __init__(self, rows: Sequence[Row], vectors: np.ndarray, k: int) -> None:
        self.rows = list(rows)
        self.vectors = vectors
        self.k = k
        labels = [label for label, _, _ in rows]
        self.labels = tuple(dict.fromkeys(labels))
        self._members = {label: np.array([i for i, own in enumerate(labels) if own == label])
                         for label in self.labels}
        # Cause questions and described cases alike say which cause they are about.
        causes = [(i, detail) for i, (label, detail, _) in enumerate(rows)
                  if label in (IntentName.CAUSE_INFO, IntentName.SYMPTOM_CHECK) and detail]
        self.causes = tuple(dict.fromkeys(detail for _, detail in causes))
        self._cause_members = {cause: np.array([i for i, d in causes if d == cause])
                               for cause in self.causes}
        # Each label's centroid: the prototype view, steadier than the nearest few examples.
        centroids = np.stack([vectors[self._members[label]].mean(axis=0) for label in self.labels])
        self._centroids = centroids / np.linalg.norm(centroids, axis=1, keepdims=True)

    def centroid_scores(self, vector: np.ndarray) -> dict[str, float]:
        return dict(zip(self.labels, (self._centroids @ vector).tolist()))

    def similarities(self, vector: np.ndarray) -> np.ndarray:
        return self.vectors @ vector

    def label_scores(self, sims: np.ndarray) -> dict[str, float]:
        return {label: _top_mean(sims[rows], self.k) for label, rows in self._members.items()}

    def cause_scores(self, sims: np.ndarray) -> dict[str, float]:
        return {cause: _top_mean(sims[rows], self.k) for cause, rows in self._cause_members.items()}


def _top_mean(values: np.ndarray, k: int) -> float:
    """Mean of the K largest VALUES (-inf values, masked rows, are left out)."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0
    if values.size > k:
        values = np.partition(values, -k)[-k:]
    return float(values.mean())


def candidate_features(intent: str, word: dict[str, float], embed: dict[str, float],
                       unknown: float, centroid: dict[str, float], cause_named: bool,
                       episode: float = 0.0, symptoms: int = 0,
                       elsewhere: float = 0.0) -> list[float]:
    """FEATURES of INTENT given every intent's word score, every label's embedding score and the
    share of words the domain has never seen."""
    w = word.get(intent, 0.0)
    e = embed.get(intent, 0.0)
    other_embed = max((v for k, v in embed.items() if k not in (intent, OUT_OF_DOMAIN)), default=0.0)
    other_word = max((v for k, v in word.items() if k != intent), default=0.0)
    best_word = max(word, key=word.__getitem__) if word else ""
    in_domain = {k: v for k, v in embed.items() if k != OUT_OF_DOMAIN}
    best_embed = max(in_domain, key=in_domain.__getitem__) if in_domain else ""
    agree = float(intent == best_word == best_embed)
    c = centroid.get(intent, 0.0)
    other_centroid = max((v for k, v in centroid.items() if k not in (intent, OUT_OF_DOMAIN)),
                         default=0.0)
    return [w, e, e - other_embed, embed.get(OUT_OF_DOMAIN, 0.0) - e, w - other_word, agree, unknown,
            c - other_centroid, centroid.get(OUT_OF_DOMAIN, 0.0) - c,
            float(cause_named and intent == IntentName.CAUSE_INFO),
            # A near-exact template match is right far more often than a straight line through
            # the word score says (99% above 0.95 on the bank): a hinge lets the model see it.
            max(0.0, w - 0.85) / 0.15,
            episode if intent == IntentName.JOURNAL_LOG else 0.0,
            min(symptoms, 2) / 2 if intent == IntentName.SYMPTOM_CHECK else 0.0,
            elsewhere]


def candidates(word: dict[str, float], embed: dict[str, float], cause_named: bool,
               episode: float = 0.0, symptoms: int = 0) -> list[str]:
    """The intents worth weighing: each view's best in-domain intent, a question about the cause
    when one is named, the diary when an episode is told, the symptom check when symptoms are."""
    out: list[str] = [IntentName.CAUSE_INFO] if cause_named else []
    if episode:
        out.append(IntentName.JOURNAL_LOG)
    if symptoms:
        out.append(IntentName.SYMPTOM_CHECK)
    if word:
        out.append(max(word, key=word.__getitem__))
    in_domain = {k: v for k, v in embed.items() if k != OUT_OF_DOMAIN}
    if in_domain:
        best = max(in_domain, key=in_domain.__getitem__)
        if best not in out:
            out.append(best)
    return list(dict.fromkeys(out))


@dataclass(frozen=True)
class _Semantic:
    encoder: Any
    index: SemanticIndex


class MeaningMatcher:
    """The word matcher and the embedding bank, combined into one calibrated confidence."""

    def __init__(self, words: Matcher, calibration: Calibration,
                 semantic: _Semantic | Future[_Semantic] | None = None) -> None:
        self.words = words
        self.kb = words.kb
        self.calibration = calibration
        self._semantic = semantic
        self._lock = threading.Lock()
        self.reduced = ""

    def _ensure(self) -> _Semantic | None:
        """The embedding view, waiting for it if it is still loading; None if it failed."""
        semantic = self._semantic
        if isinstance(semantic, Future):
            with self._lock:
                try:
                    self._semantic = semantic.result()
                except Exception as error:  # noqa: BLE001 - any failure leaves the word matcher
                    self.reduced = str(error)
                    _LOGGER.warning("Matching by meaning is off: %s", error)
                    self._semantic = None
            semantic = self._semantic
        return semantic if isinstance(semantic, _Semantic) else None

    def prime(self, texts: Sequence[str]) -> None:
        """Encode TEXTS (a recogniser's n-best) in one call before each is matched."""
        semantic = self._ensure()
        if semantic is not None:
            semantic.encoder.prime([text[:2000] for text in texts])

    def match(self, text: str) -> Match:
        """The meaning of TEXT. Never raises for any string."""
        reading = self.words.read(text)
        # The first utterance waits for the model if it is still loading (half a second at
        # most after start-up): an answer must not depend on how fast the machine started.
        semantic = self._ensure()
        if semantic is None or not reading.words:
            return steer(reading.match, text)
        return self.decide(text, reading, semantic)

    def decide(self, text: str, reading: Reading, semantic: _Semantic) -> Match:
        return self.choose(Evidence.gather(text, reading, semantic.index, semantic.encoder))

    def choose(self, evidence: Evidence) -> Match:
        """The decision from both views' scores (separate from gathering them, so calibration
        can try many settings on the same evidence)."""
        reading, embed, cal = evidence.reading, evidence.embed, self.calibration
        named = bool(reading.causes)
        episode = evidence.episode
        symptoms = symptoms_told(reading)
        scored = sorted(((cal.probability(candidate_features(c, reading.scores, embed,
                                                             reading.unknown, evidence.centroid,
                                                             named, episode, symptoms,
                                                             evidence.elsewhere)), c)
                         for c in candidates(reading.scores, embed, named, episode, symptoms)),
                        reverse=True)
        probability, intent = scored[0]
        fuzzy = reading.match
        slots = Slots(**fuzzy.slots) if intent == fuzzy.guess else self.words.slots_for(intent, reading)
        if intent == IntentName.CAUSE_INFO and not slots.get("cause"):
            causes = evidence.causes
            cause = max(causes, key=causes.__getitem__) if causes else ""
            if cause and causes[cause] >= cal.cause_min:
                slots["cause"] = cause
            else:
                # A question about a cause we cannot name: not answerable as asked.
                probability = 0.0
        if intent == IntentName.SYMPTOM_CHECK:
            slots["causes"] = self._symptom_causes(slots, evidence.causes, cal.cause_min)
        confidence = round(probability, 4)
        if evidence.elsewhere and intent != IntentName.EMERGENCY:
            # numb-legs knows the legs: a question that names only another part of the body
            # ("my arm fell asleep") may be meant for the legs, but is never answered as if it
            # were without asking first. The model weighs it too; this makes it a promise.
            confidence = min(confidence, round(cal.accept - 1e-4, 4))
        # An emergency is acted on at once, never asked about ("did you mean..."), so a request
        # for help must be heard as surely as any other answer (the safety stage, which ran
        # first, hears every warning sign however unsure the matcher is).
        floor = cal.accept if intent == IntentName.EMERGENCY else cal.confirm
        if confidence < floor:
            return replace(fuzzy, intent=IntentName.UNKNOWN, confidence=confidence, slots={},
                           needs_confirmation=False, guess=intent)
        return steer(Match(intent=intent, confidence=confidence, slots=slots,
                           matched=fuzzy.matched if intent == fuzzy.guess else f"(meaning) {intent}",
                           text=fuzzy.text, needs_confirmation=confidence < cal.accept,
                           guess=intent), fuzzy.text)


    def _symptom_causes(self, slots: Slots, causes: dict[str, float],
                        floor: float) -> list[str]:
        """The three likeliest causes: the knowledge base's ranking of the symptoms heard, with
        the cause whose described cases sound most like this one counted as if named."""
        from knowledge.queries import rank_causes

        boost = list(slots.get("mentioned", []))
        nearest = max(causes, key=causes.__getitem__) if causes else ""
        if nearest and causes[nearest] >= floor:
            boost.append(nearest)
        ranked = rank_causes(self.kb, slots.get("features", []), boost=boost)
        return [item.cause.id for item in ranked[:3]]


@dataclass(frozen=True)
class Evidence:
    """Both views of one utterance: the word matcher's reading and the embedding's scores."""

    reading: Reading
    embed: dict[str, float]
    causes: dict[str, float]
    centroid: dict[str, float]
    episode: float = 0.0
    elsewhere: float = 0.0

    @classmethod
    def gather(cls, text: str, reading: Reading, index: SemanticIndex, encoder: Any) -> Evidence:
        vector = encoder.encode_one(text[:2000])
        sims = index.similarities(vector)
        return cls(reading, index.label_scores(sims), index.cause_scores(sims),
                   index.centroid_scores(vector), episode_told(text), body_elsewhere(text))


def body_elsewhere(text: str) -> float:
    """1 when TEXT names a part of the body other than the legs and feet, and none of those."""
    lang = language()
    words = set(_BODY_WORD.findall(text[:2000].lower()))
    return float(bool(words & lang.elsewhere) and not words & lang.legs)


def symptoms_told(reading: Reading) -> int:
    """How many different symptoms of the knowledge base the utterance names."""
    return len({spot.label for spot in reading.features})


def episode_told(text: str) -> float:
    """How plainly TEXT tells an episode for the diary, 0..1: a time in the past, a duration,
    a word such as "log" or "diary" (each one counts half)."""
    from datetime import datetime

    from knowledge.diary.timeparse import parse

    heard = parse(text[:500], datetime(2026, 6, 15, 23, 59))  # a fixed late "now": any time of
    # day said is then in the past, so the answer never depends on the clock
    told = (heard.when is not None and not heard.when.relative_to_now) + \
        (heard.duration_s is not None) + heard.logging_cue
    return min(told, 2) / 2


# -- the bank ------------------------------------------------------------------------------------


def read_examples(lines: Iterable[str], label: str) -> list[tuple[str, str, str, str]]:
    """(intent, cause, writer, sentence) rows of an example file; '#' lines are its header."""
    rows = []
    for number, row in enumerate(csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
        if not row or row[0].startswith("#"):
            continue
        if len(row) != 5:
            raise MeaningUnavailable(f"{label}, line {number}: expected intent, cause, style, "
                                     "writer, sentence")
        intent, cause, _style, writer, sentence = row
        rows.append((intent, cause, writer, sentence))
    return rows


@lru_cache(maxsize=1)
def load_examples() -> tuple[tuple[str, str, str, str], ...]:
    """The written examples (intent, cause, writer, sentence), read once per process: the
    meaning bank and the safety stage's known words and harmless anchors all use them."""
    text = resources.files("intents").joinpath("data").joinpath(EXAMPLES_FILE).read_text("utf-8")
    return tuple(read_examples(text.splitlines(), f"intents/data/{EXAMPLES_FILE}"))


def template_rows() -> list[tuple[str, str, str, str]]:
    """Two sentences of every template, causes and symptoms filled in from the knowledge base."""
    from knowledge.loader import load_knowledge

    from .loader import load_templates
    from .templates import sample

    kb = load_knowledge()
    rng = random.Random(12)
    # A symptom that is also a cause's name ("sciatica") would teach the bank that naming the
    # cause is describing symptoms, and "tell me about sciatica" would start the symptom check.
    names = {name.lower() for cause in kb.causes for name in cause.names}
    symptoms = [p for f in kb.features for p in f.phrases
                if "(" not in p and "[" not in p and p.lower() not in names]
    rows = []
    for name, templates in load_templates():
        for template in templates:
            for _ in range(2):
                chosen = rng.choice(kb.causes)

                def fill(slot: str, names: tuple[str, ...] = (chosen.name, *chosen.aliases)) -> str:
                    return rng.choice(names) if slot == "cause" else rng.choice(symptoms)

                sentence = " ".join(sample(template, rng, fill).split())
                cause = chosen.id if name == IntentName.CAUSE_INFO and "{cause}" in template else ""
                rows.append((name, cause, TEMPLATE_WRITER, sentence))
    return list(dict.fromkeys(rows))


def labelled_rows() -> list[tuple[str, str, str, str]]:
    """Every bank row with its writer: the written examples, then the template sentences."""
    return list(dict.fromkeys([*load_examples(), *template_rows()]))


def bank_rows() -> list[Row]:
    return [(intent, cause, sentence) for intent, cause, _, sentence in labelled_rows()]


def load_semantic(k: int) -> _Semantic:
    """The shipped encoder and bank; raises a NumbLegsError naming what to reinstall."""
    from .banks import bank_vectors
    from .embedding import default_encoder

    encoder = default_encoder()
    rows = bank_rows()
    return _Semantic(encoder, SemanticIndex(rows, bank_vectors(MEANING_BANK, encoder, rows), k))


@lru_cache(maxsize=1)
def default_matcher() -> MeaningMatcher:
    """The meaning matcher over the shipped data; its embedding view loads in the background
    (on the same worker as the safety stage's, so the model loads once)."""
    from .matcher import default_word_matcher
    from .safety import background

    calibration = load_calibration()
    return MeaningMatcher(default_word_matcher(), calibration,
                          background().submit(load_semantic, calibration.k))

"""The safety stage: red flags however they are said, before anything else, on every utterance.

Two layers. Concept rules (data in knowledge/data/red_flags.toml): the utterance is cut into
clauses, each concept is found by its lay words (misspellings mended), and dropped where a
negation covers it ("my face is NOT drooping"), where its clause is about the remote past ("had a
stroke two years ago"), or where it sits in a general question ("what are the signs of a stroke").
A red flag fires when one of its rules has all its concepts. Then a semantic backstop: the
utterance's sentence embedding against a bank of red-flag examples and near-misses written apart
(intents/data/safety_examples.tsv). The backstop can only add an alarm or a safety question, never
take away what the rules raised: a frightened person's new wording should not depend on our list.
"""

from __future__ import annotations

import csv
import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Protocol

import numpy as np
from rapidfuzz import fuzz, process

from knowledge.errors import NumbLegsError
from knowledge.model import KnowledgeBase, RedFlag, Rule

from .cache import cached
from .names import IntentName
from .normalize import normalize

_LOGGER = logging.getLogger(__name__)

ALARM, ASK, NONE = "alarm", "ask", "none"
YES, NO, UNSURE = "yes", "no", "unsure"
_LEVEL_ORDER = {NONE: 0, ASK: 1, ALARM: 2}
# Rules read this much of an over-long message (a red flag is said early; a 1 MB paste must not
# stall the turn); the backstop reads what the encoder reads (128 tokens).
MAX_CHARS = 20_000
_BOUNDARY = "|"
_CLAUSE_BREAK = re.compile(r"[.!?;:,()\[\]\n\r\t\u2014\u2013\"]+|\s-\s")
_POSSESSIVE = re.compile(r"'s\b")
_WORD = re.compile(r"[a-z][a-z']*")
# "my foot's gone pale": 's before these words is "is" or "has", not a possessive.
_IS_NOT_POSSESSIVE = re.compile(r"(?<=[a-z])['\u2019]s (?=(?:gone|been|got|getting|going|not|all|"
                                r"really|very|completely|totally|so|just|turned|started|now|still|"
                                r"numb|weak|cold|swollen|drooping|dropped|slurred)\b)")
_NEGATION_WINDOW = 6
# A clause opened by one of these after a denied clause is denied too (see _negation_cues).
_DENIAL_GOES_ON = frozenset({"or", "nor"})
_YEAR = re.compile(r"^(19[5-9][0-9]|20[0-2][0-9])$")
_SETTLED = frozenset({"fine", "better", "okay", "ok", "alright", "gone", "normal", "stopped",
                      "good", "well", "over"})
_PRESENT_TENSE = frozenset({"is", "are", "am", "cannot", "keeps", "keep", "has", "have", "will",
                            "does", "do", "now", "today", "currently", "started", "starting",
                            "getting", "going"})
# A clause with one of these and no symptom says that something is all right ("breathing fine",
# "his legs are strong").
_SETTLED_STATE = frozenset({"fine", "okay", "ok", "alright", "normal", "strong"})
# Between a sign and the word that says it is all right ("face LOOKS fine").
_COPULAS = frozenset({"is", "are", "was", "were", "look", "looks", "seem", "seems", "feel",
                      "feels", "totally", "completely", "perfectly"})
_FILLERS = frozenset({"all", "really", "just", "so", "like", "very", "a", "bit", "kind", "sort",
                      "of", "um", "uh", "totally", "completely", "gone", "went", "are", "is"})
_MAX_FILLERS = 2  # between two words of a phrase
# A word a phrase bans from following it is banned after one of these too: "slipped -disc" is
# not a fall in "slipped A disc", nor "cannot see -doctor" a sight lost in "cannot see MY doctor".
_DETERMINERS = frozenset({"a", "an", "the", "my", "your", "his", "her", "our", "their", "any"})
_MIN_MENDABLE = 5
_MEND_CUTOFF = 88.0

# Backstop thresholds, tuned on the development set (tests/data/safety_dev.tsv), never on the
# held-out set. Similarities are cosines of L2-normalised MiniLM embeddings.
EMBED_ALARM = 0.62     # nearest red-flag example at least this close ...
EMBED_MARGIN = 0.03    # ... and this much closer than the nearest harmless one: alarm
EMBED_ASK = 0.60       # nearest red-flag example this close and closer than any harmless: ask
EMBED_K = 5
EMBED_QUESTION_ASK = 0.72  # an utterance that opens as a question: ask only, and only this close


@dataclass(frozen=True)
class Assessment:
    """What the safety stage found in one utterance."""

    level: str = NONE                  # alarm, ask or none
    flag: str = ""                     # the red flag's id
    evidence: tuple[str, ...] = ()     # the concepts (or nearest example) that decided it
    layer: str = ""                    # "rules" or "embedding"
    score: float = 0.0                 # embedding similarity (rules: 1.0)

    @property
    def alarm(self) -> bool:
        return self.level == ALARM

    @property
    def ask(self) -> bool:
        return self.level == ASK

    def to_json(self) -> dict[str, object]:
        return {"level": self.level, "flag": self.flag, "evidence": list(self.evidence),
                "layer": self.layer, "score": round(self.score, 3)}


@dataclass(frozen=True)
class _Found:
    concept: str
    start: int
    end: int
    clause: int


class _Phrase:
    """One lexicon phrase: words (``x*`` a prefix) and, after a word, words that must not follow."""

    __slots__ = ("concept", "words", "not_next", "negative")

    def __init__(self, concept: str, text: str, negation: frozenset[str]) -> None:
        self.concept = concept
        words: list[str] = []
        not_next: dict[int, tuple[str, ...]] = {}
        for token in text.split():
            if token.startswith("-"):
                index = len(words) - 1
                not_next[index] = (*not_next.get(index, ()), token[1:])
            else:
                words.append(token)
        self.words = tuple(words)
        self.not_next = not_next
        # "cannot feel", "no pulse": the negation is the sign itself, so it negates nothing else.
        self.negative = any(w in negation or w == "cannot" for w in words)

    def match_at(self, tokens: Sequence[str], i: int) -> int:
        """The end of the match starting at token I, or -1. Between the phrase's words a few
        fillers may stand ("words coming out ALL wrong", "face has gone REALLY droopy")."""
        j = i
        for k, word in enumerate(self.words):
            skipped = 0
            while k and j < len(tokens) and tokens[j] in _FILLERS and tokens[j] != word \
                    and skipped < _MAX_FILLERS:
                j += 1
                skipped += 1
            if j >= len(tokens) or tokens[j] == _BOUNDARY or not _word_matches(word, tokens[j]):
                return -1
            banned = self.not_next.get(k)
            if banned and _followed_by(tokens, j, banned):
                return -1
            j += 1
        return j


def _followed_by(tokens: Sequence[str], i: int, words: tuple[str, ...]) -> bool:
    """Is token I followed by one of WORDS, at once or after a determiner?"""
    after = tokens[i + 1:i + 3]
    return bool(after) and (after[0] in words or (
        len(after) == 2 and after[0] in _DETERMINERS and after[1] in words))


def _by_second_word(phrases: Sequence[_Phrase],
                    ) -> tuple[dict[str, list[tuple[int, _Phrase]]], list[tuple[int, _Phrase]]]:
    """PHRASES (in order, each with its place) by their second word where it is a whole word;
    the rest (one word, or a prefix second) in a list of their own, tried at every opening."""
    by_word: dict[str, list[tuple[int, _Phrase]]] = {}
    always: list[tuple[int, _Phrase]] = []
    for order, phrase in enumerate(phrases):
        if len(phrase.words) > 1 and not phrase.words[1].endswith("*"):
            by_word.setdefault(phrase.words[1], []).append((order, phrase))
        else:
            always.append((order, phrase))
    return by_word, always


def _said_to_be_well(tokens: Sequence[str], end: int) -> bool:
    """The words after a sign ending at END say it is all right: "both sides of my face ARE
    FINE", "face looks normal" (a sign named only to be ruled out)."""
    j = end
    while j < len(tokens) and j - end < 2 and tokens[j] in _COPULAS:
        j += 1
    return j < len(tokens) and tokens[j] in _SETTLED_STATE


def _word_matches(pattern: str, token: str) -> bool:
    if pattern.endswith("*"):
        return token.startswith(pattern[:-1])
    return token == pattern


class SafetyUnavailable(NumbLegsError):
    """The safety stage's data cannot be used."""


class Encoder(Protocol):
    def encode(self, texts: Sequence[str]) -> np.ndarray: ...
    def encode_one(self, text: str) -> np.ndarray: ...
    def prime(self, texts: Sequence[str]) -> None: ...


@dataclass(frozen=True)
class Backstop:
    """The sentence encoder and its bank: one unit-length vector per labelled example."""

    encoder: Encoder
    vectors: np.ndarray
    labels: list[tuple[str, str, str]]
    # True for each red-flag example (the rest are near-misses and everyday questions).
    emergency: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "emergency",
                           np.array([label == "emergency" for label, _, _ in self.labels]))


class SafetyStage:
    """Concept rules plus an optional embedding backstop over the shipped red flags."""

    def __init__(self, kb: KnowledgeBase, backstop: Backstop | Future[Backstop] | None = None,
                 ) -> None:
        self.kb = kb
        lexicon = kb.safety
        words = lexicon.words
        self._negation = frozenset(w for w in words["negation"] if " " not in w)
        self._forms = _Forms(lexicon.forms)
        self._lists = {name: [tuple(_tokens(w)) for w in values] for name, values in words.items()}
        # Each list's phrases by their first word: an utterance's own words pick the phrases to
        # try, where trying every phrase of every list took most of the rules' time.
        self._opening: dict[str, dict[str, list[tuple[str, ...]]]] = {}
        for name, listed in self._lists.items():
            for said in listed:
                if said:
                    self._opening.setdefault(name, {}).setdefault(said[0], []).append(said)
        self._kinds = {concept.name: concept.kind for concept in lexicon.concepts}
        self._by_first: dict[str, list[_Phrase]] = {}
        # Phrases that open with a prefix ("numb*"), by that prefix, each with its place in the
        # lexicon: a token looks up each prefix length once, not every prefix (the rules' cost
        # is paid for each of a recogniser's ten transcripts).
        self._by_prefix: dict[str, list[tuple[int, _Phrase]]] = {}
        vocabulary: set[str] = set()
        self._prefixes: set[str] = set()
        order = 0
        for concept in lexicon.concepts:
            for text in concept.words:
                phrase = _Phrase(concept.name, " ".join(_tokens(text, keep_marks=True)),
                                 self._negation)
                if not phrase.words:
                    continue
                first = phrase.words[0]
                if first.endswith("*"):
                    self._by_prefix.setdefault(first[:-1], []).append((order, phrase))
                    order += 1
                else:
                    self._by_first.setdefault(first, []).append(phrase)
                for word in phrase.words:
                    if word.endswith("*"):
                        self._prefixes.add(word[:-1])
                    else:
                        vocabulary.add(word)
        for values in self._lists.values():
            for tokens in values:
                vocabulary.update(tokens)
        self._vocabulary = vocabulary
        self._second = {first: _by_second_word(phrases) for first, phrases in self._by_first.items()}
        self._prefix_lengths = sorted({len(prefix) for prefix in self._by_prefix})
        # Only concept words are mending targets: "either" must never become "neither".
        concept_words = {w for c in lexicon.concepts for text in c.words for w in text.split()
                         if not w.endswith("*") and not w.startswith("-")}
        self._mendable = sorted(w for w in concept_words
                                if len(w) >= _MIN_MENDABLE - 1 and w not in self._negation)
        # Words people really wrote in the examples are words, not misspellings: "driving" must
        # never be mended into "diving". Kept on disk: reading both banks at every start took
        # a tenth of a second.
        self._vocabulary |= cached("example-words", _example_words)
        self._mend = lru_cache(maxsize=8192)(self._mend_uncached)
        # A spoken utterance's transcripts are checked more than once on their way (fusing the
        # two recognisers, choosing among the n-best, the dialogue), and the verdict is a pure
        # function of the text: each is worked out once.
        self._rules = lru_cache(maxsize=256)(self._rules_uncached)
        self._flags = {flag.id: flag for flag in kb.red_flags}
        # Each rule with its concepts as sets, in the data's order (a tie keeps the first).
        self._every_rule = [(flag, rule, frozenset(rule.concepts), frozenset(rule.unless))
                            for flag in kb.red_flags for rule in flag.rules]
        self._prefixed = lru_cache(maxsize=8192)(self._prefixed_uncached)
        # The backstop may still be loading (a Future): the rules never wait for it, and the
        # backstop is waited for only when an utterance needs it.
        self._pending = backstop if isinstance(backstop, Future) else None
        self._backstop = backstop if isinstance(backstop, Backstop) else None
        self._reduced = ""

    @property
    def has_backstop(self) -> bool:
        return self._load() is not None

    @property
    def reduced(self) -> str:
        """Why the backstop is off (said once to the user), "" while it is on or still loading."""
        if self._pending is not None and self._pending.done():
            self._load()
        return self._reduced

    @reduced.setter
    def reduced(self, reason: str) -> None:
        self._reduced = reason

    def _load(self) -> Backstop | None:
        if self._pending is not None:
            try:
                self._backstop = self._pending.result()
            # Whatever went wrong while loading, the rules go on: the stage never raises.
            except Exception as error:  # noqa: BLE001 - any failure: the rules go on alone
                _LOGGER.warning("Safety backstop off: %s", error)
                self._reduced = str(error) or type(error).__name__
            self._pending = None
        return self._backstop

    # -- public -------------------------------------------------------------------------------

    def assess(self, text: str) -> Assessment:
        """The safety verdict on TEXT (typed or one transcript). Never raises for any string."""
        ruled, signs, harmless, said = self._rules(text)
        # The backstop reads meaning, not negation or time: it speaks only where a symptom is
        # actually said (not denied, not long past), so "I can feel everything when I wipe"
        # never borrows the alarm of "I can't feel anything when I wipe". For the same reason it
        # weighs what is said to be happening: a question or an alarm it raises on the whole of
        # "no fever, back doesn't hurt, just my feet a bit numb" stands only if it still holds
        # for "just my feet a bit numb" (the denied clauses left out), and the other way round:
        # the whole utterance keeps the near-misses it resembles ("I can feel everything when I
        # wipe" next to "no problems peeing").
        if ruled.alarm or not signs or harmless or self._load() is None:
            return ruled
        embedded = self.backstop(text)
        if said and embedded.level != NONE:
            without = self.backstop(said)
            if _LEVEL_ORDER[without.level] < _LEVEL_ORDER[embedded.level]:
                embedded = without
        if embedded.level != NONE and self._asks_why(text):
            # "Why do my feet go blue?" asks about a symptom in general: meaning alone may ask a
            # safety question there, never sound the alarm.
            if embedded.score < EMBED_QUESTION_ASK:
                return ruled
            embedded = Assessment(ASK, embedded.flag, embedded.evidence, embedded.layer,
                                  embedded.score)
        return embedded if _LEVEL_ORDER[embedded.level] > _LEVEL_ORDER[ruled.level] else ruled

    def assess_many(self, texts: Sequence[str]) -> tuple[int, Assessment]:
        """The verdict over a recogniser's n-best, most likely first (and the index it rests on).

        A red flag in the most likely transcript raises the alarm (or its question), and then
        nothing else need be read; otherwise every other transcript is checked too. One
        heard only in less likely transcripts rests on words the recogniser was unsure of: when
        most of the n-best hold it, it is asked about; when only a few do ("fell can I prevent
        numb legs" under "how can I prevent numb legs"), it is noise and goes no further."""
        # The backstop (several ms a sentence) hears the most likely transcript; the rules hear
        # them all: a less likely one counts only by majority, and that is the rules' to say.
        # The others are read only when the most likely one raised nothing, as it then decides.
        first = self.assess(texts[0]) if texts else Assessment()
        if first.level != NONE:
            return 0, first
        found = [first, *(self.rules(text) for text in texts[1:])]
        raised = [i for i, item in enumerate(found) if item.alarm]
        if raised and len(raised) * 2 > len(found):
            held = found[raised[0]]
            return raised[0], Assessment(ASK, held.flag, held.evidence, held.layer, held.score)
        if raised:
            _LOGGER.debug("Red flag in %d of %d transcripts only: %s", len(raised), len(found),
                          [texts[i] for i in raised])
        return 0, found[0]

    def _asks_why(self, text: str) -> bool:
        words = self._prepare(text[:200])
        return any(tuple(words[:len(s)]) == s for s in self._lists["generic_start"])

    def rules(self, text: str) -> Assessment:
        """The concept rules alone."""
        return self._rules(text)[0]

    def _rules_uncached(self, text: str) -> tuple[Assessment, bool, bool, str]:
        """The rules' verdict; whether a symptom (a live sign concept) was said; whether the
        utterance explains it as harmless (sat cross-legged, went away, for months); and, when
        some clauses only deny a sign or say all is well, what the rest says ("" when nothing
        was left out)."""
        tokens = self._prepare(text[:MAX_CHARS])
        found, said = self._live_concepts(tokens)
        present = {f.concept for f in found}
        signs = any(self._kinds[c] == "sign" for c in present)
        where: dict[str, list[int]] = {}
        for item in found:
            where.setdefault(item.concept, []).append(item.start)
        harmless = any(self._kinds[c] == "harmless" for c in present)
        best: tuple[int, int, RedFlag, Rule] | None = None
        for flag, rule, needs, unless in self._every_rule:
            if not needs <= present or (rule.weak and harmless) or not unless.isdisjoint(present):
                continue
            if rule.near and not _close(rule.concepts, where):
                continue
            # Alarms beat questions; among equals the rule naming more concepts says more.
            key = (0 if rule.ask else 1, len(rule.concepts))
            if best is None or key > best[:2]:
                best = (*key, flag, rule)
        if best is None:
            return Assessment(), signs, harmless, said
        _, _, flag, rule = best
        return Assessment(level=ASK if rule.ask else ALARM, flag=flag.id, evidence=rule.concepts,
                          layer="rules", score=1.0), signs, harmless, said

    def backstop(self, text: str) -> Assessment:
        """The embedding layer alone: nearest examples in the bank."""
        backstop = self._load()
        if backstop is None:
            return Assessment()
        query = backstop.encoder.encode_one(text[:2000])
        sims = backstop.vectors @ query
        labels, emergency = backstop.labels, backstop.emergency
        best_e = int(np.argmax(np.where(emergency, sims, -2.0)))
        best_h = int(np.argmax(np.where(emergency, -2.0, sims)))
        top = np.argsort(-sims)[:EMBED_K]
        votes = sum(1 for i in top if emergency[i]) / len(top)
        e_sim, h_sim = float(sims[best_e]), float(sims[best_h])
        flag = _flag_of(labels[best_e][1], self._flags)
        evidence = (labels[best_e][2],)
        if e_sim >= EMBED_ALARM and e_sim - h_sim >= EMBED_MARGIN and votes >= 0.6:
            return Assessment(ALARM, flag, evidence, "embedding", e_sim)
        if e_sim >= EMBED_ASK and e_sim > h_sim and votes >= 0.5:
            return Assessment(ASK, flag, evidence, "embedding", e_sim)
        return Assessment(layer="embedding", score=e_sim)

    # -- concepts -----------------------------------------------------------------------------

    def _prepare(self, text: str) -> list[str]:
        return [self._mend(token) for token in _tokens(text, forms=self._forms)]

    def _mend_uncached(self, token: str) -> str:
        """A misspelt lexicon word -> the word ("numbb" -> "numb", "parlysed" -> "paralysed")."""
        if token == _BOUNDARY or token in self._vocabulary or len(token) < _MIN_MENDABLE:
            return token
        if any(token.startswith(prefix) for prefix in self._prefixes):
            return token
        found = process.extractOne(token, self._mendable, scorer=fuzz.ratio,
                                   score_cutoff=_MEND_CUTOFF)
        return found[0] if found else token

    def _find(self, tokens: list[str],
              clause_of: list[int]) -> tuple[list[_Found], list[tuple[int, int]]]:
        """Every concept occurrence, and the spans of those that are negative in themselves."""
        found: list[_Found] = []
        negative_spans: list[tuple[int, int]] = []
        for i, token in enumerate(tokens):
            if token == _BOUNDARY:
                continue
            for phrase in (*self._opening_with(token, tokens, i), *self._prefixed(token)):
                end = phrase.match_at(tokens, i)
                if end > 0:
                    found.append(_Found(phrase.concept, i, end, clause_of[i]))
                    if phrase.negative:
                        negative_spans.append((i, end))
        return found, negative_spans

    def _prefixed_uncached(self, token: str) -> tuple[_Phrase, ...]:
        """The phrases whose first word is a prefix of TOKEN, in the lexicon's order."""
        prefixed = [item for n in self._prefix_lengths if n <= len(token)
                    for item in self._by_prefix.get(token[:n], ())]
        prefixed.sort(key=lambda item: item[0])  # in the lexicon's order, as written
        return tuple(phrase for _, phrase in prefixed)

    def _opening_with(self, token: str, tokens: list[str], i: int) -> list[_Phrase]:
        """The phrases that open with TOKEN and could match at I: those whose second word is
        there (after at most two fillers, as match_at allows), in the lexicon's order. "not" and
        "cannot" open hundreds of phrases, and most of the rules' time went on trying them."""
        second = self._second.get(token)
        if second is None:
            return []
        by_word, always = second
        picked = list(always)
        seen: set[str] = set()
        for j in range(i + 1, min(i + 2 + _MAX_FILLERS, len(tokens))):
            if tokens[j] not in seen:
                seen.add(tokens[j])
                picked += by_word.get(tokens[j], ())
            if tokens[j] not in _FILLERS:
                break
        if len(picked) > len(always):
            picked.sort(key=lambda item: item[0])
        return [phrase for _, phrase in picked]

    def _live_concepts(self, tokens: list[str]) -> tuple[list[_Found], str]:
        """Concepts that count: not negated, not long past, not in a general question; and the
        words of the clauses that say something is happening (see _happening)."""
        at = _positions(tokens)
        clause_of = _clauses(tokens, self._said(("scope_end",), tokens, at))
        found, negative_spans = self._find(tokens, clause_of)
        if not found:
            return [], ""
        sentence_of = _clauses(tokens)
        cues = self._negation_cues(tokens, negative_spans, clause_of, at)
        past = self._clauses_with(tokens, clause_of, ("remote_past", "treated"), at)
        past.update(clause_of[i] for i, token in enumerate(tokens) if _YEAR.match(token))
        present = self._clauses_with(tokens, clause_of, ("present",), at)
        # "...it's better now": a "now" that closes a story about the past is not the present.
        present -= {clause_of[i] for i, token in enumerate(tokens)
                    if token == "now" and i and tokens[i - 1] in _SETTLED}
        # An utterance that tells of the past ("had Bell's palsy two years ago, one side of my
        # face drooped") and says nothing of now is past in every clause without a present tense.
        if past and not present:
            past.update(c for c in set(clause_of) if c not in present and
                        not any(token in _PRESENT_TENSE for token, k in zip(tokens, clause_of)
                                if k == c))
        generic = self._general_sentences(tokens, sentence_of)
        hypothetical_from = self._hypothetical_starts(tokens, clause_of, at)
        live = []
        for item in found:
            kind = self._kinds[item.concept]
            clause = item.clause
            if any(clause_of[c] == clause and c < item.start <= c + _NEGATION_WINDOW for c in cues):
                continue
            if kind in ("harmless", "explanation"):
                live.append(item)
                continue
            if sentence_of[item.start] in generic:
                continue
            start = hypothetical_from.get(clause)
            if start is not None and item.start > start and clause not in present:
                continue
            if kind in ("sign", "body") and clause in past and clause not in present:
                continue
            if kind == "sign" and _said_to_be_well(tokens, item.end):
                continue
            live.append(item)
        # Clauses that deny a known sign or context ("no fever", "back doesn't hurt") or say
        # something is all right ("breathing fine"). Not a negation alone: "not finding the
        # pulse" denies nothing the lexicon knows and may be the sign itself.
        live_at = {(item.concept, item.start) for item in live}
        quiet = {item.clause for item in found
                 if self._kinds[item.concept] in ("sign", "context")
                 and (item.concept, item.start) not in live_at
                 and any(clause_of[c] == item.clause and c < item.start <= c + _NEGATION_WINDOW
                         for c in cues)}
        quiet |= {clause_of[i] for i, token in enumerate(tokens) if token in _SETTLED_STATE}
        quiet |= self._clauses_with(tokens, clause_of, ("fear",), at)
        return live, self._happening(tokens, clause_of, quiet, live)

    def _happening(self, tokens: list[str], clause_of: list[int], quiet: set[int],
                   live: list[_Found]) -> str:
        """The words of TOKENS without the clauses that only deny a sign or say all is well
        (QUIET: "no fever", "breathing fine") and hold no live sign; "" when no clause is left
        out."""
        signed = {item.clause for item in live if self._kinds[item.concept] == "sign"}
        dropped = quiet - signed
        if not dropped:
            return ""
        return " ".join(token for token, clause in zip(tokens, clause_of)
                        if token != _BOUNDARY and clause not in dropped)

    def _negation_cues(self, tokens: list[str], negative_spans: list[tuple[int, int]],
                       clause_of: list[int], at: dict[str, list[int]]) -> list[int]:
        """Token positions of negations, except those inside a sign ("cannot feel", "no pulse")
        and those that only say "I don't know" ("not sure": the sign still counts); and the "or"
        or "nor" that opens a clause after a denied one: "isn't cold, or pale, or blue" denies
        all three, though each comma starts a clause."""
        inside = {i for start, end in negative_spans for i in range(start, end)}
        unsure: set[int] = set()
        for i, phrase in self._said(("uncertain",), tokens, at):
            unsure.update(range(i, i + len(phrase)))
        cues = []
        for i, token in enumerate(tokens):
            if token in self._negation and i not in inside and i not in unsure:
                cues.append(i)
        # A phrase counts at its first word, so that it covers its own last one ("nearly FELL").
        cues.extend(i for i, phrase in self._said(("negation",), tokens, at)
                    if len(phrase) > 1 and i not in inside)
        denied = {clause_of[i] for i in cues}
        for i, token in enumerate(tokens):
            if token in _DENIAL_GOES_ON and i and tokens[i - 1] == _BOUNDARY \
                    and clause_of[i] - 1 in denied:
                cues.append(i)
                denied.add(clause_of[i])
        return cues

    def _clauses_with(self, tokens: list[str], clause_of: list[int],
                      lists: tuple[str, ...], at: dict[str, list[int]]) -> set[int]:
        return {clause_of[i] for i, _ in self._said(lists, tokens, at)}

    def _general_sentences(self, tokens: list[str], sentence_of: list[int]) -> set[int]:
        """Sentences that ask in general ("can a slipped disc cause numbness"): they open with a
        question word and name no one (no I, my, he, mum...), and say nothing of now."""
        personal = {p[0] for p in self._lists["personal"] if len(p) == 1}
        starts = self._lists["generic_start"]
        sentences: dict[int, list[str]] = {}
        for i, token in enumerate(tokens):
            if token != _BOUNDARY:
                sentences.setdefault(sentence_of[i], []).append(token)
        generic = set()
        for index, words in sentences.items():
            opens = any(tuple(words[:len(s)]) == s for s in starts)
            if not opens or personal.intersection(words):
                continue
            if not any(True for _ in self._said(("present",), words, _positions(words))):
                generic.add(index)
        return generic

    def _hypothetical_starts(self, tokens: list[str], clause_of: list[int],
                             at: dict[str, list[int]]) -> dict[int, int]:
        """Per clause, where a hypothetical frame ("what if", "signs of") begins."""
        starts: dict[int, int] = {}
        for i, _ in self._said(("hypothetical",), tokens, at):
            clause = clause_of[i]
            starts[clause] = min(starts.get(clause, i), i)
        return starts

    def _said(self, lists: tuple[str, ...], tokens: Sequence[str],
              at: dict[str, list[int]]) -> Iterator[tuple[int, tuple[str, ...]]]:
        """(where it starts, the phrase) for each phrase of the word LISTS found in TOKENS (AT:
        their _positions)."""
        for name in lists:
            opening = self._opening.get(name, {})
            for word, places in at.items():
                for phrase in opening.get(word, ()):
                    n = len(phrase)
                    for i in places:
                        if n == 1 or tuple(tokens[i:i + n]) == phrase:
                            yield i, phrase


# The writers' category names that differ from red-flag ids; "emergency" (a request for help, from
# the intent templates) has no flag of its own: it gets the general emergency advice.
_CATEGORY_FLAG = {"spinal_injury": "injury"}


def _flag_of(category: str, flags: dict[str, RedFlag]) -> str:
    return category if category in flags else _CATEGORY_FLAG.get(category, "")
_NEAR = 8  # words: "my FACE has gone all funny and DROOPY" still counts


def _close(concepts: Sequence[str], where: dict[str, list[int]]) -> bool:
    """True when the first two concepts (a body part and what is wrong with it) stand within
    _NEAR words of each other; the rest may be anywhere in the utterance."""
    first, second = concepts[0], concepts[1]
    return any(abs(p - anchor) <= _NEAR for anchor in where[first] for p in where[second])


@lru_cache(maxsize=1)
def _example_words() -> frozenset[str]:
    # Plain lower-case words are enough to know a word when we see one (and ten times cheaper
    # than _tokens over the whole bank, at start-up). Both example banks are everyday English
    # by many writers: "starting" and "rushing" are words, never "staring" and "crushing" typed
    # wrong.
    from .meaning import load_examples as intent_examples

    texts = [text for _, _, text in load_examples()]
    texts.extend(sentence for _, _, _, sentence in intent_examples())
    return frozenset(word.replace("'", "") for text in texts
                     for word in _WORD.findall(text.lower()))


class _Forms:
    """Regional, informal and typed word forms and the standard words they stand for."""

    def __init__(self, forms: dict[str, str]) -> None:
        self._standard = forms
        # Longest first, so that "no fit" wins over a shorter form at the same place.
        keys = sorted(forms, key=len, reverse=True)
        self._pattern = re.compile(r"\b(" + "|".join(map(re.escape, keys)) + r")\b") \
            if keys else None

    def rewrite(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self._standard[m.group(1)], text)


_NO_FORMS = _Forms({})


def _tokens(text: str, keep_marks: bool = False, forms: _Forms = _NO_FORMS) -> list[str]:
    """Words in comparable form, with "|" where punctuation ended a clause."""
    text = unicodedata.normalize("NFKC", text)
    pieces = [] if keep_marks else _CLAUSE_BREAK.split(text)
    if keep_marks:
        return [w for w in text.lower().replace("'", "").split()]
    out: list[str] = []
    for piece in pieces:
        piece = forms.rewrite(piece.lower())
        piece = _IS_NOT_POSSESSIVE.sub(" is ", piece)
        said = _POSSESSIVE.sub("", normalize(piece, keep_fillers=True, stem=False))
        words = said.replace("'", "").split()
        if words:
            if out:
                out.append(_BOUNDARY)
            out.extend(words)
    return out


def _positions(tokens: Sequence[str]) -> dict[str, list[int]]:
    """Where each word stands in TOKENS: the word lists are looked up, not scanned for."""
    at: dict[str, list[int]] = {}
    for i, token in enumerate(tokens):
        at.setdefault(token, []).append(i)
    return at


def _clauses(tokens: Sequence[str], ends: Iterable[tuple[int, tuple[str, ...]]] = ()) -> list[int]:
    """Clause number of each token: a new clause at "|" and at each scope-ending phrase (ENDS:
    where each starts, and the phrase)."""
    starts = {i for i, _ in ends}
    clause = 0
    out = []
    for i, token in enumerate(tokens):
        if token == _BOUNDARY or i in starts:
            clause += 1
        out.append(clause)
    return out


# Answers to a yes/no safety question. Unsure is looked for first: "not sure" holds a "sure".
_UNSURE = ("not sure", "not certain", "do not know", "dunno", "no idea", "maybe", "perhaps",
           "possibly", "cannot tell", "hard to say", "kind of", "sort of", "might", "not too sure",
           "unsure", "i guess", "could be", "hmm")
_NO = ("no", "nope", "nah", "not really", "it did not", "it has not", "it is not", "it was not",
       "did not", "has not", "is not", "was not", "not suddenly", "slowly", "gradually", "never",
       "no it", "not at all", "i can", "i can still", "negative")
_YES = ("yes", "yeah", "yep", "yup", "yea", "aye", "it did", "it has", "it is", "i think so",
        "definitely", "correct", "right", "that is right", "suddenly", "uh huh", "sure", "true",
        "i am", "he is", "she is", "it was", "absolutely", "of course", "please", "help")


def classify_answer(text: str) -> str:
    """YES, NO or UNSURE for an answer to a yes/no safety question; "" when it is no answer."""
    words = f" {normalize(text, keep_fillers=True, stem=False)} "
    for name, phrases in ((UNSURE, _UNSURE), (NO, _NO), (YES, _YES)):
        if any(f" {phrase} " in words for phrase in phrases):
            return name
    return ""


def default_safety() -> SafetyStage:
    """The safety stage over the shipped data (one per process), with the backstop when its
    model loads."""
    return _default_safety()


@lru_cache(maxsize=1)
def _default_safety() -> SafetyStage:
    from knowledge.loader import load_knowledge

    # The model loads on another thread while the rest of the assistant starts: start-up does
    # not wait for it, only the first utterance that needs it does (if it comes that soon). It
    # needs no knowledge base, so it starts first.
    pending = background().submit(load_backstop)
    return SafetyStage(load_knowledge(), pending)


@lru_cache(maxsize=1)
def background() -> ThreadPoolExecutor:
    """The one worker that loads the embedding model and its banks: one at a time, so the model
    loads once however many stages ask for it."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedding")


def load_backstop() -> Backstop:
    """The shipped model and bank; raises a NumbLegsError naming what to reinstall."""
    try:
        from .banks import SAFETY_BANK, bank_vectors
        from .embedding import default_encoder
    except ImportError as error:
        raise SafetyUnavailable(f"The sentence-embedding runtime is not installed ({error}); "
                                "reinstall numb-legs with make setup.") from error

    encoder = default_encoder()
    # Kept on disk: reading the examples and a sentence of every template took every start a
    # tenth of a second, and the microphone opens only once the backstop is ready.
    rows = cached("safety-bank-rows", bank_examples)
    return Backstop(encoder, bank_vectors(SAFETY_BANK, encoder, rows), rows)


def bank_examples() -> list[tuple[str, str, str]]:
    """The backstop's bank: the written examples, plus a few sentences of every intent's
    templates as harmless anchors (everyday questions must never sound like emergencies) and of
    the emergency intent ("call an ambulance") as requests for help."""
    from .loader import load_templates

    rows = load_examples()
    for name, templates in load_templates():
        label = "emergency" if name == IntentName.EMERGENCY else "harmless"
        for template in templates:
            for pick in (0, -1):
                sentence = " ".join(_one_sentence(template, pick).split())
                if sentence:
                    rows.append((label, "emergency" if label == "emergency" else "intent",
                                 sentence))
    # The meaning matcher's examples, written apart by eleven writers: everyday ways of saying
    # every question, symptoms of every cause in the article among them, the near misses that
    # should never sound like emergencies ("my joints are swollen and now my feet go numb").
    from .meaning import load_examples as intent_examples

    for name, _, _, sentence in intent_examples():
        if name != IntentName.EMERGENCY:
            rows.append(("harmless", "intent", sentence))
    return list(dict.fromkeys(rows))


_GROUP = re.compile(r"[(\[]([^()\[\]]*)[)\]]")
_SLOT_EXAMPLES = {"{cause}": "a slipped disc", "{symptom}": "tingling"}


def _one_sentence(template: str, pick: int) -> str:
    """One sentence of TEMPLATE: each group's first (PICK 0, optional words left out) or last
    (PICK -1, optional words said) alternative; slots get an example."""
    def choose(match: re.Match[str]) -> str:
        options = match.group(1).split("|")
        if match.group(0).startswith("[") and pick == 0:
            return ""
        return options[pick]

    previous = None
    while previous != template:
        previous, template = template, _GROUP.sub(choose, template)
    for slot, example in _SLOT_EXAMPLES.items():
        template = template.replace(slot, example)
    return template


def load_examples() -> list[tuple[str, str, str]]:
    """The example bank: (label, category, sentence) rows of intents/data/safety_examples.tsv."""
    text = resources.files("intents").joinpath("data").joinpath("safety_examples.tsv").read_text("utf-8")
    return read_labelled(text.splitlines(), "intents/data/safety_examples.tsv")


def read_labelled(lines: Iterable[str], label: str) -> list[tuple[str, str, str]]:
    """Rows of a labelled safety set; '#' lines are its header and comments."""
    rows = []
    for number, row in enumerate(csv.reader((line for line in lines), delimiter="\t",
                                            quoting=csv.QUOTE_NONE), start=1):
        if not row or row[0].startswith("#"):
            continue
        if len(row) != 3 or row[0] not in ("emergency", "harmless"):
            raise SafetyUnavailable(f"{label}, line {number}: expected label, category, sentence")
        rows.append((row[0], row[1], row[2]))
    return rows

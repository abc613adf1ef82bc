"""Turn an utterance into a typed :class:`Match`: the best intent (red flags are the safety
stage's, intents/safety.py, which runs before this on every utterance).

How an intent is scored: templates are expanded into sentences; the utterance and each sentence
are compared as sets of words, each word weighted by how much it tells intents apart (words found
under every intent weigh little, words found under one weigh most, and words the domain has never
seen weigh a lot, since they usually mean the question is about something else). The score is the
weighted Dice overlap, 0..1. Before that, recognition errors are mended word by word against the
domain's vocabulary, and known phrases (cause names, symptoms) are found fuzzily and replaced by
their slot, so one template line serves every cause and every symptom.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz, process

from knowledge.model import KnowledgeBase
from knowledge.numbers import load_number_words
from knowledge.queries import rank_causes

from .model import IntentSet, Match, Slots
from .names import IntentName
from .normalize import language, normalize
from .phonetic import sound_key
from .spotting import PhraseSpotter, Spot
from .templates import expand

_LOGGER = logging.getLogger(__name__)

CAUSE_SLOT = "{cause}"
SYMPTOM_SLOT = "{symptom}"
# Words shorter than this are left alone: "ant" is not a misheard "and".
_MIN_CORRECTABLE = 5
_CORRECTION_CUTOFF = 86.0
_SOUND_CUTOFF = 65.0
_MERGE_CUTOFF = 80.0
_SPOT_THRESHOLD = 84.0


@dataclass(frozen=True)
class _Scored:
    score: float
    choice: int
    variant: tuple[str, ...]
    per_intent: np.ndarray  # the best score of each intent, in self.intent_names order


@dataclass(frozen=True)
class Reading:
    """What the word matcher made of an utterance: its answer, and every intent's best score
    (the meaning matcher weighs these against the sentence embedding)."""

    match: Match
    scores: dict[str, float]
    words: tuple[str, ...]
    causes: tuple[Spot, ...]
    features: tuple[Spot, ...]
    unknown: float = 0.0  # share of the content words the domain has never seen


class Matcher:
    """Fuzzy intent matcher over the shipped (or given) intents and knowledge base."""

    def __init__(self, intents: IntentSet, kb: KnowledgeBase) -> None:
        self.thresholds = intents.thresholds
        self.kb = kb
        lang = language()
        numbers = load_number_words()
        self._stopwords = lang.stopwords
        # One choice per distinct bag of words; _choice_template says which line it came from.
        bags: list[frozenset[str]] = []
        self._choice_intent: list[str] = []
        self._choice_template: list[str] = []
        betas: list[float] = []
        bands = intents.thresholds
        for intent in intents.intents:
            beta = bands.command_recall_weight if intent.command else bands.recall_weight
            for bag, template_index in intent.word_sets:
                bags.append(bag)
                betas.append(beta)
                self._choice_intent.append(intent.name)
                self._choice_template.append(intent.templates[template_index])
        # Each choice's F-beta beta squared (commands weigh recall less).
        self._beta2 = np.square(np.array(betas))
        # Choices are grouped by intent, in order: where each intent's run starts.
        self.intent_names = tuple(dict.fromkeys(self._choice_intent))
        self._intent_starts = np.array([self._choice_intent.index(name) for name in self.intent_names])

        self._causes = PhraseSpotter(
            ((alias, cause.id) for cause in kb.causes for alias in cause.names),
            _SPOT_THRESHOLD, lang.stopwords, sound_alike=True)
        self._features = PhraseSpotter(
            ((phrase, feature.id) for feature in kb.features
             for template in feature.phrases for phrase in expand(template)),
            _SPOT_THRESHOLD, lang.stopwords)
        # Every bag's words as vocabulary indexes, in one flat run (bag after bag): the index
        # arithmetic below is then numpy's, not a Python loop over a third of a million words,
        # which was most of the first start's time.
        self._vocab_index: dict[str, int] = {}
        flat = np.fromiter((self._vocab_index.setdefault(word, len(self._vocab_index))
                            for bag in bags for word in bag), dtype=np.int64)
        rows = np.repeat(np.arange(len(bags)), [len(bag) for bag in bags])
        # Red-flag phrases stay in the vocabulary, so spelling mends towards them too.
        flag_phrases = [normalize(phrase) for flag in kb.red_flags for template in flag.patterns
                        for phrase in expand(template)]
        for text in (*self._causes.phrases, *self._features.phrases, *flag_phrases,
                     *numbers.units, *numbers.tens[2:]):
            for word in text.split():
                self._vocab_index.setdefault(word, len(self._vocab_index))
        self._vocab = list(self._vocab_index)
        self._correctable = [w for w in self._vocab if len(w) >= _MIN_CORRECTABLE - 1 and "{" not in w]
        self._sounds: dict[str, list[str]] = {}
        for word in self._vocab:
            if "{" not in word and len(word) >= 2:
                self._sounds.setdefault(sound_key(word), []).append(word)

        # Word weights: inverse document frequency over intents (a document = one intent).
        size = len(self._vocab)
        intent_of_bag = np.repeat(np.arange(len(intents.intents)),
                                  [len(intent.word_sets) for intent in intents.intents])
        pairs = np.unique(intent_of_bag[rows] * size + flat)  # each (intent, word) once
        doc_freq = np.bincount(pairs % size, minlength=size).astype(float)
        weights = np.log((1 + len(intents.intents)) / (1 + doc_freq)) + 1.0
        for word in lang.stopwords:
            if word in self._vocab_index:
                weights[self._vocab_index[word]] = 0.3
        self._weights = weights
        self._oov_weight = float(weights.max()) * intents.thresholds.unknown_word_weight
        # Inverted index: for each word, the choices that hold it (scoring touches only the
        # query's words, not the whole choice-by-word matrix). Stored flat (CSR style): one
        # array and offsets pickle and load far faster than a thousand small arrays. A stable
        # sort keeps each word's choices in order.
        self._offsets = np.concatenate(([0], np.cumsum(np.bincount(flat, minlength=size))))
        self._flat_postings = rows[np.argsort(flat, kind="stable")].astype(np.int32)
        # Summed in the same order as a loop would, bag by bag: the same floats to the last bit.
        self._choice_weight = np.bincount(rows, weights=weights[flat], minlength=len(bags))
        self._correct = lru_cache(maxsize=4096)(self._correct_uncached)
        self._sound_alike = lru_cache(maxsize=4096)(self._sound_alike_uncached)
        _LOGGER.debug("Matcher ready: %d word sets, %d words", len(bags), len(self._vocab))

    # -- public -------------------------------------------------------------------------------

    def match(self, text: str) -> Match:
        """The meaning of TEXT. Never raises for any string."""
        return self.read(text).match

    def read(self, text: str) -> Reading:
        """The match for TEXT with every intent's score and the phrases found in it."""
        norm = self.mend(normalize(text))
        if not norm:
            return Reading(Match(intent=IntentName.UNKNOWN, confidence=0.0, text=""), {}, (), (), ())
        words = norm.split()
        causes = self._causes.find(norm)
        features = self._features.find(norm)
        best = self._best(words, causes, features)
        intent = self._choice_intent[best.choice]
        slots = self._slots(intent, best.variant, words, causes, features)
        bands = self.thresholds
        confidence = round(float(best.score), 4)
        scores = {name: float(score) for name, score in zip(self.intent_names, best.per_intent)}
        if intent == IntentName.CAUSE_INFO and CAUSE_SLOT in best.variant and "cause" not in slots:
            intent = IntentName.UNKNOWN
        if confidence < bands.confirm:
            match = Match(intent=IntentName.UNKNOWN, confidence=confidence,
                          matched=self._choice_template[best.choice], text=norm, guess=intent)
        else:
            match = Match(intent=intent, confidence=confidence, slots=slots,
                          matched=self._choice_template[best.choice], text=norm,
                          needs_confirmation=confidence < bands.accept, guess=intent)
        content = [w for w in words if w not in self._stopwords]
        unseen = sum(1 for w in content if self._sound_alike(w) not in self._vocab_index)
        return Reading(match, scores, tuple(words), tuple(causes), tuple(features),
                       unseen / len(content) if content else 0.0)

    def slots_for(self, intent: str, reading: Reading) -> Slots:
        """The slots INTENT takes from what READING found, whichever template won."""
        variant = (CAUSE_SLOT,) if reading.causes else ()
        return self._slots(intent, variant, list(reading.words), list(reading.causes),
                           list(reading.features))

    def mend(self, norm: str) -> str:
        """Mend spelling: words the domain does not know -> the closest word it knows, if close.

        Two neighbours, one of them unknown, are first tried as one word ("re peat", "amble
        lance"), since recognisers often split a word they do not know.
        """
        words = norm.split()
        out: list[str] = []
        i = 0
        while i < len(words):
            word = words[i]
            pair = word + words[i + 1] if i + 1 < len(words) else ""
            if pair and (word not in self._vocab_index or words[i + 1] not in self._vocab_index) \
                    and not {word, words[i + 1]} & self._stopwords:
                merged = self._sound_alike(pair)
                if merged in self._vocab_index and fuzz.ratio(merged, pair) >= _MERGE_CUTOFF:
                    out.append(merged)
                    i += 2
                    continue
            out.append(self._correct(word))
            i += 1
        return " ".join(out)

    def sound_alike(self, words: tuple[str, ...]) -> tuple[str, ...]:
        """Mend by sound ("buy" -> "by"), for scoring only: phrase spotting stays on the text."""
        return tuple(self._sound_alike(word) for word in words)

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        del state["_correct"], state["_sound_alike"]  # lru_cache wrappers: rebuilt on load
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._correct = lru_cache(maxsize=4096)(self._correct_uncached)
        self._sound_alike = lru_cache(maxsize=4096)(self._sound_alike_uncached)

    @property
    def vocabulary(self) -> list[str]:
        return list(self._vocab)

    # -- scoring ------------------------------------------------------------------------------

    def _correct_uncached(self, word: str) -> str:
        """Spelling: the closest known word when it differs by about one letter in six."""
        if word in self._vocab_index or len(word) < _MIN_CORRECTABLE:
            return word
        found = process.extractOne(word, self._correctable, scorer=fuzz.ratio,
                                   score_cutoff=_CORRECTION_CUTOFF)
        return found[0] if found else word

    def _sound_alike_uncached(self, word: str) -> str:
        """Sound: a known word that sounds the same and is spelled not too differently."""
        if word in self._vocab_index:
            return word
        spelled = self._correct(word)
        if spelled != word:
            return spelled
        if len(word) >= 3:
            # Sounds the same and is spelled not too differently: "buy" -> "by", "here" -> "hear".
            candidates = self._sounds.get(sound_key(word), [])
            scored = process.extractOne(word, candidates, scorer=fuzz.ratio,
                                        score_cutoff=_SOUND_CUTOFF) if candidates else None
            if scored:
                return scored[0]
        return word

    def _variants(self, words: list[str], causes: list[Spot],
                  features: list[Spot]) -> list[tuple[str, ...]]:
        tagged_causes = [(spot, CAUSE_SLOT) for spot in causes]
        tagged_features = [(spot, SYMPTOM_SLOT) for spot in features]
        variants = [tuple(words)]
        for tagged in (tagged_causes, tagged_features):
            if tagged:
                variants.append(_replace(words, tagged))
        if causes and features:
            variants.append(_replace(words, _non_overlapping(tagged_causes + tagged_features)))
        return variants

    def _best(self, words: list[str], causes: list[Spot], features: list[Spot]) -> _Scored:
        best = _Scored(-1.0, 0, tuple(words), np.zeros(len(self.intent_names)))
        per_intent = np.zeros(len(self.intent_names))
        for variant in self._variants(words, causes, features):
            scores = self._score(self.sound_alike(variant))
            per_intent = np.maximum(per_intent, np.maximum.reduceat(scores, self._intent_starts))
            choice = int(np.argmax(scores))
            if scores[choice] > best.score:
                best = _Scored(float(scores[choice]), choice, variant, per_intent)
        return replace(best, per_intent=per_intent)

    def _score(self, words: tuple[str, ...]) -> np.ndarray:
        known = {self._vocab_index[w] for w in words if w in self._vocab_index}
        unknown = {w for w in words if w not in self._vocab_index}
        query_weight = sum(self._weights[i] for i in known) + self._oov_weight * len(unknown)
        common: np.ndarray
        if known:
            slices = [self._flat_postings[self._offsets[i]:self._offsets[i + 1]] for i in known]
            weights = np.repeat(self._weights[list(known)], [len(rows) for rows in slices])
            common = np.bincount(np.concatenate(slices), weights=weights,
                                 minlength=len(self._choice_weight))
        else:
            common = np.zeros(len(self._choice_weight))
        # Weighted F-beta: recall (how much of the template was said) counts BETA times as much
        # as precision (how much of what was said the template explains), since people wrap a
        # known question in words of their own.
        beta2 = self._beta2
        return (1 + beta2) * common / (beta2 * self._choice_weight + query_weight)

    def _slots(self, intent: str, variant: tuple[str, ...], words: list[str], causes: list[Spot],
               features: list[Spot]) -> Slots:
        slots = Slots()
        if intent == IntentName.CAUSE_INFO and CAUSE_SLOT in variant and causes:
            slots["cause"] = max(causes, key=lambda spot: spot.score).label
        if intent == IntentName.SYMPTOM_CHECK:
            present = list(dict.fromkeys(spot.label for spot in features))
            mentioned = list(dict.fromkeys(spot.label for spot in causes))
            ranked = rank_causes(self.kb, present, boost=mentioned)
            slots["causes"] = [item.cause.id for item in ranked[:3]]
            slots["features"] = present
            slots["mentioned"] = mentioned
            slots["evidence"] = [" ".join(words[spot.start:spot.end]) for spot in features]
        return slots


def _replace(words: list[str], tagged: list[tuple[Spot, str]]) -> tuple[str, ...]:
    """WORDS with each spot's span replaced by its slot word."""
    out: list[str] = []
    position = 0
    for spot, slot in sorted(tagged, key=lambda pair: pair[0].start):
        out.extend(words[position:spot.start])
        out.append(slot)
        position = spot.end
    out.extend(words[position:])
    return tuple(out)


def _non_overlapping(tagged: list[tuple[Spot, str]]) -> list[tuple[Spot, str]]:
    chosen: list[tuple[Spot, str]] = []
    for spot, slot in sorted(tagged, key=lambda pair: -pair[0].score):
        if all(spot.end <= other.start or spot.start >= other.end for other, _ in chosen):
            chosen.append((spot, slot))
    return chosen


@lru_cache(maxsize=1)
def default_word_matcher() -> Matcher:
    """The word matcher over the shipped data (built once per process, cached on disk); the
    assistant's matcher is intents.meaning.default_matcher(), which weighs it with meaning."""
    from knowledge.loader import load_knowledge

    from .cache import cached
    from .loader import load_intents

    return cached("matcher", lambda: Matcher(load_intents(), load_knowledge()))


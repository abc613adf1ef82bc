"""Find known phrases inside an utterance, tolerating recognition errors.

Every run of one to N words is compared with every phrase (rapidfuzz, in C, one call), once as
written and once with spaces removed, so "athero sclerosis" finds "atherosclerosis" and
"raynor's disease" finds "raynaud's disease". Short phrases must match exactly: two- or
three-letter words ("ms", "tia") are too easy to hit by accident.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from .normalize import normalize
from .phonetic import sound_key

_WORD_CUTOFF = 75.0
# A run of words that sounds like a long name ("new rope a thee", "multiple skull roses") is
# that name when the spellings are this close too: a recogniser that does not know a word
# writes it as the everyday words it hears, which share its sounds but not its letters.
_SOUND_SPELLING_FLOOR = 60.0
# Only names long enough that sharing every consonant sound is no accident.
_SOUND_MIN_LETTERS = 8
_SOUND_MIN_KEY = 4


@dataclass(frozen=True)
class Spot:
    """A phrase found in the utterance, at words [start, end)."""

    label: str
    start: int
    end: int
    score: float
    phrase: str


def threshold_for(phrase: str, base: float) -> float:
    """Shorter phrases need closer matches: one wrong letter in four is another word."""
    length = len(phrase.replace(" ", ""))
    if length <= 4:
        return 100.0
    if length <= 7:
        return max(base, 90.0)
    return base


class PhraseSpotter:
    """Spots labelled phrases (already expanded from templates) in normalised text."""

    def __init__(self, entries: Iterable[tuple[str, str]], base_threshold: float,
                 stopwords: Iterable[str] = (), sound_alike: bool = False) -> None:
        self._stopwords = frozenset(stopwords)
        phrases: dict[str, str] = {}
        for phrase, label in entries:
            norm = normalize(phrase, keep_fillers=True)
            if norm:
                phrases.setdefault(norm, label)
        self._phrases = list(phrases)
        self._labels = list(phrases.values())
        self._thresholds = np.array([threshold_for(p, base_threshold) for p in self._phrases])
        self._min_threshold = float(self._thresholds.min()) if self._phrases else 100.0
        self._max_words = max((len(p.split()) for p in self._phrases), default=1) + 1
        self._single = np.array([i for i, p in enumerate(self._phrases) if " " not in p], dtype=np.intp)
        # Sound key of each long phrase, squashed -> the phrases with that key (names only).
        self._by_sound: dict[str, list[int]] = {}
        for index, phrase in enumerate(self._phrases if sound_alike else ()):
            squashed = phrase.replace(" ", "")
            key = sound_key(squashed)
            if len(squashed) >= _SOUND_MIN_LETTERS and len(key) >= _SOUND_MIN_KEY:
                self._by_sound.setdefault(key, []).append(index)

    @property
    def phrases(self) -> list[str]:
        return list(self._phrases)

    def find(self, text: str) -> list[Spot]:
        """Non-overlapping best spots, in the order they occur."""
        words = text.split()
        if not words or not self._phrases:
            return []
        spans = [(i, j) for i in range(len(words))
                 for j in range(i + 1, min(len(words), i + self._max_words) + 1)]
        windows = [" ".join(words[i:j]) for i, j in spans]
        scores = process.cdist(windows, self._phrases, scorer=fuzz.ratio,
                               score_cutoff=self._min_threshold, dtype=np.float32)
        # Spaces are ignored only to mend a word split in two or three ("athero sclerosis" ->
        # "atherosclerosis"), never between runs with as many words as the phrase: "numb and"
        # is not "numb hand". So only one-word phrases meet multi-word runs here.
        if self._single.size:
            multi = [k for k, (i, j) in enumerate(spans) if 1 < j - i <= 3]
            if multi:
                squashed = process.cdist([windows[k].replace(" ", "") for k in multi],
                                         [self._phrases[p] for p in self._single],
                                         scorer=fuzz.ratio, score_cutoff=self._min_threshold,
                                         dtype=np.float32)
                rows = np.asarray(multi, dtype=np.intp)
                block = scores[np.ix_(rows, self._single)]
                scores[np.ix_(rows, self._single)] = np.maximum(block, squashed)
        sounded = self._sound_alikes(spans, windows, scores)
        hits = np.argwhere(scores >= self._thresholds[None, :])
        if hits.size == 0:
            return []
        candidates = sorted(
            ((float(scores[w, p]), spans[w][1] - spans[w][0], int(w), int(p)) for w, p in hits),
            key=lambda c: (-c[0], -c[1]),
        )
        taken = [False] * len(words)
        found: list[Spot] = []
        for score, _, w, p in candidates:
            start, end = spans[w]
            if any(taken[start:end]) or ((w, p) not in sounded
                                         and not self._content_words_present(windows[w], p)):
                continue
            for k in range(start, end):
                taken[k] = True
            found.append(Spot(self._labels[p], start, end, score, self._phrases[p]))
        return sorted(found, key=lambda spot: spot.start)

    def _sound_alikes(self, spans: list[tuple[int, int]], windows: list[str],
                      scores: np.ndarray) -> set[tuple[int, int]]:
        """Runs of two to four words that sound like a long phrase: each scored as just passing
        (a closer spelling keeps its own score). Returns the (window, phrase) pairs raised."""
        raised: set[tuple[int, int]] = set()
        if not self._by_sound:
            return raised
        for w, (i, j) in enumerate(spans):
            if not 1 < j - i <= 4:
                continue
            squashed = windows[w].replace(" ", "")
            for p in self._by_sound.get(sound_key(squashed), ()):
                if scores[w, p] >= self._thresholds[p]:
                    continue
                if fuzz.ratio(squashed, self._phrases[p].replace(" ", "")) >= _SOUND_SPELLING_FLOOR:
                    scores[w, p] = self._thresholds[p]
                    raised.add((w, p))
        return raised

    def _content_words_present(self, window: str, index: int) -> bool:
        """Every content word of the phrase must be in the window, give or take a letter or two.

        A whole-string score alone lets "walk and my leg are numb" pass for "fell and my leg
        are numb": the words that carry the meaning are short next to the rest.
        """
        said = window.split()
        squashed = window.replace(" ", "")
        for word in self._phrases[index].split():
            if word in self._stopwords or len(word) < 3:
                continue
            if not any(fuzz.ratio(word, other) >= _WORD_CUTOFF or _same_stem(word, other)
                       for other in said) and fuzz.partial_ratio(word, squashed) < _WORD_CUTOFF:
                return False
        return True


def _same_stem(a: str, b: str) -> bool:
    """One word is the other with an ending ("sit", "sitting"; "walk", "walked"): the same
    word to the meaning, however far apart their letters count."""
    short, long = sorted((a, b), key=len)
    return len(short) >= 3 and long.startswith(short[:-1] if short.endswith("e") else short) \
        and len(long) - len(short) <= 4

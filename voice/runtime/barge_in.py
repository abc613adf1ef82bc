"""Barge-in: is what the person has said so far, while the assistant speaks, meant to cut it off?

Pure: it only looks at transcripts (partial or final), so it works with any speech engine and is
tested without audio. The listener feeds it the recogniser's partial result after every block of
microphone audio, which is what lets speech stop within a few hundred milliseconds of "stop".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from intents.normalize import normalize
from knowledge.datafile import Node, read_package_toml


@dataclass(frozen=True)
class BargeInWords:
    phrases: frozenset[str]   # normalised, whole-utterance commands
    wake_cutoff: float


@lru_cache(maxsize=1)
def load_words() -> BargeInWords:
    label, data = read_package_toml("voice", "barge_in.toml")
    root = Node(label, data)
    phrases = frozenset(normalize(node.text(), keep_fillers=True)
                        for node in root.get("phrases").list(min_len=1))
    cutoff = root.get("wake_cutoff")
    if not isinstance(cutoff.value, (int, float)) or not 50 <= cutoff.value <= 100:
        raise cutoff.fail("must be a number from 50 to 100")
    return BargeInWords(phrases - {""}, float(cutoff.value))


class BargeIn:
    """Decides from a transcript whether the person is interrupting."""

    def __init__(self, wake_phrase: str, words: BargeInWords | None = None) -> None:
        self.words = words or load_words()
        self._wake = normalize(wake_phrase, keep_fillers=True)

    def is_stop(self, transcript: str) -> bool:
        """True when the whole of TRANSCRIPT is a stop command ("stop", "be quiet"...)."""
        return normalize(transcript, keep_fillers=True) in self.words.phrases

    def wake_rest(self, transcript: str) -> str | None:
        """The words after the wake phrase when TRANSCRIPT starts with it, else None."""
        words = normalize(transcript, keep_fillers=True).split()
        size = len(self._wake.split())
        for length in (size, size - 1, size + 1):
            if 0 < length <= len(words):
                if fuzz.ratio(" ".join(words[:length]), self._wake) >= self.words.wake_cutoff:
                    return " ".join(words[length:])
        return None

    def interrupts(self, transcript: str) -> bool:
        """Should speech stop now, given what has been heard of this utterance so far?"""
        return bool(transcript) and (self.is_stop(transcript)
                                     or self.wake_rest(transcript) is not None)

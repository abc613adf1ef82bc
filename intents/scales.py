"""Which end of a scale a command asks for: slower or faster, quieter or louder.

Both of the matcher's views are blind to it. A bag of words matches "you are going too slowly"
to the template "you are going too fast" on every word but one, and a sentence embedding puts
"too slow" and "too fast" side by side. So once either view has chosen a command on a scale, the
words are read again for the end they name, and a complaint ("too slow") asks for the other end.
The words are data (`scales`, `excess`, `of_the_assistant` in intents/data/language.toml).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from knowledge.datafile import Node, read_package_toml

from .model import Match
from .normalize import normalize

# A verb and its particle ("slow down", "speed up", "quiet down") asks for the word's own end.
_PARTICLES = frozenset({"down", "up"})
# A question to the assistant is a request, though it names it: "can you go slow".
# ("can't you be quiet" is normalised to "can not you be quiet".)
_ASKING = frozenset({"can", "could", "would", "will", "please", "cannot", "not"})
# A complaint denied is a request for the word's own end: "you are not loud enough".
_DENIED = frozenset({"not", "never", "hardly"})
# How far back a subject may stand before the word: "you are talking a bit slow".
_SUBJECT_REACH = 5


@dataclass(frozen=True)
class Scale:
    lower: str
    higher: str
    low: frozenset[str]
    high: frozenset[str]


@dataclass(frozen=True)
class Scales:
    scales: tuple[Scale, ...]
    excess: frozenset[str]
    of_the_assistant: frozenset[tuple[str, ...]]  # words, or phrases as their words


@lru_cache(maxsize=1)
def load_scales() -> Scales:
    label, data = read_package_toml("intents", "language.toml")
    root = Node(label, data)
    scales = []
    for node in root.get("scales").list(min_len=1):
        node.reject_unknown({"lower", "higher", "low", "high"})
        scales.append(Scale(lower=node.get("lower").text(), higher=node.get("higher").text(),
                            low=frozenset(node.get("low").texts()),
                            high=frozenset(node.get("high").texts())))
    return Scales(tuple(scales), frozenset(root.get("excess").texts()),
                  frozenset(tuple(p.split()) for p in root.get("of_the_assistant").texts()))


def asked_end(text: str, scale: Scale, scales: Scales | None = None) -> str:
    """The intent of SCALE that TEXT asks for ("" when it names neither end, or both)."""
    scales = scales or load_scales()
    said = normalize(text, keep_fillers=True, stem=False)
    words = said.split()
    padded = f" {said} "
    wanted = {end for end, phrases in ((scale.lower, scale.low), (scale.higher, scale.high))
              if any(" " in p and f" {p} " in padded for p in phrases)}
    for i, word in enumerate(words):
        if word in scale.low:
            own, other = scale.lower, scale.higher
        elif word in scale.high:
            own, other = scale.higher, scale.lower
        else:
            continue
        # Comparatives ("slower", "more slowly") ask for their own end however they are framed.
        comparative = word.endswith("er") or (i > 0 and words[i - 1] == "more")
        if comparative or (i + 1 < len(words) and words[i + 1] in _PARTICLES):
            wanted.add(own)
        elif i > 0 and words[i - 1] in scales.excess:
            wanted.add(other)
        else:
            after = _after_the_assistant(words[max(0, i - _SUBJECT_REACH):i], scales)
            complaint = after is not None and not _DENIED & set(after)
            wanted.add(other if complaint else own)
    return wanted.pop() if len(wanted) == 1 else ""


def _after_the_assistant(before: list[str], scales: Scales) -> list[str] | None:
    """The words after the assistant is named in BEFORE, when they describe it ("you are",
    "your voice is"); None when it is not named or is asked ("can you", "could you please")."""
    for j in range(len(before)):
        for subject in scales.of_the_assistant:
            if tuple(before[j:j + len(subject)]) == subject:
                if j > 0 and before[j - 1] in _ASKING:
                    return None
                return before[j + len(subject):]
    return None


def steer(match: Match, text: str) -> Match:
    """MATCH, moved to the other end of its scale when TEXT plainly asks for that end."""
    scales = load_scales()
    for scale in scales.scales:
        if match.intent not in (scale.lower, scale.higher):
            continue
        end = asked_end(text, scale, scales)
        if end and end != match.intent:
            return replace(match, intent=end, guess=end, matched=f"(scale) {end}")
    return match

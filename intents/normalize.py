"""Bring typed text, recogniser output and templates into one comparable form.

Lower case, punctuation gone, contractions expanded, digits spelled out as a recogniser would
write them ("b12" -> "b twelve"), fillers dropped. Templates and utterances go through the same
function, so a difference that remains is a real difference.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from knowledge.datafile import Node, read_package_toml
from knowledge.numbers import number_words

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
_NOT_WORD = re.compile(r"[^a-z0-9'{}_ ]+")
_LETTER_DIGIT = re.compile(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])")
_NUMBER = re.compile(r"\b[0-9]+\b")
_STRAY_APOSTROPHE = re.compile(r"(?<![a-z])'|'(?![a-z])")


@dataclass(frozen=True)
class Language:
    contractions: dict[str, str]
    fillers: frozenset[str]
    negators: frozenset[str]
    stopwords: frozenset[str]
    stems: dict[str, str]
    legs: frozenset[str] = frozenset()
    elsewhere: frozenset[str] = frozenset()


@lru_cache(maxsize=1)
def language() -> Language:
    label, data = read_package_toml("intents", "language.toml")
    root = Node(label, data)
    contractions = {key: node.text() for key, node in root.get("contractions").items()}
    return Language(contractions=contractions,
                    fillers=frozenset(root.get("fillers").texts()),
                    negators=frozenset(root.get("negators").texts()),
                    stopwords=frozenset(root.get("stopwords").texts()),
                    stems={key: node.text() for key, node in root.get("stems").items()},
                    legs=frozenset(root.get("legs").texts(min_len=1)),
                    elsewhere=frozenset(root.get("elsewhere").texts(min_len=1)))


def normalize(text: str, *, keep_fillers: bool = False, keep_slots: bool = False,
              stem: bool = True, expand_contractions: bool = True) -> str:
    """The comparable form of TEXT; empty when nothing word-like is left."""
    lang = language()
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()
    # Accents off (Guillain-Barré -> guillain barre) so typed and recognised text agree.
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    if not keep_slots:
        text = text.replace("{", " ").replace("}", " ")
    text = _NOT_WORD.sub(" ", text.replace("-", " "))
    text = _LETTER_DIGIT.sub(" ", text)
    text = _NUMBER.sub(lambda m: number_words(int(m.group())) if len(m.group()) < 4
                       else m.group(), text)
    text = _STRAY_APOSTROPHE.sub(" ", text)
    words = text.split()
    out: list[str] = []
    i = 0
    while expand_contractions and i < len(words):
        pair = " ".join(words[i:i + 2])
        if len(words) > i + 1 and pair in lang.contractions:
            out.extend(lang.contractions[pair].split())
            i += 2
            continue
        word = words[i]
        out.extend(lang.contractions.get(word, word).split())
        i += 1
    if not expand_contractions:
        out = words
    if stem:
        out = [lang.stems.get(word, word) for word in out]
    if not keep_fillers:
        kept = [word for word in out if word not in lang.fillers]
        if kept:
            out = kept
    return " ".join(out)

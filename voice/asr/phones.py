"""Phones for recognition: each word of the PocketSphinx dictionary, from its own dictionary
first, else from espeak-ng (through voice/data/ipa_arpabet.toml)."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from knowledge.datafile import Node, read_package_toml

_LOGGER = logging.getLogger(__name__)
_STRESS = re.compile(r"[ˈˌ\s\-_]")


@lru_cache(maxsize=1)
def _ipa_map() -> tuple[tuple[str, str], ...]:
    label, data = read_package_toml("voice", "ipa_arpabet.toml")
    pairs = [(key, node.text()) for key, node in Node(label, data).get("map").items()]
    return tuple(sorted(pairs, key=lambda pair: -len(pair[0])))


def read_dictionary(path: Path) -> dict[str, str]:
    """A CMU-style dictionary file: word -> phones (first pronunciation only)."""
    entries: dict[str, str] = {}
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            word, _, phones = line.strip().partition(" ")
            if word and phones and "(" not in word:
                entries.setdefault(word, phones.strip())
    return entries


def _espeak_ipa(text: str) -> str:
    exe = shutil.which("espeak-ng")
    if not exe:
        return ""
    try:
        return subprocess.run([exe, "-q", "--ipa", "-v", "en-us"], input=text,
                              capture_output=True, text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        _LOGGER.debug("espeak-ng failed for %r", text[:80], exc_info=True)
        return ""


def espeak_phones(word: str) -> str:
    """ARPAbet phones for WORD from espeak-ng's IPA; empty when espeak-ng is unavailable."""
    return _arpabet(_espeak_ipa(word))


def espeak_phones_many(words: list[str]) -> dict[str, str]:
    """espeak_phones for each of WORDS, with one espeak-ng run instead of one per word.

    espeak-ng writes one line per input sentence; if the lines do not line up with the words
    (it merged or split some), each word is asked for on its own.
    """
    if not words:
        return {}
    lines = _espeak_ipa("".join(f"{word}.\n" for word in words)).splitlines()
    lines = [line for line in lines if line.strip()]
    if len(lines) != len(words):
        return {word: espeak_phones(word) for word in words}
    return {word: _arpabet(line) for word, line in zip(words, lines)}


def _arpabet(ipa: str) -> str:
    ipa = _STRESS.sub("", ipa)
    phones: list[str] = []
    i = 0
    table = _ipa_map()
    while i < len(ipa):
        for symbol, phone in table:
            if ipa.startswith(symbol, i):
                # espeak writes r-coloured vowels as two symbols: keep one R sound.
                if not (phone == "R" and phones and phones[-1] in ("R", "ER")):
                    phones.append(phone)
                i += len(symbol)
                break
        else:
            i += 1  # length marks and symbols without an English phone
    return " ".join(phones)


def pronunciations(words: set[str], dictionary: dict[str, str]) -> dict[str, str]:
    """Phones for every word: from DICTIONARY, else espeak-ng; words with neither are left out."""
    found: dict[str, str] = {}
    missing = [word for word in sorted(words)
               if not (dictionary.get(word) or dictionary.get(word.replace("'", "")))]
    spoken = espeak_phones_many(missing)
    for word in sorted(words):
        phones = dictionary.get(word) or dictionary.get(word.replace("'", "")) or spoken.get(word)
        if phones:
            found[word] = phones
        else:
            _LOGGER.warning("The word %r has no pronunciation, so it cannot be recognised.", word)
    return found

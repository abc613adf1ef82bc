"""How the speech synthesiser should say hard words: its spellings, from
``voice/data/pronunciations.toml``, applied only to what is spoken."""

from __future__ import annotations

import re
from functools import lru_cache

from knowledge.datafile import Node, read_package_toml


@lru_cache(maxsize=1)
def synthesiser_spellings() -> tuple[tuple[str, str], ...]:
    """(written, spoken) pairs from voice/data/pronunciations.toml, longest written form first."""
    label, data = read_package_toml("voice", "pronunciations.toml")
    root = Node(label, data)
    root.reject_unknown({"schema_version", "spell"})
    root.require_version(1)
    pairs = []
    for written, node in root.get("spell").items():
        spoken = node.text()
        if not written.strip() or written != " ".join(written.split()):
            raise node.fail("the written form must be words with single spaces between them")
        if spoken.casefold() == written.casefold():
            raise node.fail(f"{spoken!r} is spelled as written: leave it out")
        pairs.append((written, spoken))
    return tuple(sorted(pairs, key=lambda pair: -len(pair[0])))


@lru_cache(maxsize=1)
def _spelling_pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    pairs = synthesiser_spellings()
    # Whole words only ("CT" never inside "act"); the longest form wins ("Raynaud's", "Raynaud").
    alternatives = "|".join(re.escape(written) for written, _ in pairs)
    pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
    return pattern, {written.casefold(): spoken for written, spoken in pairs}


def respell(text: str) -> str:
    """TEXT with each written form in the table replaced by the synthesiser's spelling."""
    pattern, spoken = _spelling_pattern()

    def say(match: re.Match[str]) -> str:
        said = spoken[match.group().casefold()]
        # A sentence's capital stays: "Electroneuromyography tests..." -> "Electro neuro ..."
        return said[0].upper() + said[1:] if match.group()[0].isupper() else said

    return pattern.sub(say, text)

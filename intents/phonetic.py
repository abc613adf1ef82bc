"""A small sound-alike key for English words, to mend what a recogniser (or a typist) misheard.

"buy" and "by", "here" and "hear", "amble lance" and "ambulance" get the same key. Deliberately
rough (a few Metaphone-style rules): it is only consulted for words the domain does not know,
and only accepted when the spelling is also reasonably close.
"""

from __future__ import annotations

_RULES = (("sch", "sk"), ("ph", "f"), ("ck", "k"), ("gh", ""), ("wh", "w"), ("kn", "n"),
          ("wr", "r"), ("sh", "x"), ("ch", "x"), ("th", "0"), ("qu", "kw"), ("dg", "j"),
          ("ce", "se"), ("ci", "si"), ("cy", "sy"), ("x", "ks"), ("c", "k"), ("q", "k"),
          ("z", "s"))
_SILENT = set("aeiouyhw'")


def sound_key(word: str) -> str:
    """The key: first letter, then consonant sounds with repeats collapsed."""
    text = word.lower().replace(" ", "")
    if not text:
        return ""
    for old, new in _RULES:
        text = text.replace(old, new)
    if not text:
        return ""
    key = [text[0]]
    for ch in text[1:]:
        if ch in _SILENT or ch == key[-1]:
            continue
        key.append(ch)
    return "".join(key)

"""Numbers in words, from one list (``knowledge/data/numbers.toml``): spelled as speech
recognisers write them, and durations as a speaker says them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from knowledge.datafile import Node, read_package_toml


@dataclass(frozen=True)
class NumberWords:
    units: tuple[str, ...]  # units[n] is the word for n, 0..19
    tens: tuple[str, ...]  # tens[n] is the word for n * 10, 20..90; the first two are ""


@lru_cache(maxsize=1)
def load_number_words() -> NumberWords:
    """The shipped number words; DataFileError naming the key when the file is broken."""
    label, data = read_package_toml("knowledge", "numbers.toml")
    root = Node(label, data)
    root.require_version(1)
    root.reject_unknown({"schema_version", "units", "tens"})
    units = root.get("units").texts(min_len=20)
    tens = root.get("tens").list(min_len=10)
    if len(units) != 20:
        raise root.get("units").fail(f"must have 20 entries (zero to nineteen), has {len(units)}")
    if len(tens) != 10:
        raise root.get("tens").fail(f"must have 10 entries (\"\", \"\", twenty to ninety), "
                                    f"has {len(tens)}")
    return NumberWords(units=units, tens=("", "", *(node.text() for node in tens[2:])))


def number_words(value: int, *, spell_below: int = 1000) -> str:
    """VALUE in words when 0 <= VALUE < SPELL_BELOW (at most 1000): "twenty five", "three
    hundred four", the way a recogniser writes numbers; other numbers stay digits."""
    if not 0 <= value < min(spell_below, 1000):
        return str(value)
    words = load_number_words()
    if value < 20:
        return words.units[value]
    if value < 100:
        tens, unit = divmod(value, 10)
        return words.tens[tens] + (" " + words.units[unit] if unit else "")
    hundreds, rest = divmod(value, 100)
    return words.units[hundreds] + " hundred" + (" " + number_words(rest) if rest else "")


def spoken_duration(seconds: int, *, exact: bool = False, spell_below: int = 1000) -> str:
    """How long SECONDS is, as a speaker says it.

    Rounded to the minute, for how long something lasted: "less than a minute", "a minute",
    "ten minutes", "half an hour", "an hour and a half", "two hours and ten minutes". EXACT, for
    a timer: "30 seconds", "one minute", "two minutes". Numbers from SPELL_BELOW up stay digits.
    """
    if exact:
        minutes, rest = divmod(seconds, 60)
        if rest or not 0 <= minutes <= 10:
            return f"{seconds} seconds"
        return f"{number_words(minutes)} minute{'s' if minutes != 1 else ''}"
    if seconds < 60:
        return "less than a minute" if seconds < 30 else "a minute"
    minutes = round(seconds / 60)
    if minutes < 60:
        if minutes == 30:
            return "half an hour"
        return "a minute" if minutes == 1 else \
            f"{number_words(minutes, spell_below=spell_below)} minutes"
    hours, rest = divmod(minutes, 60)
    hour_text = "an hour" if hours == 1 else f"{number_words(hours, spell_below=spell_below)} hours"
    if rest == 0:
        return hour_text
    if rest == 30:
        return "an hour and a half" if hours == 1 else f"{hour_text} and a half"
    return f"{hour_text} and {spoken_duration(rest * 60, spell_below=spell_below)}"

"""Load the diary's word lists and thresholds (``knowledge/data/diary.toml``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from knowledge.datafile import Node, read_package_toml

Phrase = tuple[str, ...]
ACTIVITIES = ("sitting", "lying", "walking", "other")
SIDES = ("left", "right", "both")


@dataclass(frozen=True)
class Advice:
    """When a summary advises seeing a neurologist (documented in the data file)."""

    frequent_count: int
    lengthening_min: int
    lengthening_ratio: float
    one_sided_min: int
    one_sided_share: float


@dataclass(frozen=True)
class DiaryWords:
    quantities: dict[Phrase, int]
    unit_seconds: dict[str, int]
    durations: dict[Phrase, int]
    day_parts: dict[str, tuple[int, int]]
    now: tuple[Phrase, ...]
    today: tuple[Phrase, ...]
    yesterday: tuple[Phrase, ...]
    last_night: tuple[Phrase, ...]
    this: tuple[Phrase, ...]
    ago: frozenset[str]
    weekdays: tuple[str, ...]
    sides: dict[str, tuple[Phrase, ...]]
    limbs: frozenset[str]
    plural_limbs: frozenset[str]
    activities: dict[str, tuple[Phrase, ...]]
    signs: dict[Phrase, str]
    skip: tuple[Phrase, ...]
    retry: tuple[Phrase, ...]
    logging_cues: tuple[Phrase, ...]
    periods: dict[Phrase, str]
    default_days: int
    advice: Advice


def _phrase(node: Node) -> Phrase:
    return tuple(node.text().lower().split())


def _phrases(node: Node) -> tuple[Phrase, ...]:
    # Longest first, so "half an hour" is tried before "an hour".
    return tuple(sorted((_phrase(item) for item in node.list(min_len=1)), key=len, reverse=True))


def _number(node: Node, low: float, high: float) -> float:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise node.fail("must be a number")
    if not low <= value <= high:
        raise node.fail(f"{value} is outside {low}..{high}")
    return float(value)


def _phrase_table(node: Node, low: int, high: int) -> dict[Phrase, int]:
    table = {tuple(key.split()): item.integer(low, high) for key, item in node.items()}
    return dict(sorted(table.items(), key=lambda pair: len(pair[0]), reverse=True))


@lru_cache(maxsize=1)
def load_words() -> DiaryWords:
    """The shipped diary words; raises DataFileError naming the key when the file is broken."""
    label, data = read_package_toml("knowledge", "diary.toml")
    root = Node(label, data)
    day_parts = {}
    for key, node in root.get("day_parts").items():
        hour, minute = node.list(min_len=2)
        day_parts[key] = (hour.integer(0, 23), minute.integer(0, 59))
    times = root.get("times")
    legs = root.get("legs")
    sides = {side: _phrases(legs.get(side)) for side in SIDES}
    activities_node = root.get("activities")
    activities_node.reject_unknown(set(ACTIVITIES))
    activities = {key: _phrases(activities_node.get(key)) for key in ACTIVITIES}
    signs = {tuple(key.split()): node.text() for key, node in root.get("signs").items()}
    answers = root.get("answers")
    periods_node = root.get("periods")
    periods: dict[Phrase, str] = {}
    for key, node in periods_node.items():
        if key != "default_days":
            periods[tuple(key.split())] = node.ident()
    advice = root.get("advice")
    weekdays = times.get("weekdays").texts(min_len=7)
    return DiaryWords(
        quantities=_phrase_table(root.get("quantities"), 1, 10),
        unit_seconds={key: node.integer(1, 86_400) for key, node in root.get("units_seconds").items()},
        durations=_phrase_table(root.get("durations"), 1, 86_400),
        day_parts=day_parts,
        now=_phrases(times.get("now")), today=_phrases(times.get("today")),
        yesterday=_phrases(times.get("yesterday")), last_night=_phrases(times.get("last_night")),
        this=_phrases(times.get("this")), ago=frozenset(times.get("ago").texts()),
        weekdays=weekdays,
        sides=sides, limbs=frozenset(legs.get("limbs").texts()),
        plural_limbs=frozenset(legs.get("plural_limbs").texts()),
        activities=activities,
        signs=dict(sorted(signs.items(), key=lambda pair: len(pair[0]), reverse=True)),
        skip=_phrases(answers.get("skip")), retry=_phrases(answers.get("retry")),
        logging_cues=_phrases(root.get("logging_cues").get("words")),
        periods=dict(sorted(periods.items(), key=lambda pair: len(pair[0]), reverse=True)),
        default_days=periods_node.get("default_days").integer(1, 366),
        advice=Advice(
            frequent_count=advice.get("frequent_count").integer(1, 1000),
            lengthening_min=advice.get("lengthening_min").integer(2, 1000),
            lengthening_ratio=_number(advice.get("lengthening_ratio"), 1.0, 100.0),
            one_sided_min=advice.get("one_sided_min").integer(1, 1000),
            one_sided_share=_number(advice.get("one_sided_share"), 0.5, 1.0),
        ),
    )

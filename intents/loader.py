"""Load intents and their templates from ``intents/data/intents.toml``."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

from knowledge.datafile import Node, read_package_toml, read_toml_path

from .model import SLOT_NAMES, Intent, IntentSet, Thresholds
from .names import TEMPLATED_NAMES
from .normalize import normalize
from .templates import TemplateError, expand, expand_word_sets, slots_in

_LOGGER = logging.getLogger(__name__)
_WORD = re.compile(r"^[a-z0-9'{}_ ]+$")


@lru_cache(maxsize=1)
def load_intents() -> IntentSet:
    return intents_from_dict(*_shipped())


@lru_cache(maxsize=1)
def load_templates() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(intent name, its template lines) in file order, without expanding them into word sets.

    For what reads only the lines (the example banks, the recogniser's language model): the
    expansion is most of load_intents' time, and the safety stage's model loads on a thread
    beside the matcher, so it must not wait for, or repeat, that work. load_intents() checks
    every line in full; this only reads them.
    """
    table = Node(*_shipped()).get("intents")
    return tuple((name, node.get("templates").texts(min_len=1)) for name, node in table.items())


@lru_cache(maxsize=1)
def _shipped() -> tuple[str, dict[str, Any]]:
    """intents/data/intents.toml, read and parsed once for load_intents and load_templates."""
    return read_package_toml("intents", "intents.toml")


def intents_from_file(path: str) -> IntentSet:
    return intents_from_dict(path, read_toml_path(path))


def expand_checked(node: Node) -> list[str]:
    """Expand the template at NODE into sentences, turning template errors into data-file errors."""
    template = _checked(node)
    try:
        return expand(template)
    except TemplateError as err:
        raise node.fail(str(err)) from err


def _checked(node: Node) -> str:
    template = node.text()
    if not _WORD.match(template.replace("(", " ").replace(")", " ").replace("[", " ")
                       .replace("]", " ").replace("|", " ")):
        raise node.fail(f"{template!r} holds characters other than lower-case letters, digits, "
                        "apostrophes, slots and the template marks ( ) [ ] |")
    try:
        used = slots_in(template)
    except TemplateError as err:
        raise node.fail(str(err)) from err
    unknown = sorted(used - SLOT_NAMES)
    if unknown:
        raise node.fail(f"slot {{{unknown[0]}}} is not one of {sorted(SLOT_NAMES)}")
    return template


def _words_of(word: str) -> tuple[str, ...]:
    return tuple(normalize(word, keep_slots=True).split())


def intents_from_dict(label: str, data: dict[str, Any]) -> IntentSet:
    root = Node(label, data)
    root.reject_unknown({"schema_version", "thresholds", "intents"})
    root.require_version(1)
    bands = root.get("thresholds")
    accept = _fraction(bands.get("accept"))
    confirm = _fraction(bands.get("confirm"))
    if confirm > accept:
        raise bands.get("confirm").fail(f"{confirm} is above accept ({accept})")
    intents = []
    table = root.get("intents")
    for name, node in table.items():
        if name not in TEMPLATED_NAMES:
            raise node.fail(f"{name!r} is not an intent the code knows (intents/names.py)")
        node.reject_unknown({"templates", "command"})
        command = node.get("command").value if node.has("command") else False
        if not isinstance(command, bool):
            raise node.get("command").fail("must be true or false")
        templates_node = node.get("templates")
        templates = templates_node.texts(min_len=1)
        word_sets: dict[frozenset[str], int] = {}
        for index, item in enumerate(templates_node.list()):
            template = _checked(item)
            try:
                bags = expand_word_sets(template, _words_of)
            except TemplateError as err:
                raise item.fail(str(err)) from err
            for bag in bags:
                if bag:
                    word_sets.setdefault(bag, index)
        intents.append(Intent(name=name, templates=templates, word_sets=tuple(word_sets.items()),
                              command=command))
    missing = sorted(TEMPLATED_NAMES - set(table.table()))
    if missing:
        raise table.fail(f"intent {missing[0]!r} (intents/names.py) has no templates")
    _LOGGER.debug("Loaded %d intents, %d word sets from %s", len(intents),
                  sum(len(i.word_sets) for i in intents), label)
    bands.reject_unknown({"accept", "confirm", "recall_weight", "command_recall_weight",
                          "unknown_word_weight"})
    thresholds = Thresholds(accept, confirm,
                            recall_weight=_positive(bands.get("recall_weight")),
                            unknown_word_weight=_positive(bands.get("unknown_word_weight")),
                            command_recall_weight=_positive(bands.get("command_recall_weight")))
    return IntentSet(intents=tuple(intents), thresholds=thresholds, source=label)


def _positive(node: Node) -> float:
    if isinstance(node.value, bool) or not isinstance(node.value, (int, float)) or node.value <= 0:
        raise node.fail("must be a positive number")
    return float(node.value)


def _fraction(node: Node) -> float:
    if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
        raise node.fail("must be a number between 0 and 1")
    if not 0.0 <= node.value <= 1.0:
        raise node.fail(f"{node.value} is outside 0..1")
    return float(node.value)

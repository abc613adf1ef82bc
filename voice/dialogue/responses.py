"""Load what the assistant says around the knowledge (``voice/data/responses.toml``).

Every response is a typed field, so a misspelt one is a type error, and a key the data lacks fails
loading. A response with ``{placeholders}`` is a :class:`Template`: its field declares the
placeholders its code fills (``_fills("number")``), loading refuses a text that uses any other, and
``Template.fill`` is the only way to say it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from intents.names import INTENT_NAMES
from knowledge.datafile import Node, read_package_toml, read_toml_path
from knowledge.loader import answer_from
from knowledge.model import Answer

from .emergency_numbers import load_emergency_numbers, locale_territory

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)\}")
_ROUTINE_ENDS = ("better", "not_enough")
_JOURNAL_WORDS = ("left", "right", "both", "sitting", "lying", "walking", "other", "frequent",
                  "lengthening", "one_sided", "red_flags")


@dataclass(frozen=True)
class Template:
    """A response with ``{placeholders}``: KEY names it in the data file, PLACEHOLDERS are those its
    code fills (the text may leave some out, never add others)."""

    key: str
    text: str
    placeholders: frozenset[str]

    def fill(self, **values: str) -> str:
        """The text with each placeholder replaced by its value; refuses a value for a placeholder
        not declared, and a declared placeholder left without one."""
        given = set(values)
        if given != self.placeholders:
            unknown, missing = sorted(given - self.placeholders), sorted(self.placeholders - given)
            raise ValueError(f"response {self.key!r} fills {{{', '.join(sorted(self.placeholders))}}}; "
                             f"given unknown {unknown}, missing {missing}")
        unfilled = sorted(set(PLACEHOLDER.findall(self.text)) - given)
        if unfilled:  # only a Template built by hand, not loaded, gets here
            raise ValueError(f"response {self.key!r} says {{{unfilled[0]}}}, which is not filled")
        return PLACEHOLDER.sub(lambda found: values[found.group(1)], self.text)


def _text() -> Any:
    """A plain response: said as written, so it may hold no placeholder."""
    return field(metadata={"response": frozenset()})


def _fills(*placeholders: str) -> Any:
    """A response with placeholders: the ones its code fills (``Template.fill``)."""
    return field(metadata={"response": frozenset(placeholders)})


@dataclass(frozen=True)
class MoreTexts:
    """How an answer's further parts are offered ([more] in responses.toml)."""

    offer: str = _text()
    offer_action: str = _text()
    again: str = _text()
    again_action: str = _text()
    none: str = _text()
    nothing: str = _text()


@dataclass(frozen=True)
class MoreWords:
    """How an answer's further parts are offered and asked for ([more] in responses.toml)."""

    texts: MoreTexts
    words: tuple[str, ...]        # "tell me more", "go on": the next part
    action_words: tuple[str, ...]  # "what should I do": the answer's action part


@dataclass(frozen=True)
class JournalTexts:
    """The diary's sentences ([journal] in responses.toml)."""

    ask_legs: str = _text()
    ask_duration: str = _text()
    ask_activity: str = _text()
    read_back: Template = _fills("episode")
    saved: Template = _fills("count")
    change: str = _text()
    cancelled: str = _text()
    save_failed: Template = _fills("reason")
    read_failed: Template = _fills("reason")
    not_understood: str = _text()
    help: str = _text()
    one_shot: str = _text()
    dropped: str = _text()
    waiting: str = _text()
    after_emergency: str = _text()
    numb: str = _text()
    for_duration: Template = _fills("duration")
    while_activity: Template = _fills("activity")
    with_signs: Template = _fills("signs")
    warning_signs: str = _text()
    summary_none: Template = _fills("period")
    summary_count: Template = _fills("Period", "count")
    summary_one_duration: Template = _fills("duration")
    summary_duration: Template = _fills("duration")
    summary_one_leg: Template = _fills("leg")
    summary_leg: Template = _fills("leg")
    before_one_day: str = _text()
    before_days: Template = _fills("days")
    summary_more: Template = _fills("previous", "before")
    summary_none_before: Template = _fills("before")
    summary_fewer: Template = _fills("previous", "before")
    summary_same: Template = _fills("before")
    summary_last: Template = _fills("when")
    summary_advice: Template = _fills("reasons")
    summary_report: str = _text()
    summary_keep_going: str = _text()

    def ask(self, name: str | None) -> str:
        """The question that asks for NAME ("legs", "duration", "activity"); "" for none."""
        return {"legs": self.ask_legs, "duration": self.ask_duration,
                "activity": self.ask_activity}.get(name or "", "")


@dataclass(frozen=True)
class Responses:
    """Everything the assistant says around the knowledge: the tables, then the top-level texts
    (after them because, to mypy, the response fields look as if they had defaults)."""

    menu: tuple[str, ...]
    menu_words: tuple[tuple[str, ...], ...]
    pause_words: tuple[str, ...]
    names: dict[str, Template]  # intent -> how it is named ("the tests doctors do"); fills {cause}
    confirm: Template           # "Did you mean {topic}?"
    offers: dict[str, str]
    cause_offers: dict[str, str]
    offer_questions: dict[str, str]
    emergency_numbers: dict[str, str]  # territory ("GB") -> number, and "default"
    help: Answer
    more: MoreWords
    routine_offers: dict[str, str]  # how the relief routine ended -> the topic to offer
    journal: JournalTexts           # the diary's sentences
    journal_words: dict[str, str]   # how it names legs, reasons...

    # The top-level texts.
    empty: str = _text()
    not_english: str = _text()
    too_long: str = _text()
    unknown: str = _text()
    menu_intro: str = _text()
    nothing_to_repeat: str = _text()
    which_cause: str = _text()
    stopped: str = _text()
    no_list: str = _text()
    yes_nothing: str = _text()
    no_nothing: str = _text()
    declined: str = _text()
    goodbye: str = _text()
    confirm_end: str = _text()
    carry_on: str = _text()
    emergency_generic: Template = _fills("number")
    emergency_repeat_offer: str = _text()
    emergency_operator: str = _text()
    safety_question: str = _text()
    safety_unsure: str = _text()
    safety_reduced: Template = _fills("number")
    symptom_intro: str = _text()
    symptom_reason: str = _text()
    speech_slower: str = _text()
    speech_faster: str = _text()
    speech_louder: str = _text()
    speech_quieter: str = _text()
    speech_change_voice: str = _text()
    speech_limit: str = _text()
    reprompt: str = _text()
    routine_next_hint: str = _text()
    routine_timer: Template = _fills("duration")
    routine_time_up: str = _text()
    routine_resumed: str = _text()
    routine_paused: str = _text()
    routine_stopped: str = _text()
    routine_questions_intro: str = _text()
    symptom_questions_intro: str = _text()
    help_routine: str = _text()
    help_question: str = _text()
    safety_one_shot: Template = _fills("number")
    one_shot_guess: Template = _fills("topic")
    one_shot_menu: Template = _fills("topics")
    def emergency_number(self, locale: str | None) -> str:
        """The emergency number for LOCALE ("en_GB.UTF-8" -> "999"); the default when unknown."""
        return self.emergency_numbers.get(locale_territory(locale), self.emergency_numbers["default"])


_T = TypeVar("_T", bound="DataclassInstance")


def _response_keys(cls: type) -> list[str]:
    return [f.name for f in fields(cls) if "response" in f.metadata]


def response_texts(responses: DataclassInstance) -> dict[str, str]:
    """Every response field of RESPONSES (Responses, MoreTexts, JournalTexts) by key, as written:
    placeholders unfilled. For checks over all the texts, such as spellings."""
    return {key: _as_written(getattr(responses, key)) for key in _response_keys(type(responses))}


def _as_written(value: str | Template) -> str:
    return value.text if isinstance(value, Template) else value


def _template(node: Node, key: str, *fills: str) -> Template:
    """The response KEY under NODE, whose code fills FILLS: a text using any other placeholder,
    or a key the data lacks, fails loading, naming the file and the key."""
    item = node.get(key)
    text = item.text()
    unknown = sorted(set(PLACEHOLDER.findall(text)) - set(fills))
    if unknown:
        filled = ", ".join(f"{{{name}}}" for name in sorted(fills)) or "none"
        raise item.fail(f"placeholder {{{unknown[0]}}} is not one its code fills ({filled})")
    return Template(item.path, text, frozenset(fills))


def _response(node: Node, key: str, fills: frozenset[str]) -> str | Template:
    """The response KEY under NODE: plain text, or a Template when its code FILLS placeholders."""
    template = _template(node, key, *sorted(fills))
    return template if fills else template.text


def _responses_of(cls: type[_T], node: Node, **tables: Any) -> _T:
    """An instance of CLS with each response field read from NODE, and TABLES as the other fields."""
    values = {f.name: _response(node, f.name, f.metadata["response"])
              for f in fields(cls) if "response" in f.metadata}
    return cls(**values, **tables)


@lru_cache(maxsize=1)
def load_responses() -> Responses:
    label, data = read_package_toml("voice", "responses.toml")
    return responses_from_dict(label, data)


def responses_from_file(path: str) -> Responses:
    return responses_from_dict(path, read_toml_path(path))


_TABLES = {"schema_version", "menu", "menu_words", "pause_words", "names", "confirm", "offers",
           "cause_offers", "offer_questions", "routine_offers", "help", "more", "journal",
           "journal_words"}


def responses_from_dict(label: str, data: dict[str, Any]) -> Responses:
    root = Node(label, data)
    root.reject_unknown({*_response_keys(Responses), *_TABLES})
    menu = root.get("menu").texts(min_len=3)
    for item in root.get("menu").list():
        if item.text() not in INTENT_NAMES:
            raise item.fail(f"{item.text()!r} is not an intent (intents/names.py)")
        if item.text() not in root.get("names").table():
            raise item.fail(f"{item.text()!r} has no name in [names]")
    menu_words = tuple(group.texts() for group in root.get("menu_words").list(min_len=len(menu)))
    offers = {key: node.text() for key, node in root.get("offers").items()}
    questions = {key: node.text() for key, node in root.get("offer_questions").items()}
    cause_offers = {key: node.text() for key, node in root.get("cause_offers").items()}
    ends = root.get("routine_offers")
    ends.reject_unknown(set(_ROUTINE_ENDS))
    routine_offers = {key: ends.get(key).text() for key in _ROUTINE_ENDS}
    for key, target in (*offers.items(), *cause_offers.items(), *routine_offers.items()):
        if target not in questions:
            raise root.get("offers").fail(f"{key} offers {target!r}, but [offer_questions] has no "
                                          f"{target!r}")
    more = root.get("more")
    more_texts = _responses_of(MoreTexts, more)
    more.reject_unknown({*_response_keys(MoreTexts), "words", "action_words"})
    journal = root.get("journal")
    journal.reject_unknown(set(_response_keys(JournalTexts)))
    names = root.get("names")
    confirm = root.get("confirm")
    confirm.reject_unknown({"default"})
    words = root.get("journal_words")
    return _responses_of(
        Responses, root,
        menu=menu, menu_words=menu_words,
        pause_words=root.get("pause_words").texts(),
        names={key: _template(names, key, "cause") for key in names.table()},
        confirm=_template(confirm, "default", "topic"),
        offers=offers, cause_offers=cause_offers, offer_questions=questions,
        emergency_numbers=load_emergency_numbers().as_dict(),
        help=answer_from(root.get("help")),
        more=MoreWords(texts=more_texts, words=more.get("words").texts(),
                       action_words=more.get("action_words").texts()),
        routine_offers=routine_offers,
        journal=_responses_of(JournalTexts, journal),
        journal_words={key: words.get(key).text() for key in _JOURNAL_WORDS},
    )


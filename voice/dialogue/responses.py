"""Load what the assistant says around the knowledge (``voice/data/responses.toml``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from knowledge.datafile import Node, read_package_toml
from knowledge.loader import answer_from
from knowledge.model import Answer

from .emergency_numbers import load_emergency_numbers, locale_territory

_TEXT_KEYS = (
    "empty", "not_english", "too_long", "unknown", "menu_intro", "nothing_to_repeat",
    "which_cause", "stopped", "no_list", "yes_nothing", "no_nothing", "declined", "goodbye",
    "emergency_generic", "emergency_repeat_offer", "emergency_operator", "safety_question",
    "safety_unsure", "safety_reduced", "symptom_intro",
    "symptom_reason", "speech_slower", "speech_faster", "speech_louder",
    "speech_quieter", "speech_change_voice", "speech_limit", "reprompt", "routine_next_hint",
    "routine_timer", "routine_time_up", "routine_resumed", "routine_paused", "routine_stopped",
    "routine_questions_intro", "symptom_questions_intro", "help_routine", "help_question",
    "safety_one_shot", "one_shot_guess", "one_shot_menu",
)
_MORE_KEYS = ("offer", "offer_action", "again", "again_action", "none", "nothing")
_ROUTINE_ENDS = ("better", "not_enough")

_JOURNAL_KEYS = (
    "ask_legs", "ask_duration", "ask_activity", "read_back", "saved", "change", "cancelled",
    "save_failed", "read_failed", "not_understood", "help", "one_shot", "dropped",
    "after_emergency", "numb", "for_duration", "while_activity", "with_signs", "warning_signs",
    "summary_none", "summary_count", "summary_one_duration", "summary_duration", "summary_one_leg",
    "summary_leg", "before_one_day", "before_days", "summary_more", "summary_none_before",
    "summary_fewer", "summary_same", "summary_last", "summary_advice", "summary_report",
    "summary_keep_going",
)
_JOURNAL_WORDS = ("left", "right", "both", "sitting", "lying", "walking", "other", "frequent",
                  "lengthening", "one_sided", "red_flags")


@dataclass(frozen=True)
class MoreWords:
    """How an answer's further parts are offered and asked for ([more] in responses.toml)."""

    texts: dict[str, str]        # offer, offer_action, again, again_action, none, nothing
    words: tuple[str, ...]        # "tell me more", "go on": the next part
    action_words: tuple[str, ...]  # "what should I do": the answer's action part


@dataclass(frozen=True)
class Responses:
    texts: dict[str, str]
    menu: tuple[str, ...]
    menu_words: tuple[tuple[str, ...], ...]
    pause_words: tuple[str, ...]
    names: dict[str, str]
    confirm: str
    offers: dict[str, str]
    cause_offers: dict[str, str]
    offer_questions: dict[str, str]
    emergency_numbers: dict[str, str]  # territory ("GB") -> number, and "default"
    help: Answer
    more: MoreWords
    routine_offers: dict[str, str]  # how the relief routine ended -> the topic to offer
    journal: dict[str, str] = field(default_factory=dict)        # the diary's sentences
    journal_words: dict[str, str] = field(default_factory=dict)  # how it names legs, reasons...

    def __getattr__(self, key: str) -> str:
        # Lets the skill write ``responses.help``; only text keys reach here.
        try:
            return self.texts[key]
        except KeyError:
            raise AttributeError(key) from None

    def emergency_number(self, locale: str | None) -> str:
        """The emergency number for LOCALE ("en_GB.UTF-8" -> "999"); the default when unknown."""
        return self.emergency_numbers.get(locale_territory(locale), self.emergency_numbers["default"])


@lru_cache(maxsize=1)
def load_responses() -> Responses:
    label, data = read_package_toml("voice", "responses.toml")
    root = Node(label, data)
    texts = {key: root.get(key).text() for key in _TEXT_KEYS}
    menu = root.get("menu").texts(min_len=3)
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
    more.reject_unknown({*_MORE_KEYS, "words", "action_words"})
    numbers = load_emergency_numbers().as_dict()
    return Responses(
        texts=texts, menu=menu, menu_words=menu_words,
        pause_words=root.get("pause_words").texts(),
        names={key: node.text() for key, node in root.get("names").items()},
        confirm=root.get("confirm").get("default").text(),
        offers=offers, cause_offers=cause_offers, offer_questions=questions, emergency_numbers=numbers,
        help=answer_from(root.get("help")),
        more=MoreWords(texts={key: more.get(key).text() for key in _MORE_KEYS},
                       words=more.get("words").texts(), action_words=more.get("action_words").texts()),
        routine_offers=routine_offers,
        journal={key: root.get("journal").get(key).text() for key in _JOURNAL_KEYS},
        journal_words={key: root.get("journal_words").get(key).text() for key in _JOURNAL_WORDS},
    )

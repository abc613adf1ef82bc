"""Load what the assistant says around the knowledge (``voice/data/responses.toml``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from knowledge.datafile import Node, read_package_toml

_TEXT_KEYS = (
    "empty", "not_english", "too_long", "help", "unknown", "menu_intro", "nothing_to_repeat",
    "which_cause", "stopped", "no_list", "yes_nothing", "no_nothing", "declined", "goodbye",
    "emergency_generic", "emergency_repeat_offer", "symptom_intro",
    "symptom_reason", "speech_slower", "speech_faster", "speech_louder",
    "speech_quieter", "speech_change_voice", "speech_limit", "signs_lead", "reprompt", "routine_next_hint",
    "routine_timer", "routine_time_up", "routine_resumed", "routine_paused", "routine_stopped",
    "routine_tip", "routine_questions_intro", "routine_tests_lead", "symptom_questions_intro",
    "help_routine", "help_question",
)

_JOURNAL_KEYS = (
    "ask_legs", "ask_duration", "ask_activity", "read_back", "saved", "change", "cancelled",
    "save_failed", "read_failed", "not_understood", "help", "dropped", "after_emergency", "numb",
    "for_duration", "while_activity", "with_signs", "warning_signs", "summary_none",
    "summary_count", "summary_one_duration", "summary_duration", "summary_one_leg", "summary_leg",
    "summary_more", "summary_none_before", "summary_fewer", "summary_same", "summary_last", "summary_advice",
    "summary_keep_going",
)
_JOURNAL_WORDS = ("left", "right", "both", "sitting", "lying", "walking", "other", "frequent",
                  "lengthening", "one_sided", "red_flags")


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
    emergency_numbers: dict[str, str]
    journal: dict[str, str] = field(default_factory=dict)        # the diary's sentences
    journal_words: dict[str, str] = field(default_factory=dict)  # how it names legs, reasons...

    def __getattr__(self, key: str) -> str:
        # Lets the skill write ``responses.help``; only text keys reach here.
        try:
            return self.texts[key]
        except KeyError:
            raise AttributeError(key) from None

    def emergency_number(self, locale: str | None) -> str:
        """The emergency number for LOCALE ("en_GB.UTF-8" -> "999"); 112 when unknown."""
        territory = ""
        if locale:
            head = locale.split(".")[0]
            if "_" in head:
                territory = head.split("_")[1].upper()
        return self.emergency_numbers.get(territory, self.emergency_numbers["default"])


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
    for key, target in (*offers.items(), *cause_offers.items()):
        if target not in questions:
            raise root.get("offers").fail(f"{key} offers {target!r}, but [offer_questions] has no "
                                          f"{target!r}")
    numbers = {key: node.text() for key, node in root.get("emergency_numbers").items()}
    if "default" not in numbers:
        raise root.get("emergency_numbers").fail("needs a default number")
    return Responses(
        texts=texts, menu=menu, menu_words=menu_words,
        pause_words=root.get("pause_words").texts(),
        names={key: node.text() for key, node in root.get("names").items()},
        confirm=root.get("confirm").get("default").text(),
        offers=offers, cause_offers=cause_offers, offer_questions=questions, emergency_numbers=numbers,
        journal={key: root.get("journal").get(key).text() for key in _JOURNAL_KEYS},
        journal_words={key: root.get("journal_words").get(key).text() for key in _JOURNAL_WORDS},
    )

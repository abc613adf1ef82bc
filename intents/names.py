"""Intent names, written once; the loader checks them against ``intents/data/intents.toml``."""

from __future__ import annotations

from enum import StrEnum


class IntentName(StrEnum):
    """Every intent the code knows. A member is its own name as a string, so it compares equal to
    ``Match.intent`` and prints and serialises as the plain name."""

    CAUSES_OVERVIEW = "causes_overview"
    CAUSE_INFO = "cause_info"
    SYMPTOM_CHECK = "symptom_check"
    RELIEF_NOW = "relief_now"
    SEE_DOCTOR = "see_doctor"
    DIAGNOSTICS = "diagnostics"
    PREVENTION = "prevention"
    EMERGENCY = "emergency"
    JOURNAL_LOG = "journal_log"
    JOURNAL_SUMMARY = "journal_summary"
    HELP = "help"
    REPEAT = "repeat"
    STOP = "stop"
    SLOWER = "slower"
    FASTER = "faster"
    LOUDER = "louder"
    QUIETER = "quieter"
    CHANGE_VOICE = "change_voice"
    NEXT = "next"
    PREVIOUS = "previous"
    YES = "yes"
    NO = "no"
    GOODBYE = "goodbye"
    # Below the confirm band; never in the data file (nothing is said to mean it).
    UNKNOWN = "unknown"


INTENT_NAMES: tuple[str, ...] = tuple(name.value for name in IntentName)
# The names the data file must give templates: all but UNKNOWN.
TEMPLATED_NAMES: frozenset[str] = frozenset(INTENT_NAMES) - {IntentName.UNKNOWN.value}

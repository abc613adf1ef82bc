"""The skill over the shipped data (matcher, knowledge, responses), with the emergency number in
effect."""

from __future__ import annotations

from intents.meaning import default_matcher
from knowledge.loader import load_knowledge

from ..dialogue.emergency_numbers import load_emergency_numbers
from ..dialogue.responses import load_responses
from ..dialogue.skill import Skill
from .settings import choose_emergency_number, current_locale


def emergency_number(override: str | None) -> str:
    """OVERRIDE (the option or the saved setting), else the number for the current locale."""
    return choose_emergency_number(override, None, current_locale(),
                                   load_emergency_numbers()).number


def build_skill(number: str | None = None, *, one_shot: bool = False) -> Skill:
    """The skill over the shipped data; raises DataFileError if a data file is broken.

    ONE_SHOT: one question and one answer (`numb-legs ask`), so nothing is offered or asked."""
    return Skill(default_matcher(), load_knowledge(), load_responses(), emergency_number(number),
                 one_shot=one_shot)

"""Speech settings that persist between runs: a small TOML file in the user's config folder.

Written atomically (temporary file, fsync, rename), so a crash never leaves half a file. A
corrupt file is reported, moved aside (so nothing the person wrote is lost) and replaced by
defaults; a file that cannot be written is reported and the settings still apply for this run.
"""

from __future__ import annotations

import locale
import logging
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from pathlib import Path

from intents.names import IntentName
from knowledge.atomic_write import write_atomically
from knowledge.datafile import Node, parse_toml, read_package_toml
from knowledge.errors import DataFileError
from knowledge.user_dirs import user_dir

from ..dialogue.emergency_numbers import EmergencyNumbers, load_emergency_numbers, locale_territory

_LOGGER = logging.getLogger(__name__)

RATE_RANGE = (80, 400)
RATE_STEP = 30
VOLUME_STEP = 0.2
NUMBER_DIGITS = (2, 15)  # 112 and 999 to a full international number (E.164 has at most 15)
# Digits with spaces between groups, a + first allowed: "999", "+44 999".
_NUMBER = re.compile(r"^\+?[0-9](?:[0-9 ]*[0-9])?$")
RESET_HINT = "Edit that file, or run numb-legs settings --reset to go back to the defaults."


@dataclass(frozen=True)
class Settings:
    rate: int = 175                    # words a minute
    volume: float = 1.0                # 0..1
    voice: str | None = None           # espeak-ng voice; None: the system's default
    emergency_number: str | None = None  # None: from the locale

    def changed(self, what: str, voices: tuple[str, ...] = ()) -> tuple[Settings, bool]:
        """The settings after "slower", "faster", "louder", "quieter" or "change_voice" (the
        next of VOICES after the current one); True if at the limit (nothing changed)."""
        if what == IntentName.CHANGE_VOICE:
            if not voices:
                return self, True
            position = voices.index(self.voice) if self.voice in voices else -1
            return replace(self, voice=voices[(position + 1) % len(voices)]), False
        if what in (IntentName.SLOWER, IntentName.FASTER):
            step = RATE_STEP if what == IntentName.FASTER else -RATE_STEP
            rate = max(RATE_RANGE[0], min(RATE_RANGE[1], self.rate + step))
            return replace(self, rate=rate), rate == self.rate
        volume_step = VOLUME_STEP if what == IntentName.LOUDER else -VOLUME_STEP
        volume = round(max(0.1, min(1.0, self.volume + volume_step)), 2)
        return replace(self, volume=volume), volume == self.volume


@lru_cache(maxsize=1)
def voice_cycle() -> tuple[str, ...]:
    """The voices "use a different voice" steps through (voice/data/voices.toml)."""
    label, data = read_package_toml("voice", "voices.toml")
    return Node(label, data).get("cycle").texts(min_len=1)


def config_path(env: Mapping[str, str] = os.environ) -> Path:
    if env.get("NUMB_LEGS_CONFIG"):  # the file itself, not a folder
        return Path(env["NUMB_LEGS_CONFIG"])
    return user_dir("config") / "settings.toml"


def load(path: Path) -> tuple[Settings, str | None]:
    """The saved settings (defaults where missing or wrong) and a message when something was."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Settings(), None
    except OSError as err:
        return Settings(), f"Your settings file {path} could not be read ({err.strerror}); " \
                           "using the default settings."
    try:
        data = parse_toml(str(path), raw)
    except DataFileError as err:
        aside = path.with_name(f"{path.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            path.replace(aside)
            where = f"It was moved to {aside}."
        except OSError:
            where = "It could not be moved aside."
        return Settings(), f"Your settings file {path} was damaged ({err.problem}). Using the " \
                           f"default settings. {where}"
    values: dict[str, object] = {}
    problems = []
    known = {field.name for field in fields(Settings)}
    for key, value in data.items():
        problem = _check(key, value) if key in known else "is not a setting"
        if problem:
            problems.append(f"{key} {problem} (it is {_shown(value)})")
        else:
            values[key] = value
    settings = Settings(**values)  # type: ignore[arg-type]  # each value was checked above
    if problems:
        return settings, f"Your settings file {path} has values numb-legs cannot use, so it uses " \
                         f"the default for them: {'; '.join(problems)}. {RESET_HINT}"
    return settings, None


def _shown(value: object) -> str:
    """A saved value as the file writes it, cut short if long."""
    text = _toml_string(value) if isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check(key: str, value: object) -> str:
    problem = {"rate": rate_problem, "volume": volume_problem, "voice": _voice_problem,
               "emergency_number": emergency_number_problem}.get(key)
    return problem(value) if problem else "is not a setting"


# The ranges below apply to the command-line options (voice/cli/option_types.py) and to the
# settings file alike: a value refused on the command line is refused in the file too.
def rate_problem(value: object) -> str:
    """Why VALUE is no speaking rate ("must be ..."), or "" when it is one."""
    ok = isinstance(value, int) and not isinstance(value, bool) and \
        RATE_RANGE[0] <= value <= RATE_RANGE[1]
    return "" if ok else f"must be a whole number of words a minute from {RATE_RANGE[0]} to " \
                         f"{RATE_RANGE[1]}, such as 175"


def volume_problem(value: object) -> str:
    """Why VALUE is no volume, or "". Zero is refused: it would make speech silent unannounced."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 1
    return "" if ok else "must be a number above 0 and at most 1.0, such as 0.5"


def _voice_problem(value: object) -> str:
    return "" if isinstance(value, str) and value.strip() else "must be a voice name"


def emergency_number_problem(value: object) -> str:
    """Why VALUE is no number to dial, or ""."""
    if isinstance(value, str) and _NUMBER.match(value):
        digits = sum(ch in "0123456789" for ch in value)
        if NUMBER_DIGITS[0] <= digits <= NUMBER_DIGITS[1]:
            return ""
    return f"must be a phone number of {NUMBER_DIGITS[0]} to {NUMBER_DIGITS[1]} digits, such " \
           "as 112, 911 or 999 (a + first and spaces between digits are allowed)"


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(ch if ch >= " " else f"\\u{ord(ch):04x}" for ch in escaped)
    return f'"{escaped}"'


def dumps(settings: Settings) -> str:
    lines = ["# numb-legs speech settings. Edit freely, or run: numb-legs settings --reset"]
    for field in fields(Settings):
        value = getattr(settings, field.name)
        if value is None:
            continue
        text = _toml_string(value) if isinstance(value, str) else repr(value)
        lines.append(f"{field.name} = {text}")
    return "\n".join(lines) + "\n"


def save(settings: Settings, path: Path) -> str | None:
    """Write SETTINGS; None when saved, else why they will not be remembered."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, dumps(settings))
    except OSError as err:
        _LOGGER.debug("Could not save settings", exc_info=True)
        return f"I couldn't save your settings to {path} ({err.strerror or err}). They apply " \
               "until you close numb-legs, but won't be remembered."
    return None


def reset(path: Path) -> str | None:
    try:
        path.unlink(missing_ok=True)
    except OSError as err:
        return f"I couldn't remove {path} ({err.strerror})."
    return None


def current_locale(env: Mapping[str, str] = os.environ) -> str | None:
    """The locale the emergency number is chosen from: LC_ALL, LC_MESSAGES, LANG, else Python's."""
    return env.get("LC_ALL") or env.get("LC_MESSAGES") or env.get("LANG") or locale.getlocale()[0]


@dataclass(frozen=True)
class EmergencyChoice:
    """The emergency number in effect and where it came from."""

    number: str
    origin: str                    # "option", "settings", "locale" or "default"
    locale_name: str | None = None  # the locale it was chosen from

    def explained(self) -> str:
        """ "999 (from your locale en_GB)", for people to read."""
        shown = _without_codeset(self.locale_name)
        if self.origin == "option":
            why = "set with --emergency-number"
        elif self.origin == "settings":
            why = "set in your settings file"
        elif self.origin == "locale":
            why = f"from your locale {shown}"
        elif not self.locale_name:
            why = "the default, as no locale is set"
        elif not locale_territory(self.locale_name):
            why = f"the default, as your locale {shown} names no country"
        else:
            why = f"the default, as no number is listed for your locale {shown}"
        return f"{self.number} ({why})"


def choose_emergency_number(option: str | None, saved: str | None, locale_name: str | None,
                            numbers: EmergencyNumbers) -> EmergencyChoice:
    """The number to tell people to call: --emergency-number, else the settings file, else the
    locale's territory in NUMBERS, else its default (the order skill_setup.emergency_number
    uses)."""
    if option:
        return EmergencyChoice(option, "option", locale_name)
    if saved:
        return EmergencyChoice(saved, "settings", locale_name)
    entry = numbers.for_locale(locale_name)
    return EmergencyChoice(entry.number, "locale" if entry.territory else "default", locale_name)


def _without_codeset(name: str | None) -> str:
    """ "en_GB.UTF-8" -> "en_GB": the codeset says nothing about the country."""
    return re.sub(r"\.[^@]*", "", name or "")


def describe(settings: Settings, path: Path, emergency_option: str | None = None,
             env: Mapping[str, str] = os.environ) -> list[str]:
    """The settings for people to read; the emergency number as it is in effect, and why."""
    default = Settings()

    def note(name: str) -> str:
        return " (default)" if getattr(settings, name) == getattr(default, name) else ""

    return [
        f"Settings file: {path}",
        f"Speaking rate: {settings.rate} words a minute{note('rate')}",
        f"Volume: {round(settings.volume * 100)} percent{note('volume')}",
        f"Voice: {settings.voice or 'the system default'}{note('voice')}",
        "Emergency number: " + choose_emergency_number(
            emergency_option, settings.emergency_number, current_locale(env),
            load_emergency_numbers()).explained(),
    ]

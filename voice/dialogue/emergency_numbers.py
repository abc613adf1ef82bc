"""The number to call for an ambulance in each territory, with a public source for each
(``voice/data/emergency_numbers.toml``), and the territory of a locale name."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from knowledge.datafile import Node, read_package_toml

_TERRITORY = re.compile(r"^[A-Z]{2}$")
_DIAL = re.compile(r"^[0-9]{2,6}$")


@dataclass(frozen=True)
class EmergencyNumber:
    """The number to call for an ambulance in one territory, and the public source that says so."""

    number: str
    territory: str  # "GB"; "" for the default
    source_name: str
    source_url: str


@dataclass(frozen=True)
class EmergencyNumbers:
    default: EmergencyNumber
    territories: dict[str, EmergencyNumber] = field(hash=False)

    def for_locale(self, locale: str | None) -> EmergencyNumber:
        """The entry for LOCALE's territory ("en_SG.UTF-8" -> SG); the default when not listed."""
        return self.territories.get(locale_territory(locale), self.default)

    def as_dict(self) -> dict[str, str]:
        return {"default": self.default.number,
                **{territory: entry.number for territory, entry in self.territories.items()}}


def locale_territory(locale: str | None) -> str:
    """The territory of a locale name: "en_GB.UTF-8" -> "GB", "sr_RS@latin" -> "RS", "en-US" ->
    "US"; "" for "C", "POSIX", a language alone or nothing."""
    if not locale:
        return ""
    head = re.split(r"[.@]", locale, maxsplit=1)[0]
    for part in re.split(r"[_-]", head)[1:]:
        if _TERRITORY.match(part.upper()) and part.isalpha():
            return part.upper()
    return ""


def emergency_numbers_from_dict(label: str, data: dict[str, Any]) -> EmergencyNumbers:
    """Validate DATA (read from LABEL) and build the table of emergency numbers."""
    root = Node(label, data)
    root.reject_unknown({"schema_version", "default", "territories"})
    root.require_version(1)
    territories = {}
    for key, node in root.get("territories").items():
        if not _TERRITORY.match(key):
            raise node.fail(f"{key!r} is not a territory: two capital letters, as in GB or JP")
        territories[key] = _emergency_entry(node, key)
    return EmergencyNumbers(default=_emergency_entry(root.get("default"), ""),
                            territories=territories)


def _emergency_entry(node: Node, territory: str) -> EmergencyNumber:
    node.reject_unknown({"number", "source"})
    number_node = node.get("number")
    number = number_node.text()
    if not _DIAL.match(number):
        raise number_node.fail(f"{number!r} is not a number to dial (two to six digits, in quotes)")
    source = node.get("source")
    source.reject_unknown({"name", "url"})
    url = source.get("url").text()
    if not url.startswith("https://"):
        raise source.get("url").fail(f"{url!r} is not an https address of a public source")
    return EmergencyNumber(number=number, territory=territory, source_name=source.get("name").text(),
                           source_url=url)


@lru_cache(maxsize=1)
def load_emergency_numbers() -> EmergencyNumbers:
    """The shipped table (voice/data/emergency_numbers.toml), parsed once per process."""
    label, data = read_package_toml("voice", "emergency_numbers.toml")
    return emergency_numbers_from_dict(label, data)

"""What the Wyoming service says and shows that the local assistant does not
(voice/data/service.toml)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from knowledge.datafile import Node, read_package_toml

DURATION = "{duration}"


@dataclass(frozen=True)
class ServiceTexts:
    routine_timer: str  # has {duration}
    handle: str
    domain_model: str
    whisper_model: str

    @classmethod
    def from_dict(cls, label: str, data: dict[str, Any]) -> ServiceTexts:
        root = Node(label, data)
        root.reject_unknown({"schema_version", "routine_timer", "describe"})
        root.require_version(1)
        timer = root.get("routine_timer")
        if timer.text().count(DURATION) != 1:
            raise timer.fail(f"must say {DURATION} once")
        describe = root.get("describe")
        describe.reject_unknown({"handle", "domain_model", "whisper_model"})
        return cls(timer.text(), describe.get("handle").text(), describe.get("domain_model").text(),
                   describe.get("whisper_model").text())


@lru_cache(maxsize=1)
def load_service_texts() -> ServiceTexts:
    """The shipped texts; raises DataFileError naming the key when the file is broken."""
    return ServiceTexts.from_dict(*read_package_toml("voice", "service.toml"))

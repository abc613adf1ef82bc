"""The catalog of speech models one can download (voice/data/models.toml: Vosk models, and
Whisper for the second opinion): reading it, and resolving a name or address to an entry."""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Any

from knowledge.datafile import Node, read_package_toml
from knowledge.errors import NumbLegsError

from .download_progress import size_text

CATALOG_PAGE = "https://alphacephei.com/vosk/models"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
KINDS = ("vosk", "whisper")


class ModelError(NumbLegsError):
    """A speech model cannot be found, checked, downloaded or installed."""


class UnknownModelError(ModelError):
    """The name is not in the catalog and is not the address of a zip."""


@dataclass(frozen=True)
class ModelEntry:
    """One downloadable model. SIZE is None and digests are "" when nothing is known in advance."""

    name: str
    url: str
    size: int | None
    sha256: str = ""
    md5: str = ""
    language: str = ""
    licence: str = ""
    description: str = ""
    kind: str = "vosk"   # "vosk", or "whisper" (a CTranslate2 folder: voice/asr/whisper_engine.py)
    member: str = ""     # the model's folder inside the zip, when it is not the zip's only folder


@dataclass(frozen=True)
class ModelCatalog:
    default: str
    models: tuple[ModelEntry, ...]

    def get(self, name: str) -> ModelEntry | None:
        return next((entry for entry in self.models if entry.name == name), None)


@lru_cache(maxsize=1)
def load_catalog() -> ModelCatalog:
    """The shipped catalog, voice/data/models.toml (parsed once per process)."""
    label, data = read_package_toml("voice", "models.toml")
    return catalog_from_dict(label, data)


def catalog_from_dict(label: str, data: dict[str, Any]) -> ModelCatalog:
    """Validate DATA (read from LABEL) and build the catalog."""
    root = Node(label, data)
    root.reject_unknown({"schema_version", "default", "models"})
    root.require_version(1)
    entries: list[ModelEntry] = []
    for item in root.get("models").list(min_len=1):
        item.reject_unknown({"name", "language", "url", "size", "sha256", "md5", "licence",
                             "description", "kind", "member"})
        kind = item.optional("kind", "vosk")
        if kind.value not in KINDS:
            raise kind.fail(f"{kind.value!r} is not one of {', '.join(KINDS)}")
        name = item.get("name").text()
        if not _NAME.match(name):
            raise item.get("name").fail(f"{name!r} is not a folder name (letters, digits, . - _)")
        if any(entry.name == name for entry in entries):
            raise item.get("name").fail(f"model {name!r} appears twice")
        url = item.get("url").text()
        if not url.startswith("https://"):
            raise item.get("url").fail(f"{url!r} is not an https address")
        entries.append(ModelEntry(
            name=name, url=url, size=item.get("size").integer(1, 10**12),
            sha256=_digest(item.get("sha256"), 64), md5=_digest(item.optional("md5", ""), 32),
            language=item.get("language").text(), licence=item.get("licence").text(),
            description=item.get("description").text(), kind=str(kind.value),
            member=item.get("member").text() if item.has("member") else ""))
    default = root.get("default")
    if not any(entry.name == default.text() for entry in entries):
        raise default.fail(f"{default.value!r} is not one of the models")
    return ModelCatalog(default=default.text(), models=tuple(entries))


def _digest(node: Node, length: int) -> str:
    if not isinstance(node.value, str):
        raise node.fail("must be a string of hex digits, or \"\" when unknown")
    value = node.value.strip().lower()
    if value and not re.fullmatch(f"[0-9a-f]{{{length}}}", value):
        raise node.fail(f"must be {length} hex digits, or \"\" when unknown")
    return value


def resolve_model(name_or_url: str | None, catalog: ModelCatalog) -> ModelEntry:
    """The catalog entry for a name (None: the default) or URL; an unknown URL gets a bare entry."""
    text = (name_or_url or "").strip() or catalog.default
    entry = catalog.get(text) or catalog.get(text.removesuffix(".zip"))
    if entry is not None:
        return entry
    if "://" not in text:
        known = ", ".join(entry.name for entry in catalog.models)
        raise UnknownModelError(
            f"I don't know a model called {text!r}. Known models: {known}. You can also give "
            f"the address of a Vosk model zip from {CATALOG_PAGE}.")
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise UnknownModelError(f"{text} is not an http or https address.")
    for entry in catalog.models:
        if entry.url == text:
            return entry
    base = PurePosixPath(urllib.parse.unquote(parts.path)).name
    name = base[:-4] if base.lower().endswith(".zip") else ""
    if not _NAME.match(name):
        raise UnknownModelError(f"{text} does not end in the name of a .zip file, so I can't "
                                "tell what to call the model.")
    return ModelEntry(name=name, url=text, size=None)


def catalog_lines(catalog: ModelCatalog | None = None) -> list[str]:
    """One plain sentence per catalog model, for `numb-legs download-model --list`."""
    catalog = catalog or load_catalog()
    lines = []
    for entry in catalog.models:
        default = " (the default)" if entry.name == catalog.default else ""
        size = size_text(entry.size) if entry.size else "size unknown"
        lines.append(f"{entry.name}{default}: {size}, {entry.licence}. {entry.description}")
    return lines

"""Read TOML data files shipped as package data and check them field by field.

Every check raises :class:`DataFileError` naming the file, the key path and the problem, so a
broken data file stops start-up with a message someone can act on. Checks use explicit ``raise``,
never ``assert`` (which ``python -O`` strips).
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any

from .errors import DataFileError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def read_package_toml(package: str, name: str) -> tuple[str, dict[str, Any]]:
    """Load ``data/NAME`` from PACKAGE through importlib.resources; return (label, table)."""
    label = f"{package}/data/{name}"
    try:
        raw = resources.files(package).joinpath("data").joinpath(name).read_bytes()
    except (FileNotFoundError, OSError) as err:
        raise DataFileError(label, "", f"cannot be read ({err.__class__.__name__}: {err})") from err
    return label, parse_toml(label, raw)


def read_toml_path(path: str) -> dict[str, Any]:
    """Load a TOML file from the file system (used for overrides and tests)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as err:
        raise DataFileError(path, "", f"cannot be read ({err.strerror})") from err
    return parse_toml(path, raw)


def parse_toml(label: str, raw: bytes) -> dict[str, Any]:
    """Decode and parse TOML bytes, turning every failure into a DataFileError."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataFileError(label, "", f"is not UTF-8 text (byte {err.start})") from err
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise DataFileError(label, "", f"is not valid TOML: {err}") from err


class Node:
    """A value inside a data file, with its key path, for precise error messages."""

    def __init__(self, file: str, value: Any, path: str = "") -> None:
        self.file = file
        self.value = value
        self.path = path

    def require_version(self, expected: int = 1) -> None:
        """Fail unless this table's ``schema_version`` is EXPECTED."""
        version = self.get("schema_version")
        if version.value != expected:
            raise version.fail(f"must be {expected}, not {version.value!r}")

    def fail(self, problem: str) -> DataFileError:
        """Return (not raise) an error about this node, so callers write ``raise node.fail(...)``."""
        return DataFileError(self.file, self.path or "(top level)", problem)

    def _child_path(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def table(self) -> Mapping[str, Any]:
        if not isinstance(self.value, dict):
            raise self.fail(f"must be a table, not {_kind(self.value)}")
        return self.value

    def has(self, key: str) -> bool:
        return key in self.table()

    def get(self, key: str) -> Node:
        table = self.table()
        if key not in table:
            raise DataFileError(self.file, self._child_path(key), "is missing")
        return Node(self.file, table[key], self._child_path(key))

    def optional(self, key: str, default: Any) -> Node:
        table = self.table()
        return Node(self.file, table.get(key, default), self._child_path(key))

    def items(self) -> Iterator[tuple[str, Node]]:
        for key, value in self.table().items():
            yield key, Node(self.file, value, self._child_path(key))

    def list(self, min_len: int = 0) -> list[Node]:
        if not isinstance(self.value, list):
            raise self.fail(f"must be an array, not {_kind(self.value)}")
        if len(self.value) < min_len:
            raise self.fail(f"must have at least {min_len} entries, has {len(self.value)}")
        return [Node(self.file, item, self._child_path(i)) for i, item in enumerate(self.value)]

    def text(self) -> str:
        """A non-empty, stripped string."""
        if not isinstance(self.value, str):
            raise self.fail(f"must be a string, not {_kind(self.value)}")
        stripped = " ".join(self.value.split())
        if not stripped:
            raise self.fail("must not be empty")
        return stripped

    def ident(self) -> str:
        value = self.text()
        if not _ID.match(value):
            raise self.fail(f"{value!r} is not an id (lower case letters, digits and _)")
        return value

    def integer(self, low: int, high: int) -> int:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise self.fail(f"must be an integer, not {_kind(self.value)}")
        if not low <= self.value <= high:
            raise self.fail(f"{self.value} is outside {low}..{high}")
        return self.value

    def number(self, low: float = -math.inf, high: float = math.inf) -> float:
        if isinstance(self.value, bool) or not isinstance(self.value, (int, float)):
            raise self.fail(f"must be a number, not {_kind(self.value)}")
        if not low <= self.value <= high:
            raise self.fail(f"{self.value} is outside {low}..{high}")
        return float(self.value)

    def texts(self, min_len: int = 1) -> tuple[str, ...]:
        return tuple(item.text() for item in self.list(min_len))

    def reject_unknown(self, allowed: set[str]) -> None:
        """Unknown keys are usually typos; naming them beats silently ignoring them."""
        extra = sorted(set(self.table()) - allowed)
        if extra:
            raise DataFileError(self.file, self._child_path(extra[0]), "is not a known key")


def _kind(value: Any) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "a boolean",
             list: "an array", dict: "a table"}
    return names.get(type(value), type(value).__name__)

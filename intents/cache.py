"""Keep the built matcher on disk, so start-up does not expand every template again.

The cache key is a hash of the data files and of the matcher's code, so any change to either
rebuilds it. A missing, stale, unreadable or unwritable cache only costs time, never correctness.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TypeVar

from knowledge.atomic_write import write_atomically
from knowledge.user_dirs import user_dir

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

# Everything the cached objects are built from: every module and data file of these packages.
# Walked, not listed: a list left out intents/phonetic.py, and editing it silently kept the old
# sound-alike tables until the cache was cleared.
_PACKAGES = ("intents", "knowledge")
_SUFFIXES = (".py", ".toml", ".tsv")


def cache_dir() -> Path:
    return user_dir("cache", "NUMB_LEGS_CACHE_DIR")


def fingerprint_inputs() -> list[tuple[str, str]]:
    """(package, path) of every file the fingerprint reads, in a fixed order."""
    found: list[tuple[str, str]] = []

    def walk(package: str, node: Traversable, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda item: item.name):
            if child.is_dir():
                if child.name != "__pycache__":
                    walk(package, child, f"{prefix}{child.name}/")
            elif child.name.endswith(_SUFFIXES):
                found.append((package, prefix + child.name))

    for package in _PACKAGES:
        walk(package, resources.files(package), "")
    return found


@lru_cache(maxsize=8)
def fingerprint(extra: tuple[tuple[str, str], ...] = ()) -> str:
    """Hash of the code and data files the cached objects are built from, and of EXTRA
    (package, path) files; a file that is not there is an error, not a silent constant. Worked
    out once per process: the files do not change while it runs."""
    digest = hashlib.sha256()
    for package, name in (*fingerprint_inputs(), *extra):
        node = resources.files(package)
        for part in name.split("/"):
            node = node.joinpath(part)
        digest.update(f"{package}/{name}\n".encode())
        digest.update(node.read_bytes())
    return digest.hexdigest()[:20]


def cached(name: str, build: Callable[[], T]) -> T:
    """BUILD's result, from the cache when its fingerprint matches, else built and stored."""
    if os.environ.get("NUMB_LEGS_NO_CACHE"):
        return build()
    path = cache_dir() / f"{name}-{fingerprint()}.pickle"
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle)
    except FileNotFoundError:
        pass
    except Exception:  # noqa: BLE001 - any unreadable cache is simply rebuilt
        _LOGGER.debug("Cache %s unreadable; rebuilding", path, exc_info=True)
    value = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Whole or not at all, so a reader never sees half a file.
        write_atomically(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        for old in path.parent.glob(f"{name}-*.pickle"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        _LOGGER.debug("Could not write cache %s", path, exc_info=True)
    return value

"""Keep the built matcher on disk, so start-up does not expand every template again.

The cache key is a hash of the data files and of the matcher's code, so any change to either
rebuilds it. A missing, stale, unreadable or unwritable cache only costs time, never correctness.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TypeVar

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

_INPUTS = (("intents", "data/intents.toml"), ("intents", "data/language.toml"),
           ("knowledge", "data/knowledge.toml"), ("intents", "matcher.py"),
           ("intents", "spotting.py"), ("intents", "templates.py"), ("intents", "normalize.py"),
           ("intents", "loader.py"), ("knowledge", "loader.py"), ("knowledge", "model.py"))


def cache_dir() -> Path:
    override = os.environ.get("NUMB_LEGS_CACHE_DIR")
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("numb-legs"))


def fingerprint(extra: tuple[tuple[str, str], ...] = ()) -> str:
    """Hash of the data files and the code that builds from them (plus EXTRA (package, path))."""
    digest = hashlib.sha256()
    for package, name in (*_INPUTS, *extra):
        try:
            node = resources.files(package)
            for part in name.split("/"):
                node = node.joinpath(part)
            digest.update(node.read_bytes())
        except OSError:
            digest.update(b"missing:" + name.encode())
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
        # Write then rename, so a reader never sees half a file.
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as temporary:
            pickle.dump(value, temporary, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary.name, path)
        for old in path.parent.glob(f"{name}-*.pickle"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        _LOGGER.debug("Could not write cache %s", path, exc_info=True)
    return value

"""Keep the built matcher on disk, so start-up does not expand every template again.

The cache key is a hash of the data files and of the matcher's code, so any change to either
rebuilds it. Every file carries a SHA-256 of its contents (a folder of files, a SHA256SUMS file),
so damage of any kind (random bytes, truncation, a flipped bit, a file gone) is found before the
file is used. A missing, stale, damaged, unreadable or unwritable cache only costs time, never
correctness.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import shutil
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TypeVar

from knowledge.atomic_write import write_atomically
from knowledge.user_dirs import user_dir

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

# What a cached object's file starts with, then the SHA-256 of the pickle that follows. A pickle
# alone cannot be trusted: a flipped bit in a string loads without error, as a different value.
_MAGIC = b"numb-legs cache 1\n"
_DIGEST_BYTES = 32
SUMS_NAME = "SHA256SUMS"  # in a cached folder, as sha256sum writes it: "<hex>  <name>" a line

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


def cached(name: str, build: Callable[[], T],
           inputs: tuple[tuple[str, str], ...] = ()) -> T:
    """BUILD's result, from the cache when its fingerprint matches, else built and stored.
    INPUTS: (package, path) files beyond intents/ and knowledge/ that BUILD reads."""
    if os.environ.get("NUMB_LEGS_NO_CACHE"):
        return build()
    path = _cache_path(name, inputs)
    try:
        payload = _unsealed(path.read_bytes())
        if payload is not None:
            return pickle.loads(payload)
        _LOGGER.debug("Cache %s is damaged; rebuilding", path)
    except FileNotFoundError:
        pass
    except Exception:  # noqa: BLE001 - any unreadable cache is simply rebuilt
        _LOGGER.debug("Cache %s unreadable; rebuilding", path, exc_info=True)
    value = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Whole or not at all, so a reader never sees half a file.
        write_atomically(path, _sealed(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)))
        for old in path.parent.glob(f"{name}-*.pickle"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        _LOGGER.debug("Could not write cache %s", path, exc_info=True)
    return value


def cached_file(name: str, file_name: str, build: Callable[[], bytes]) -> Path | bytes:
    """Where BUILD's bytes are kept on disk as FILE_NAME (a sealed folder, keyed like cached),
    built and stored when they are not there whole; the bytes themselves when they cannot be
    stored. For what a library reads from a path: handed bytes, onnxruntime keeps its own
    reference to them for the session's life (23 MB for the sentence encoder)."""
    if os.environ.get("NUMB_LEGS_NO_CACHE"):
        return build()
    folder = cache_dir() / f"{name}-{fingerprint()}"
    if files_intact(folder, [file_name]):
        return folder / file_name
    value = build()
    try:
        write_sealed(folder, {file_name: value})
    except OSError:
        _LOGGER.debug("Could not write cache %s", folder, exc_info=True)
        return value
    for old in folder.parent.glob(f"{name}-*"):  # older builds, and this one as a pickle
        if old == folder:
            continue
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
    return folder / file_name


def is_cached(name: str, inputs: tuple[tuple[str, str], ...] = ()) -> bool:
    """Would cached(NAME, ..., INPUTS) find its value whole on disk (so not build it)?"""
    if os.environ.get("NUMB_LEGS_NO_CACHE"):
        return False
    try:
        return _unsealed(_cache_path(name, inputs).read_bytes()) is not None
    except OSError:
        return False


def _cache_path(name: str, inputs: tuple[tuple[str, str], ...]) -> Path:
    return cache_dir() / f"{name}-{fingerprint(inputs)}.pickle"


def _sealed(payload: bytes) -> bytes:
    return _MAGIC + hashlib.sha256(payload).digest() + payload


def _unsealed(blob: bytes) -> bytes | None:
    """The payload of a sealed BLOB, or None when the blob is not whole."""
    start = len(_MAGIC) + _DIGEST_BYTES
    if len(blob) < start or not blob.startswith(_MAGIC):
        return None
    payload = blob[start:]
    return payload if hashlib.sha256(payload).digest() == blob[len(_MAGIC):start] else None


def write_sealed(folder: Path, files: Mapping[str, str | bytes]) -> None:
    """Write FILES (name -> contents) into FOLDER, each whole or not at all, and seal them last:
    another process building the same folder meanwhile writes the same bytes, and a reader
    trusts only a sealed folder (files_intact). OSError when it cannot."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        write_atomically(folder / name, data)
    seal_files(folder, list(files))


def seal_files(folder: Path, names: Sequence[str]) -> None:
    """Record the SHA-256 of each of NAMES in FOLDER, written last: the folder counts as built
    only once every file is whole (files_intact). OSError when it cannot be written."""
    lines = "".join(f"{_sha256_file(folder / name)}  {name}\n" for name in names)
    write_atomically(folder / SUMS_NAME, lines)


def files_intact(folder: Path, names: Sequence[str]) -> bool:
    """Are NAMES in FOLDER exactly as seal_files recorded them? False for any damage, a missing
    file or record, or a folder that cannot be read."""
    try:
        recorded = {}
        for line in (folder / SUMS_NAME).read_text(encoding="ascii").splitlines():
            digest, _, name = line.partition("  ")
            recorded[name] = digest
        return all(name in recorded and _sha256_file(folder / name) == recorded[name]
                   for name in names)
    except (OSError, UnicodeDecodeError):
        return False


def _sha256_file(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()

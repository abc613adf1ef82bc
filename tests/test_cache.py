"""The on-disk cache of built objects: its key follows every input, and a bad cache costs time only."""

from __future__ import annotations

from pathlib import Path

import pytest

from intents import cache

ROOT = Path(__file__).resolve().parent.parent


def test_the_key_reads_every_module_and_data_file_of_the_packages():
    inputs = set(cache.fingerprint_inputs())
    # The sound-alike tables: once left out of a hand-written list, so edits went unseen.
    assert ("intents", "phonetic.py") in inputs
    for package in ("intents", "knowledge"):
        for path in (ROOT / package).rglob("*"):
            if path.suffix in (".py", ".toml", ".tsv") and "__pycache__" not in path.parts:
                assert (package, path.relative_to(ROOT / package).as_posix()) in inputs, path


def test_a_file_named_as_an_extra_input_must_exist():
    with pytest.raises(OSError):
        cache.fingerprint((("intents", "no_such_module.py"),))


def test_an_unreadable_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMB_LEGS_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("NUMB_LEGS_NO_CACHE", raising=False)
    assert cache.cached("thing", lambda: [1, 2]) == [1, 2]
    (stored,) = tmp_path.glob("thing-*.pickle")
    stored.write_bytes(b"not a pickle")
    assert cache.cached("thing", lambda: [3]) == [3]
    assert cache.cached("thing", lambda: [4]) == [3]  # stored again, and read back


def test_is_cached_says_whether_the_value_would_be_read_or_built(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMB_LEGS_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("NUMB_LEGS_NO_CACHE", raising=False)
    assert not cache.is_cached("thing")
    cache.cached("thing", lambda: [1])
    assert cache.is_cached("thing")
    (stored,) = tmp_path.glob("thing-*.pickle")
    stored.write_bytes(stored.read_bytes()[:-1])  # cut short: it would be built again
    assert not cache.is_cached("thing")
    # Another value's inputs are another key.
    cache.cached("thing", lambda: [1])
    assert not cache.is_cached("thing", (("voice", "data/responses.toml"),))


def test_a_cached_file_is_built_once_and_handed_over_by_path(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMB_LEGS_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("NUMB_LEGS_NO_CACHE", raising=False)
    (tmp_path / "model-old.pickle").write_bytes(b"the same thing, as it was kept before")
    built = []

    def build() -> bytes:
        built.append(1)
        return b"weights %d" % len(built)

    first = cache.cached_file("model", "model.onnx", build)
    assert isinstance(first, Path) and first.read_bytes() == b"weights 1"
    assert cache.cached_file("model", "model.onnx", build) == first and len(built) == 1
    assert not (tmp_path / "model-old.pickle").exists()
    # One changed byte, and the file is built again rather than handed over.
    first.write_bytes(b"weights 9")
    assert cache.cached_file("model", "model.onnx", build).read_bytes() == b"weights 2"


def test_a_cached_file_that_cannot_be_kept_is_handed_over_as_bytes(tmp_path, monkeypatch):
    blocked = tmp_path / "not a folder"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("NUMB_LEGS_CACHE_DIR", str(blocked))
    monkeypatch.delenv("NUMB_LEGS_NO_CACHE", raising=False)
    assert cache.cached_file("model", "model.onnx", lambda: b"weights") == b"weights"
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("NUMB_LEGS_CACHE_DIR", str(empty))
    monkeypatch.setenv("NUMB_LEGS_NO_CACHE", "1")
    assert cache.cached_file("model", "model.onnx", lambda: b"weights") == b"weights"
    assert not list(empty.iterdir())

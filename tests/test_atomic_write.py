"""knowledge/atomic_write.py: a file is the old one or the whole new one, never half."""

from __future__ import annotations

import pytest

from knowledge.atomic_write import write_atomically


def test_text_and_bytes_are_written_whole_and_replace_the_old_file(tmp_path):
    path = tmp_path / "settings.toml"
    write_atomically(path, "rate = 150\r\nvoix = \"é\"\n")
    assert path.read_bytes() == "rate = 150\r\nvoix = \"é\"\n".encode()  # UTF-8, line ends kept
    write_atomically(path, b"\x80\x04binary")
    assert path.read_bytes() == b"\x80\x04binary"
    assert [p.name for p in tmp_path.iterdir()] == ["settings.toml"]


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing_behind(tmp_path):
    taken = tmp_path / "report.html"
    taken.mkdir()  # a folder where the file should go: the rename fails, even for root
    (taken / "inside").write_text("old", encoding="utf-8")
    with pytest.raises(OSError):
        write_atomically(taken, "new")
    assert (taken / "inside").read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_a_missing_folder_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_atomically(tmp_path / "nowhere" / "diary.csv", "id\n")

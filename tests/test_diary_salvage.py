"""A damaged diary gives back every episode that can still be read: real 300-episode diaries,
damaged on purpose page by page, opened through the real `numb-legs` CLI."""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from knowledge.diary.salvage import LAYOUT
from knowledge.diary.store import MIGRATIONS, DiaryStore, Episode

START = datetime(2026, 3, 2, 7, 30)
CLOCK = datetime(2026, 11, 24, 20, 15)
COUNT = 300
OLD_ROWS = 20  # written under schema 1, before created_at existed: 8-value records
TABLE_LEAF, INDEX_LEAF, INTERIORS = 13, 10, (2, 5)

Rows = dict[int, tuple]


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voice", "--no-speech", *args], input=stdin,
                          capture_output=True, text=True, timeout=120, env=os.environ.copy())


def _episode(number: int) -> Episode:
    """Every field varies: missing duration, leg and activity, signs, long and accented notes,
    warning signs."""
    return Episode(
        started_at=START + timedelta(hours=17 * number, minutes=number % 60),
        duration_s=None if number % 7 == 0 else 30 * (number % 90 + 1),
        legs=(None, "left", "right", "both")[number % 4],
        activity=(None, "sitting", "lying", "walking", "other")[number % 5],
        other_signs=("tingling", "back pain")[:number % 3],
        note=f"épisode {number}: " + "numb after the long drive, " * (number % 9),
        red_flags=number % 11 == 0)


def read_rows(path: Path) -> Rows:
    conn = sqlite3.connect(path)
    try:
        return {row[0]: row for row in conn.execute(
            f"SELECT {', '.join(LAYOUT)} FROM episodes ORDER BY id")}
    finally:
        conn.close()


def build(folder: Path) -> Rows:
    """A 300-episode diary as people have them: begun under schema 1 and migrated, the rest
    saved one by one and in batches; closed (the WAL checkpointed into the file)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "diary.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0])
    for number in range(OLD_ROWS):
        e = _episode(number)
        conn.execute("INSERT INTO episodes (started_at, duration_s, legs, activity, other_signs, "
                     "note, red_flags) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (int(e.started_at.timestamp()), e.duration_s, e.legs, e.activity,
                      ",".join(e.other_signs), e.note, int(e.red_flags)))
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    store = DiaryStore(path, clock=lambda: CLOCK)
    for number in range(OLD_ROWS, 40):
        store.add(_episode(number))
    store.add_many([_episode(number) for number in range(40, COUNT)])
    store.close()
    rows = read_rows(path)
    assert len(rows) == COUNT
    return rows


def pages(path: Path) -> tuple[int, dict[str, list[int]]]:
    """(page size, the leaf pages of each b-tree by name), walked from sqlite_master's root
    pages, so the test knows which page holds what without the code under test."""
    conn = sqlite3.connect(path)
    roots = dict(conn.execute("SELECT name, rootpage FROM sqlite_master WHERE rootpage > 0"))
    conn.close()
    data = path.read_bytes()
    size = int.from_bytes(data[16:18], "big")
    leaves: dict[str, list[int]] = {}
    for name, root in roots.items():
        found, todo = [], [root]
        while todo:
            number = todo.pop(0)
            page = data[(number - 1) * size:number * size]
            kind = page[0]
            if kind in INTERIORS:
                count = int.from_bytes(page[3:5], "big")
                pointers = [int.from_bytes(page[12 + 2 * i:14 + 2 * i], "big")
                            for i in range(count)]
                todo += [int.from_bytes(page[p:p + 4], "big") for p in pointers]
                todo.append(int.from_bytes(page[8:12], "big"))
            else:
                found.append(number)
        leaves[name] = found
    return size, leaves


def damage(path: Path, page: int, size: int, data: bytes | None = None, at: int = 0,
           byte: int | None = None) -> None:
    """Overwrite PAGE whole with DATA, or one byte at AT with BYTE."""
    with open(path, "r+b") as handle:
        if data is not None:
            handle.seek((page - 1) * size)
            handle.write(data)
        else:
            assert byte is not None
            handle.seek((page - 1) * size + at)
            handle.write(bytes([byte]))


def sqlite_sees_damage(path: Path) -> bool:
    """SQLite's own verdict on the damaged file (on a copy, so nothing is changed)."""
    copy = path.with_name("verdict.db")
    copy.write_bytes(path.read_bytes())
    try:
        conn = sqlite3.connect(copy)
        try:
            return conn.execute("PRAGMA quick_check").fetchone()[0] != "ok"
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return True
    finally:
        copy.unlink()


@pytest.fixture()
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    monkeypatch.setenv("NUMB_LEGS_DATA_DIR", str(folder))
    return folder


def listed(data_dir: Path) -> tuple[str, Rows]:
    """`numb-legs diary list` on the damaged diary: (its output, the rows of the new diary)."""
    result = cli("diary", "list")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    aside = list(data_dir.glob("diary.db.corrupt-*"))
    assert len(aside) == 1  # the damaged file is kept beside the new one
    return result.stdout, read_rows(data_dir / "diary.db")


def test_a_damaged_index_page_loses_no_episode(data_dir):
    expected = build(data_dir)
    path = data_dir / "diary.db"
    size, leaves = pages(path)
    damage(path, leaves["episodes_by_start"][0], size, at=0, byte=0)  # not a page type
    assert sqlite_sees_damage(path)
    out, rows = listed(data_dir)
    assert "Your diary file was damaged. I moved it to" in out
    assert "recovered 300 episodes from it into a new diary" in out
    assert out.splitlines()[-1] == "300 episodes."
    assert rows == expected
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_scribbled_data_page_loses_only_its_own_episodes(data_dir):
    expected = build(data_dir)
    path = data_dir / "diary.db"
    size, leaves = pages(path)
    table = leaves["episodes"]
    assert len(table) > 10
    victim = table[len(table) // 2]
    on_victim = int.from_bytes(path.read_bytes()[(victim - 1) * size + 3:
                                                 (victim - 1) * size + 5], "big")
    damage(path, victim, size, data=random.Random(7).randbytes(size))
    assert sqlite_sees_damage(path)
    out, rows = listed(data_dir)
    assert len(rows) == COUNT - on_victim >= 0.8 * COUNT
    assert f"recovered {len(rows)} episodes" in out
    assert all(expected[ident] == row for ident, row in rows.items())  # every field kept


def test_one_damaged_byte_in_a_data_page_loses_nothing(data_dir):
    """The page header says it is no b-tree page any more; its cells are still whole."""
    expected = build(data_dir)
    path = data_dir / "diary.db"
    size, leaves = pages(path)
    damage(path, leaves["episodes"][3], size, at=0, byte=0x42)
    assert sqlite_sees_damage(path)
    _out, rows = listed(data_dir)
    assert rows == expected


def test_a_scribbled_header_and_schema_page_still_gives_back_the_episodes(data_dir):
    """Page 1 holds the file header (page size, encoding...) and the schema: without it SQLite
    cannot read anything, and the pages are searched by hand."""
    expected = build(data_dir)
    path = data_dir / "diary.db"
    size, _leaves = pages(path)
    damage(path, 1, size, data=random.Random(11).randbytes(size))
    assert sqlite_sees_damage(path)
    out, rows = listed(data_dir)
    assert "recovered 300 episodes" in out
    assert rows == expected


def test_schema_text_that_is_not_utf8_is_damage_like_any_other(data_dir):
    """Found by the seeded fault benchmark: bytes that are not UTF-8 inside the CREATE TABLE
    text make SQLite's error quote them, and Python's sqlite3 then raises UnicodeDecodeError,
    not a database error; it ended in "unexpected problem" with nothing recovered."""
    expected = build(data_dir)
    path = data_dir / "diary.db"
    data = bytearray(path.read_bytes())
    # On the schema page, the activity CHECK's last value: "r'" of 'other' becomes bytes that
    # are not UTF-8, so the quote is left open and SQLite's error quotes the bytes after it.
    at = data.index(b"'other'") + 5
    data[at:at + 2] = b"\xdf\xcf"
    path.write_bytes(bytes(data))
    out, rows = listed(data_dir)
    assert "recovered 300 episodes" in out
    assert rows == expected


def test_the_recovery_is_said_in_the_conversation(data_dir):
    build(data_dir)
    path = data_dir / "diary.db"
    size, leaves = pages(path)
    damage(path, leaves["episodes_by_start"][-1], size, at=3, byte=0xFF)  # a cell count
    assert sqlite_sees_damage(path)
    result = cli("chat", stdin="how many episodes this year\n")
    assert result.returncode == 0, result.stderr
    assert "Your diary file was damaged. I moved it to " in result.stdout
    assert "recovered 300 episodes from it into a new diary." in result.stdout
    assert len(read_rows(path)) == COUNT


def test_deleted_episodes_do_not_come_back(data_dir):
    """Deleting zeroes the episode (secure_delete): a salvage searching every byte of the
    file must not bring it back."""
    expected = build(data_dir)
    store = DiaryStore(data_dir / "diary.db")
    # A run of them frees whole pages (SQLite keeps them, old rows and all, on its freelist;
    # with page 1 gone, nothing says they are free), and the odd ones leave holes in pages.
    gone = [ident for ident in expected if 100 <= ident < 200 or ident % 3 == 0]
    for ident in gone:
        store.delete(ident)
    store.close()
    path = data_dir / "diary.db"
    size, _leaves = pages(path)
    damage(path, 1, size, data=bytes(size))
    _out, rows = listed(data_dir)
    assert rows == {ident: row for ident, row in expected.items() if ident not in gone}


def test_the_salvage_layout_is_the_schema():
    """salvage.LAYOUT must follow the migrations: a record's values are in table order."""
    conn = sqlite3.connect(":memory:")
    for migration in MIGRATIONS:
        conn.executescript(migration)
    assert tuple(row[1] for row in conn.execute("PRAGMA table_info(episodes)")) == LAYOUT


def test_damaged_values_are_kept_and_read_as_not_said(data_dir, tmp_path):
    """A flipped bit inside a value leaves the file sound: SQLite's quick check only reports the
    value breaking the schema's check. The file is kept, the value read as "not said", and a
    note with an undecodable byte is still read (it used to make the whole diary unreadable)."""
    store = DiaryStore(data_dir / "diary.db", clock=lambda: CLOCK)
    store.add(Episode(START, 600, "right", "sitting", note="first"))
    store.add(Episode(START + timedelta(days=1), 600, "left", "lying", note="second café"))
    store.close()
    path = data_dir / "diary.db"
    data = bytearray(path.read_bytes())
    data[data.rindex(b"left")] ^= 0x40  # "left" -> ",eft" (in the row: the schema says it first)
    data[data.index("café".encode()) + 3] = 0xFF  # the first byte of "é"
    path.write_bytes(bytes(data))
    listed = cli("diary", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[2].startswith("2. Tue 3 Mar 2026 at 07:30, ten minutes, leg not said, lying")
    assert lines[-1] == "2 episodes."
    exported = cli("diary", "export", "--csv", str(tmp_path / "out.csv"))
    assert exported.returncode == 0, exported.stderr
    assert "second caf\ufffd" in (tmp_path / "out.csv").read_text(encoding="utf-8")
    assert not list(data_dir.glob("diary.db.corrupt-*"))  # nothing moved aside
    assert b",eft" in path.read_bytes()  # the damaged value is still there, as it was


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """(value, offset after it) of the SQLite varint at AT."""
    value = 0
    for index in range(9):
        byte = data[at + index]
        if index == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + index + 1
    raise AssertionError("unreachable")


def cells(path: Path, page: int, size: int) -> dict[int, int]:
    """{rowid: file offset of its cell} for the table leaf PAGE."""
    data = path.read_bytes()
    base = (page - 1) * size
    header = base + (100 if page == 1 else 0)
    assert data[header] == TABLE_LEAF
    found = {}
    for index in range(int.from_bytes(data[header + 3:header + 5], "big")):
        pointer = int.from_bytes(data[header + 8 + 2 * index:header + 10 + 2 * index], "big")
        _length, after = _varint(data, base + pointer)
        rowid, _ = _varint(data, after)
        found[rowid] = base + pointer
    return found


def test_a_row_with_one_unreadable_field_keeps_the_others(data_dir):
    """A record whose last column points past its end cannot be read whole; every other
    column of it can (seeded fault 10005 lost the episode)."""
    expected = build(data_dir)
    path = data_dir / "diary.db"
    size, leaves = pages(path)
    page = leaves["episodes"][2]
    offsets = cells(path, page, size)
    victim = max(offsets)
    assert victim > OLD_ROWS  # a record with all nine columns
    data = bytearray(path.read_bytes())
    _length, after = _varint(data, offsets[victim])
    _rowid, record = _varint(data, after)
    header_size, types = _varint(data, record)
    assert header_size < 20
    last_type = record + header_size - 1  # created_at's serial type, one byte
    assert data[last_type] in (1, 2, 3, 4, 5, 6)  # an integer
    data[last_type] = 0x7F  # text of 57 bytes, past the record's end
    path.write_bytes(bytes(data))
    assert sqlite_sees_damage(path)
    out, rows = listed(data_dir)
    assert f"recovered {COUNT} episodes" in out
    created_at = LAYOUT.index("created_at")
    assert rows[victim][:created_at] == expected[victim][:created_at]
    assert all(rows[ident] == row for ident, row in expected.items() if ident != victim)


def test_two_rows_under_one_id_are_both_kept(data_dir):
    """A damaged id that another row already has: the second row is not taken for a copy
    of the first; it comes back under a new number."""
    expected = build(data_dir)
    path = data_dir / "diary.db"
    size, leaves = pages(path)
    page = leaves["episodes"][1]
    offsets = cells(path, page, size)
    first, second = sorted(offsets)[2:4]
    assert second == first + 1 < 128  # one-byte varints
    data = bytearray(path.read_bytes())
    _length, after = _varint(data, offsets[second])
    assert data[after] == second
    data[after] = first
    path.write_bytes(bytes(data))
    assert sqlite_sees_damage(path)
    out, rows = listed(data_dir)
    assert f"recovered {COUNT} episodes" in out
    contents = sorted(row[1:] for row in rows.values())
    assert contents == sorted(row[1:] for row in expected.values())
    assert rows[first] == expected[first]
    assert second not in rows and max(rows) == COUNT + 1

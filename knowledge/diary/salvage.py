"""Getting the episodes back out of a damaged diary file.

Two passes, as SQLite's own ``.recover`` does (its command-line tool is not on every machine):
first SQLite reads the episodes table straight through, ignoring its index and a damaged schema
text (``writable_schema``), so a damaged index loses nothing; if that stops part-way (a damaged
table page) or cannot start (a damaged header or schema page), every page of the file is
searched by hand for the table's records (``sqlite_file.PageScanner``). Rows are kept as they
were written, field for field, even a value damage took outside the schema's checks (the store
reads such a value as "not said"); only records found by trying every offset of a broken page
must fit the schema exactly, since chance bytes can look like a record. A row SQLite cannot read
whole is read field by field, and a row whose damaged id another row holds comes back under a
new number rather than being taken for a copy.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .sqlite_file import PageScanner, Value

_LOGGER = logging.getLogger(__name__)

# The episodes table's columns in the order the store's migrations create them (a record holds
# its values in this order; rows written before a column was added hold fewer). A migration
# that adds a column adds it here too; tests/test_diary_salvage.py checks the two agree.
LAYOUT: tuple[str, ...] = ("id", "started_at", "duration_s", "legs", "activity", "other_signs",
                           "note", "red_flags", "created_at")
_OLDEST_RECORD = 8  # schema 1 had every column but created_at
# What the schema gives a column that holds nothing (NOT NULL columns only).
_ID_GAP = 1000
_DEFAULTS: dict[str, Value] = {"other_signs": "", "note": "", "red_flags": 0, "created_at": 0}
LEGS = frozenset({"left", "right", "both"})
ACTIVITIES = frozenset({"sitting", "lying", "walking", "other"})
_LATEST_START = 1 << 34  # Unix seconds past the year 2500: not a time anyone recorded

Row = dict[str, Value]


@dataclass(frozen=True)
class Salvaged:
    """The rows got back, by id, and how: "sqlite" when SQLite read the whole table."""

    rows: dict[int, Row]
    method: str


def lenient_text(raw: bytes) -> str:
    """Text as SQLite hands it over, a damaged byte shown as U+FFFD instead of failing the
    whole read (Python's sqlite3 raises on one undecodable byte)."""
    return raw.decode("utf-8", "replace")


def _whole(value: Value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def plausible(row: Mapping[str, Value]) -> bool:
    """True when ROW has the episodes table's shape: the types each column holds."""
    started = row.get("started_at")
    return (_whole(row.get("id")) and int(row["id"] or 0) > 0
            and _whole(started) and 0 < int(started or 0) < _LATEST_START
            and (row.get("duration_s") is None or _whole(row.get("duration_s")))
            and all(row.get(name) is None or isinstance(row.get(name), str)
                    for name in ("legs", "activity"))
            and all(isinstance(row.get(name), str) for name in ("other_signs", "note"))
            and _whole(row.get("red_flags")) and _whole(row.get("created_at")))


def valid(row: Mapping[str, Value]) -> bool:
    """True when ROW could have been written by the store: its types and its checks."""
    duration = row.get("duration_s")
    return (plausible(row) and (duration is None or int(duration) >= 0)
            and (row.get("legs") is None or row.get("legs") in LEGS)
            and (row.get("activity") is None or row.get("activity") in ACTIVITIES)
            and row.get("red_flags") in (0, 1))


def _filled(row: Row) -> Row:
    return {**row, **{name: value for name, value in _DEFAULTS.items()
                      if row.get(name) is None}}


def _content(row: Mapping[str, Value]) -> tuple[Value, ...]:
    """What a row says, without its id (which damage may have changed)."""
    return tuple(row.get(name) for name in LAYOUT[1:])


def _keep(rows: dict[int, Row], collided: list[Row], row: Row) -> None:
    """Keep ROW under its id; a different row already there is not dropped but set aside
    (damage to a record's id can give it the id of another: the seeded fault benchmark lost
    such episodes when the second one was taken for a copy of the first)."""
    ident = int(row["id"] or 0)
    if ident not in rows:
        rows[ident] = row
    elif _content(rows[ident]) != _content(row):
        collided.append(row)


def _from_sqlite(image: bytes, collided: list[Row]) -> tuple[dict[int, Row], bool]:
    """(rows SQLite could read, True when it read the whole table without an error); rows
    whose id another row already holds go to COLLIDED."""
    rows: dict[int, Row] = {}
    conn = sqlite3.connect(":memory:")
    conn.text_factory = lenient_text
    try:
        conn.deserialize(image)
        # A damaged CREATE TABLE text (a misspelt column in a CHECK) stops SQLite from using
        # the table at all; this lets it read the rows anyway. Nothing is written here.
        conn.execute("PRAGMA writable_schema = ON")
        width = len(conn.execute("PRAGMA table_info(episodes)").fetchall())
        if not _OLDEST_RECORD <= width <= len(LAYOUT):
            return rows, False
        # By position, not by name: the names are in the schema text, which may be damaged.
        # NOT INDEXED: the table's own b-tree, so a damaged index cannot stop the read.
        for values in conn.execute("SELECT * FROM episodes NOT INDEXED ORDER BY rowid"):
            row = _filled(dict(zip(LAYOUT, values, strict=False)))
            if _whole(row["id"]) and int(row["id"] or 0) > 0 and row["started_at"] is not None:
                _keep(rows, collided, row)
        return rows, True
    # UnicodeDecodeError: SQLite's message quoted damaged schema text that is not UTF-8.
    except (sqlite3.DatabaseError, UnicodeDecodeError) as err:
        _LOGGER.info("SQLite read %d episodes before: %s", len(rows), err)
        _by_rowid(conn, rows)
        return rows, False
    finally:
        conn.close()


def _by_rowid(conn: sqlite3.Connection, rows: dict[int, Row]) -> None:
    """After a scan stopped at damage, every other row looked up by its id: a lookup walks the
    table's tree from its root, so it reaches rows on the pages after a damaged one, and a row
    SQLite reads whole is better than one decoded by hand (the seeded fault benchmark lost
    episodes whose bytes SQLite still read). Ids are counted up until _ID_GAP in a row are
    missing: deleted episodes leave gaps, never that many."""
    ident, missing = 1, 0
    while missing < _ID_GAP:
        try:
            values = conn.execute("SELECT * FROM episodes NOT INDEXED WHERE rowid = ?",
                                  (ident,)).fetchone()
        except (sqlite3.DatabaseError, UnicodeDecodeError):
            values = _field_by_field(conn, ident)
        row = _filled(dict(zip(LAYOUT, values or (), strict=False)))
        if values and _whole(row["id"]) and int(row["id"] or 0) > 0 \
                and row["started_at"] is not None:
            rows.setdefault(int(row["id"] or 0), row)
            missing = 0
        else:
            missing += 1
        ident += 1


def _field_by_field(conn: sqlite3.Connection, ident: int) -> tuple[Value, ...] | None:
    """Row IDENT read one column at a time, a column SQLite cannot read left empty (the
    schema's default fills it): one damaged field, such as when the row was made, must not cost
    the whole episode (seeded fault 10005). None when its id or start cannot be read."""
    try:
        # The names SQLite itself parsed from the schema, misspelt or not: they select the
        # columns in the layout's order.
        names = [str(info[1]) for info in conn.execute("PRAGMA table_info(episodes)")]
    except (sqlite3.DatabaseError, UnicodeDecodeError):
        return None
    values: list[Value] = []
    for name in names[:len(LAYOUT)]:
        quoted = '"' + name.replace('"', '""') + '"'
        try:
            found = conn.execute(f"SELECT {quoted} FROM episodes NOT INDEXED WHERE rowid = ?",
                                 (ident,)).fetchone()
        except (sqlite3.DatabaseError, UnicodeDecodeError):
            found = None
        values.append(found[0] if found else None)
    return tuple(values) if len(values) > 1 and values[0] is not None and \
        values[1] is not None else None


def _from_pages(image: bytes, collided: list[Row]) -> dict[int, Row]:
    rows: dict[int, Row] = {}
    for cell in PageScanner(image).cells():
        if not _OLDEST_RECORD <= len(cell.values) <= len(LAYOUT) or cell.values[0] is not None:
            continue  # the record holds NULL for the rowid's alias, id
        row = _filled(dict(zip(LAYOUT, cell.values, strict=False)))
        row["id"] = cell.rowid
        if cell.searched:
            # Found by trying every offset of a broken page: chance bytes, or an old copy of a
            # row in the page's free space, must not become a second episode.
            if valid(row) and cell.rowid not in rows:
                rows[cell.rowid] = row
        elif plausible(row):
            _keep(rows, collided, row)
    return rows


def salvage(image: bytes) -> Salvaged:
    """Every episode that can be read from IMAGE (a whole database file, WAL applied)."""
    collided: list[Row] = []
    rows, whole = _from_sqlite(image, collided)
    found = _from_pages(image, collided)
    # Even when SQLite read "the whole table" the pages are searched: damage to the schema's
    # root page number makes SQLite read the wrong tree without an error (the seeded fault
    # benchmark found 40 episodes the scan saw and SQLite did not).
    method = "sqlite" if whole and found.keys() <= rows.keys() else "pages"
    if method == "sqlite" and not collided:
        return Salvaged(rows, method)
    _LOGGER.info("SQLite read %d episodes, the page scan %d, %d more under an id already "
                 "taken", len(rows), len(found), len(collided))
    # SQLite's reading wins where both found a row; the scan adds what SQLite could not reach.
    return Salvaged(_renumbered({**found, **rows}, collided), method)


def _renumbered(rows: dict[int, Row], collided: list[Row]) -> dict[int, Row]:
    """ROWS with each collided row that is not already among them added under a new id, after
    the last (its own id was damaged; the others keep theirs)."""
    kept = {_content(row) for row in rows.values()}
    for row in collided:
        if _content(row) not in kept:
            kept.add(_content(row))
            ident = max(rows, default=0) + 1
            rows[ident] = {**row, "id": ident}
    return rows


def insert(conn: sqlite3.Connection, rows: Iterable[Row]) -> int:
    """Write ROWS (keeping their ids, and values damage took outside the schema's checks) into
    the open diary CONN; how many were written. The caller holds the transaction."""
    count = 0
    conn.execute("PRAGMA ignore_check_constraints = ON")
    try:
        for row in rows:
            count += conn.execute(f"INSERT OR IGNORE INTO episodes ({', '.join(LAYOUT)}) "
                                  f"VALUES ({', '.join('?' * len(LAYOUT))})",
                                  tuple(row.get(name) for name in LAYOUT)).rowcount
    finally:
        conn.execute("PRAGMA ignore_check_constraints = OFF")
    return count

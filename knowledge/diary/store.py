"""The numbness diary on disk: one SQLite file in the user data folder.

WAL mode with ``synchronous=FULL``: a committed episode survives the process being killed (and a
power cut), readers never block the writer, and two writers (the assistant and the CLI) wait
for each other through ``busy_timeout`` instead of failing. The schema is versioned with
``PRAGMA user_version`` and only ever migrated forwards. A damaged file is moved aside with a
timestamp (nothing the person recorded is deleted) and a fresh diary started; ``notice`` says so.
Failures to write (full disk, read-only folder) raise :class:`DiaryWriteError` with a reason a
person can act on; the caller keeps the episode.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from knowledge.errors import NumbLegsError
from knowledge.user_dirs import user_dir

_LOGGER = logging.getLogger(__name__)

FILE_NAME = "diary.db"
BUSY_TIMEOUT_MS = 10_000
T = TypeVar("T")

# Forward migrations: entry N takes the schema from version N to N + 1. Never edit a shipped
# entry; add a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE episodes (
        id INTEGER PRIMARY KEY,
        started_at INTEGER NOT NULL,          -- Unix seconds
        duration_s INTEGER CHECK (duration_s IS NULL OR duration_s >= 0),
        legs TEXT CHECK (legs IS NULL OR legs IN ('left', 'right', 'both')),
        activity TEXT CHECK (activity IS NULL OR activity IN ('sitting', 'lying', 'walking', 'other')),
        other_signs TEXT NOT NULL DEFAULT '', -- comma-separated names
        note TEXT NOT NULL DEFAULT '',
        red_flags INTEGER NOT NULL DEFAULT 0 CHECK (red_flags IN (0, 1))
    );
    """,
    """
    ALTER TABLE episodes ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX episodes_by_start ON episodes (started_at);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
_COLUMNS = "id, started_at, duration_s, legs, activity, other_signs, note, red_flags"
# SQLite result codes (the low byte of extended codes) we turn into messages.
_CORRUPT = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_REASONS = {
    3: "permission was refused", 5: "another program kept the diary busy",
    6: "another program kept the diary busy", 8: "the folder or file is read-only",
    10: "the disk could not be written", 13: "the disk is full",
    14: "the diary file could not be opened or created",
}


class DiaryError(NumbLegsError):
    """The diary could not be used; ``reason`` is short enough to be spoken."""

    def __init__(self, message: str, reason: str = "", path: Path | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message
        self.path = path


class DiaryWriteError(DiaryError):
    """An episode (or a deletion) could not be saved; nothing was changed."""


class DiaryVersionError(DiaryError):
    """The diary was written by a newer numb-legs; it is left untouched."""


class NoSuchEpisode(DiaryError):
    """No episode has that number."""


@dataclass(frozen=True)
class Episode:
    """One episode of numbness, as recorded."""

    started_at: datetime
    duration_s: int | None
    legs: str | None
    activity: str | None
    other_signs: tuple[str, ...] = ()
    note: str = ""
    red_flags: bool = False
    id: int | None = None


def data_dir(env: Mapping[str, str] = os.environ) -> Path:
    """$NUMB_LEGS_DATA_DIR, else the user data folder (~/.local/share/numb-legs)."""
    return user_dir("data", "NUMB_LEGS_DATA_DIR", env)


def default_path(env: Mapping[str, str] = os.environ) -> Path:
    return data_dir(env) / FILE_NAME


def _code(err: sqlite3.Error) -> int:
    return (getattr(err, "sqlite_errorcode", 0) or 0) & 0xFF


def _is_corrupt(err: sqlite3.Error) -> bool:
    if _code(err) in _CORRUPT:
        return True
    text = str(err).lower()
    return "not a database" in text or "malformed" in text


def _row(row: tuple) -> Episode:
    ident, started, duration, legs, activity, signs, note, flags = row
    return Episode(started_at=datetime.fromtimestamp(started), duration_s=duration, legs=legs,
                   activity=activity, other_signs=tuple(s for s in signs.split(",") if s),
                   note=note, red_flags=bool(flags), id=ident)


class DiaryStore:
    """The diary file. Opened on first use; safe to share between threads of one process."""

    def __init__(self, path: Path | None = None, *,
                 clock: Callable[[], datetime] = datetime.now) -> None:
        self.path = path if path is not None else default_path()
        self.clock = clock
        self.notices: list[str] = []  # things the person must be told (a damaged file moved aside)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()

    # -- public ---------------------------------------------------------------------------------

    def pop_notices(self) -> list[str]:
        """What the person should be told since last asked, once."""
        notices, self.notices = self.notices, []
        return notices

    def add(self, episode: Episode) -> int:
        """Save EPISODE; its new id once committed. Raises DiaryWriteError, never loses silently."""
        def insert(conn: sqlite3.Connection) -> int:
            with self._transaction(conn):
                cursor = conn.execute(
                    "INSERT INTO episodes (started_at, duration_s, legs, activity, other_signs, "
                    "note, red_flags, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (int(episode.started_at.timestamp()), episode.duration_s, episode.legs,
                     episode.activity, ",".join(episode.other_signs), episode.note,
                     int(episode.red_flags), int(self.clock().timestamp())))
            return int(cursor.lastrowid or 0)
        return self._use(insert, writing=True)

    def add_many(self, episodes: list[Episode]) -> None:
        """Save many episodes in one transaction (imports, benchmarks)."""
        created = int(self.clock().timestamp())

        def insert(conn: sqlite3.Connection) -> None:
            with self._transaction(conn):
                conn.executemany(
                    "INSERT INTO episodes (started_at, duration_s, legs, activity, other_signs, "
                    "note, red_flags, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(int(e.started_at.timestamp()), e.duration_s, e.legs, e.activity,
                      ",".join(e.other_signs), e.note, int(e.red_flags), created)
                     for e in episodes])
        self._use(insert, writing=True)

    def episodes(self, start: datetime | None = None, end: datetime | None = None) -> list[Episode]:
        """Episodes that started in [START, END), oldest first."""
        low = int(start.timestamp()) if start else -(2 ** 62)
        high = int(end.timestamp()) if end else 2 ** 62
        return self._use(lambda conn: [_row(row) for row in conn.execute(
            f"SELECT {_COLUMNS} FROM episodes WHERE started_at >= ? AND started_at < ? "
            "ORDER BY started_at, id", (low, high))])

    def brief(self, start_s: int, end_s: int) -> list[tuple[int, int | None, str | None, int]]:
        """(started_at, duration_s, legs, red_flags) with START_S <= started_at < END_S (Unix
        seconds), oldest first: the few columns a spoken summary needs, without objects."""
        return self._use(lambda conn: conn.execute(
            "SELECT started_at, duration_s, legs, red_flags FROM episodes "
            "WHERE started_at >= ? AND started_at < ? ORDER BY started_at",
            (start_s, end_s)).fetchall())

    def last_before(self, end_s: int) -> datetime | None:
        """When the latest episode before END_S (Unix seconds) started, or None."""
        value = self._use(lambda conn: conn.execute(
            "SELECT max(started_at) FROM episodes WHERE started_at < ?", (end_s,)).fetchone()[0])
        return datetime.fromtimestamp(value) if value is not None else None

    def count(self, start: datetime | None = None) -> int:
        low = int(start.timestamp()) if start else -(2 ** 62)
        return self._use(lambda conn: conn.execute(
            "SELECT count(*) FROM episodes WHERE started_at >= ?", (low,)).fetchone()[0])

    def get(self, ident: int) -> Episode:
        row = self._use(lambda conn: conn.execute(
            f"SELECT {_COLUMNS} FROM episodes WHERE id = ?", (ident,)).fetchone())
        if row is None:
            raise NoSuchEpisode(f"There is no episode number {ident} in the diary.")
        return _row(row)

    def delete(self, ident: int) -> Episode:
        """Remove one episode; the removed episode. Raises NoSuchEpisode."""
        episode = self.get(ident)

        def remove(conn: sqlite3.Connection) -> None:
            with self._transaction(conn):
                conn.execute("DELETE FROM episodes WHERE id = ?", (ident,))
        self._use(remove, writing=True)
        return episode

    def forget_all(self) -> int:
        """Remove every episode; how many there were."""
        def remove(conn: sqlite3.Connection) -> int:
            with self._transaction(conn):
                return conn.execute("DELETE FROM episodes").rowcount
        return self._use(remove, writing=True)

    def integrity(self) -> str:
        """SQLite's own full check: "ok" when the file is sound."""
        return self._use(lambda conn: conn.execute("PRAGMA integrity_check").fetchone()[0])

    def schema_version(self) -> int:
        return self._use(lambda conn: conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- opening, migrating, recovering ----------------------------------------------------------

    def _use(self, action: Callable[[sqlite3.Connection], T], writing: bool = False) -> T:
        """Run ACTION on an open diary, turning SQLite failures into DiaryErrors. A damaged file
        found on the way is moved aside and ACTION runs once more on a fresh diary."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    return action(self._open())
                except sqlite3.DatabaseError as err:
                    if _is_corrupt(err) and attempt == 1:
                        self._recover(err)
                        continue
                    raise self._error(err, writing) from err
            raise AssertionError("unreachable")  # pragma: no cover

    def _error(self, err: sqlite3.Error, writing: bool) -> DiaryError:
        _LOGGER.debug("Diary failure on %s", self.path, exc_info=True)
        reason = _REASONS.get(_code(err), str(err))
        if writing:
            return DiaryWriteError(f"Could not save to the diary {self.path}: {reason}.", reason,
                                   self.path)
        return DiaryError(f"Could not read the diary {self.path}: {reason}.", reason, self.path)

    def _open(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            # The spoken reason stays short; the printed message names the folder.
            raise DiaryWriteError(f"Could not open the diary {self.path}: the folder "
                                  f"{self.path.parent} cannot be created ({err.strerror or err}).",
                                  "the diary's folder can't be created", self.path) from err
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            # Before anything writes (switching to WAL rewrites the header): a newer diary is
            # left exactly as it is.
            self._check_version(conn.execute("PRAGMA user_version").fetchone()[0])
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            # FULL: a commit is on disk before add() returns, not merely in the OS cache.
            conn.execute("PRAGMA synchronous = FULL")
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"database disk image is malformed: {check}")
            self._migrate(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        self._check_version(version)
        with self._transaction(conn):
            # Read again under the write lock: another process may have migrated meanwhile.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for number in range(version, SCHEMA_VERSION):
                _LOGGER.debug("Migrating the diary from schema %d", number)
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number + 1}")

    def _check_version(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise DiaryVersionError(
                f"The diary {self.path} was written by a newer numb-legs (schema {version}, this "
                f"one knows {SCHEMA_VERSION}). Update numb-legs; the file was left as it is.",
                "it was written by a newer numb-legs", self.path)

    @contextmanager
    def _transaction(self, conn: sqlite3.Connection) -> Iterator[None]:
        # IMMEDIATE takes the write lock at once, so a busy diary waits (busy_timeout) up front
        # instead of failing half-way through.
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _recover(self, err: sqlite3.Error) -> None:
        """Move the damaged file (and its WAL) aside with a timestamp; the next open starts fresh."""
        _LOGGER.warning("The diary %s is damaged (%s); moving it aside", self.path, err)
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        stamp = self.clock().strftime("%Y%m%dT%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        number = 1
        while aside.exists():
            number += 1
            aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{number}")
        try:
            os.replace(self.path, aside)
            for suffix in ("-wal", "-shm"):
                extra = Path(f"{self.path}{suffix}")
                if extra.exists():
                    os.replace(extra, Path(f"{aside}{suffix}"))
        except OSError as move_err:
            reason = f"it is damaged and could not be moved aside ({move_err.strerror})"
            raise DiaryWriteError(f"The diary {self.path} is damaged and could not be moved "
                                  f"aside ({move_err.strerror}).", reason, self.path) from move_err
        self.notices.append(f"Your diary file was damaged. I moved it to {aside} and started a "
                            "new diary.")

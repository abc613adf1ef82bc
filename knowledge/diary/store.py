"""The numbness diary on disk: one SQLite file in the user data folder.

WAL mode with ``synchronous=FULL``: a committed episode survives the process being killed (and a
power cut), readers never block the writer, and two writers (the assistant and the CLI) wait
for each other through ``busy_timeout`` instead of failing. The schema is versioned with
``PRAGMA user_version`` and only ever migrated forwards. A damaged file is moved aside with a
timestamp (nothing the person recorded is deleted), every episode that can still be read is
salvaged into a fresh diary (``salvage.py``), and ``notices`` says how many. A diary that cannot
be written (read-only folder or file, full disk) can still be read: opened read-only, or read
into memory when SQLite cannot even do that. Failures to write raise :class:`DiaryWriteError`
with a reason a person can act on (naming a read-only folder); the caller keeps the episode.
Health data stays private: a folder it creates is 0700 and every diary file 0600, whatever the
umask.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from knowledge.errors import NumbLegsError
from knowledge.user_dirs import user_dir

from .salvage import ACTIVITIES, LEGS, lenient_text, salvage
from .salvage import insert as insert_salvaged
from .sqlite_file import snapshot

_LOGGER = logging.getLogger(__name__)

FILE_NAME = "diary.db"
BUSY_TIMEOUT_MS = 10_000
FILE_MODE = 0o600    # health data: the person's alone
FOLDER_MODE = 0o700
_SIDE_FILES = ("-wal", "-shm", "-journal")
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
# Failures that mean "cannot write here" (permission, read-only, I/O, full, cannot open): the
# diary may still be read.
_UNWRITABLE = {3, 8, 10, 13, 14}
# quick_check's findings about values rather than pages (a flipped bit in "left").
_VALUE_PROBLEMS = ("CHECK constraint failed", "NULL value in")
_READ_ONLY_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM}
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}


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

    @property
    def number(self) -> int | None:
        """The episode's number, as lists and reports show it and ``diary delete`` takes it:
        the row id SQLite gave it when it was saved (None before), which never changes, whatever
        is added or deleted around it."""
        return self.id


def data_dir(env: Mapping[str, str] = os.environ) -> Path:
    """$NUMB_LEGS_DATA_DIR, else the user data folder (~/.local/share/numb-legs)."""
    return user_dir("data", "NUMB_LEGS_DATA_DIR", env)


def default_path(env: Mapping[str, str] = os.environ) -> Path:
    return data_dir(env) / FILE_NAME


def _code(err: sqlite3.Error) -> int:
    return (getattr(err, "sqlite_errorcode", 0) or 0) & 0xFF


# What Python's sqlite3 raises instead of SQLite's error when that error quotes damaged schema
# text that is not UTF-8 (found by the seeded fault benchmark): it cannot build the message.
_UNREADABLE_MESSAGE = (sqlite3.DatabaseError, UnicodeDecodeError)


def _database_error(err: sqlite3.DatabaseError | UnicodeDecodeError) -> sqlite3.DatabaseError:
    """ERR as SQLite's error: a message that could not be decoded came from a damaged file."""
    if isinstance(err, UnicodeDecodeError):
        return sqlite3.DatabaseError("database disk image is malformed (SQLite's message about "
                                     "it quoted text that is not UTF-8)")
    return err


def _is_corrupt(err: sqlite3.Error) -> bool:
    if _code(err) in _CORRUPT:
        return True
    text = str(err).lower()
    return "not a database" in text or "malformed" in text


def _check(conn: sqlite3.Connection) -> None:
    """Raise the "malformed" error when SQLite's quick check finds the file damaged. Values
    outside the schema's checks are no damage to the file: they are read as "not said"."""
    problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
    if problems == ["ok"]:
        return
    if all(problem.startswith(_VALUE_PROBLEMS) for problem in problems):
        _LOGGER.warning("The diary holds values outside its schema: %s", problems[:3])
        return
    raise sqlite3.DatabaseError(f"database disk image is malformed: {problems[0]}")


def _connect(target: str | Path, uri: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(target, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                           check_same_thread=False, uri=uri)
    conn.text_factory = lenient_text  # one damaged byte in a note must not hide the diary
    return conn


def _unwritable(err: sqlite3.Error) -> bool:
    return _code(err) in _UNWRITABLE


def _side_files(path: Path) -> tuple[Path, ...]:
    return tuple(Path(f"{path}{suffix}") for suffix in _SIDE_FILES)


def _episodes(count: int) -> str:
    return f"{count} episode{'' if count == 1 else 's'}"


def make_private(path: Path) -> None:
    """Take away every permission others have on PATH, never adding any (a file the person
    made read-only stays read-only); quietly nothing when PATH is gone or cannot be changed."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(mode & 0o700)
    except FileNotFoundError:  # a side file (-wal, -shm, -journal) SQLite has not made
        return
    except OSError:
        _LOGGER.debug("Could not make %s private", path, exc_info=True)


# What a damaged value reads as. A value outside the schema's checks (a flipped bit in "left")
# is kept in the file, as written, and read as "not said"; a start that is no time at all
# leaves the episode out of lists (it stays in the file).

def _started(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(value)
    except (OverflowError, OSError, ValueError):
        return None


def _duration(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 \
        else None


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return lenient_text(value)
    return "" if value is None else str(value)


def _fields(legs: object, activity: object, flags: object) -> tuple[str | None, str | None, bool]:
    # Any warning-sign value but a plain 0 (or nothing) counts as warning signs: damage must
    # not take away a warning.
    return (legs if legs in LEGS else None, activity if activity in ACTIVITIES else None,
            flags not in (0, None))


def _row(row: tuple) -> Episode | None:
    ident, started, duration, legs, activity, signs, note, flags = row
    start = _started(started)
    if start is None:
        _LOGGER.warning("Episode %s has no usable start time (%r); left out", ident, started)
        return None
    legs, activity, red_flags = _fields(legs, activity, flags)
    return Episode(started_at=start, duration_s=_duration(duration), legs=legs,
                   activity=activity, other_signs=tuple(s for s in _text(signs).split(",") if s),
                   note=_text(note), red_flags=red_flags, id=ident)


class DiaryStore:
    """The diary file. Opened on first use; safe to share between threads of one process."""

    def __init__(self, path: Path | None = None, *,
                 clock: Callable[[], datetime] = datetime.now) -> None:
        self.path = path if path is not None else default_path()
        self.clock = clock
        self.notices: list[str] = []  # things the person must be told (a damaged file moved aside)
        self._conn: sqlite3.Connection | None = None
        # Used while the diary cannot be written: opened read-only, or a copy in memory.
        self._reader: sqlite3.Connection | None = None
        self._told: set[str] = set()  # said once per store, not at every reopening
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
        rows = self._use(lambda conn: conn.execute(
            f"SELECT {_COLUMNS} FROM episodes WHERE started_at >= ? AND started_at < ? "
            "ORDER BY started_at, id", (low, high)).fetchall())
        return [episode for episode in map(_row, rows) if episode is not None]

    def brief(self, start_s: int, end_s: int) -> list[tuple[int, int | None, str | None, int]]:
        """(started_at, duration_s, legs, red_flags) with START_S <= started_at < END_S (Unix
        seconds), oldest first: the few columns a spoken summary needs, without objects."""
        rows = self._use(lambda conn: conn.execute(
            "SELECT started_at, duration_s, legs, red_flags FROM episodes "
            "WHERE started_at >= ? AND started_at < ? ORDER BY started_at",
            (start_s, end_s)).fetchall())
        found = []
        for started, duration, legs, flags in rows:
            if _started(started) is not None:
                fit_legs, _activity, red_flags = _fields(legs, None, flags)
                found.append((int(started), _duration(duration), fit_legs, int(red_flags)))
        return found

    def last_before(self, end_s: int) -> datetime | None:
        """When the latest episode before END_S (Unix seconds) started, or None."""
        value = self._use(lambda conn: conn.execute(
            "SELECT max(started_at) FROM episodes WHERE started_at < ?", (end_s,)).fetchone()[0])
        return _started(value)

    def count(self, start: datetime | None = None) -> int:
        low = int(start.timestamp()) if start else -(2 ** 62)
        return self._use(lambda conn: conn.execute(
            "SELECT count(*) FROM episodes WHERE started_at >= ?", (low,)).fetchone()[0])

    def get(self, ident: int) -> Episode:
        row = self._use(lambda conn: conn.execute(
            f"SELECT {_COLUMNS} FROM episodes WHERE id = ?", (ident,)).fetchone())
        if row is None:
            raise NoSuchEpisode(f"There is no episode number {ident} in the diary.")
        episode = _row(row)
        if episode is None:  # damaged past reading its time: still there to be deleted
            episode = _row((ident, 0, *row[2:]))
        assert episode is not None  # 0 is always a time
        return episode

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
            for conn in (self._conn, self._reader):
                if conn is not None:
                    conn.close()
            self._conn = self._reader = None

    # -- opening, migrating, recovering ----------------------------------------------------------

    def _use(self, action: Callable[[sqlite3.Connection], T], writing: bool = False) -> T:
        """Run ACTION on an open diary, turning SQLite failures into DiaryErrors. A damaged file
        found on the way is salvaged into a fresh diary and ACTION runs once more on it; a
        diary that cannot be written is still read."""
        with self._lock:
            if not writing and self._conn is None and self._reader is not None:
                return self._read_only(action)
            for attempt in (1, 2):
                try:
                    return action(self._open())
                except _UNREADABLE_MESSAGE as caught:
                    err = _database_error(caught)
                    if _is_corrupt(err) and attempt == 1:
                        if self._recover(err, writing):
                            continue
                        return self._read_only(action, err)
                    if not writing and _unwritable(err) and self.path.exists():
                        _LOGGER.info("Cannot open %s for writing (%s); reading it only",
                                     self.path, err)
                        return self._read_only(action, err)
                    raise self._error(err, writing) from err
            raise AssertionError("unreachable")  # pragma: no cover

    def _read_only(self, action: Callable[[sqlite3.Connection], T],
                   err: sqlite3.Error | None = None) -> T:
        try:
            return action(self._open_reader(err))
        except _UNREADABLE_MESSAGE as caught:
            raise self._error(_database_error(caught), False) from caught

    def _error(self, err: sqlite3.Error, writing: bool) -> DiaryError:
        _LOGGER.debug("Diary failure on %s", self.path, exc_info=True)
        reason = _REASONS.get(_code(err), str(err))
        if writing:
            if _code(err) in _UNWRITABLE - {13}:
                reason = self._unwritable_reason() or reason
            return DiaryWriteError(f"Could not save to the diary {self.path}: {reason}.", reason,
                                   self.path)
        return DiaryError(f"Could not read the diary {self.path}: {reason}.", reason, self.path)

    def _unwritable_reason(self) -> str | None:
        """Why the diary cannot be written, found by trying (permissions alone do not say: root
        ignores them, a read-only mount overrides them); None when folder and file can be."""
        folder = self.path.parent
        try:
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as err:
            if err.errno in _READ_ONLY_ERRNOS:
                return f"the diary folder {folder} is read-only"
            if err.errno in _FULL_ERRNOS:
                return "the disk is full"
            return None
        # access(), never open(): closing any descriptor of a file drops every POSIX lock this
        # process holds on it, SQLite's included (https://sqlite.org/howtocorrupt.html, 2.2).
        # access() judges with the real user's rights, which is what SQLite gets too.
        for path in (self.path, *_side_files(self.path)):
            if path.exists() and not os.access(path, os.W_OK):
                return f"the diary file {path} is read-only"
        return None

    def _open(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        self._make_folder()
        self._make_file()
        conn = _connect(self.path)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            # Before anything writes (switching to WAL rewrites the header): a newer diary is
            # left exactly as it is.
            self._check_version(conn.execute("PRAGMA user_version").fetchone()[0])
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            # FULL: a commit is on disk before add() returns, not merely in the OS cache.
            conn.execute("PRAGMA synchronous = FULL")
            # A deleted episode is zeroed, not left in free space where a salvage (or anyone
            # reading the file's bytes) would find it again.
            conn.execute("PRAGMA secure_delete = ON")
            _check(conn)
            self._migrate(conn)
        except BaseException:
            conn.close()
            raise
        # Diaries made by older versions were made under the umask (often readable by all).
        for path in (self.path, *_side_files(self.path)):
            make_private(path)
        # SQLite opens a file it may not write read-only without a word (and reads it when
        # the WAL's files are there already): say so before a save fails.
        why = self._unwritable_reason()
        if why is not None:
            self._tell_read_only(why)
        if self._reader is not None:  # it can be written again: no more reading a copy
            self._reader.close()
            self._reader = None
        self._conn = conn
        return conn

    def _make_folder(self) -> None:
        """The diary's folder, created private. A folder that already exists is left as it is:
        it may be one the person chose and shares."""
        folder = self.path.parent
        if folder.is_dir():
            return
        try:
            try:
                folder.mkdir(parents=True, mode=FOLDER_MODE)
            except FileExistsError:
                if folder.is_dir():
                    return  # made meanwhile by another process
                raise
            folder.chmod(FOLDER_MODE)  # mkdir's mode passes through the umask
        except OSError as err:
            # The spoken reason stays short; the printed message names the folder.
            raise DiaryWriteError(f"Could not open the diary {self.path}: the folder "
                                  f"{folder} cannot be created ({err.strerror or err}).",
                                  "the diary's folder can't be created", self.path) from err

    def _make_file(self) -> None:
        """Create the diary file, empty and private, before SQLite does: SQLite would make it
        under the umask, and gives its -wal and -shm files the diary file's permissions."""
        try:
            handle = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except FileExistsError:
            return
        except OSError as err:
            reason = self._unwritable_reason() or "the diary file could not be created"
            raise DiaryWriteError(f"Could not create the diary {self.path}: {reason}.", reason,
                                  self.path) from err
        try:
            os.fchmod(handle, FILE_MODE)
        finally:
            os.close(handle)

    def _open_reader(self, err: sqlite3.Error | None) -> sqlite3.Connection:
        """The diary opened for reading only: by SQLite when it can (even to read, it must be
        able to create a WAL diary's -shm file), else a copy in memory with the WAL's committed
        pages applied. A damaged diary that cannot be moved aside is salvaged into memory.
        ERR, the failure to open it for writing, says why when trying to write does not."""
        if self._reader is not None:
            return self._reader
        why = self._unwritable_reason() or (
            _REASONS.get(_code(err), "it cannot be written") if err is not None and
            not _is_corrupt(err) else "it cannot be written")
        try:
            conn = self._open_read_only()
        except _UNREADABLE_MESSAGE as ro_err:
            _LOGGER.info("SQLite cannot read %s in place (%s); reading a copy", self.path, ro_err)
            conn = self._open_copy(why)
        self._reader = conn
        self._tell_read_only(why)
        return conn

    def _tell_read_only(self, why: str) -> None:
        notice = f"I can read your diary but not save to it, because {why}."
        if notice not in self._told:
            self._told.add(notice)
            self.notices.append(notice)

    def _open_read_only(self) -> sqlite3.Connection:
        conn = _connect(f"{self.path.absolute().as_uri()}?mode=ro", uri=True)
        try:
            self._check_version(conn.execute("PRAGMA user_version").fetchone()[0])
            _check(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _open_copy(self, why: str) -> sqlite3.Connection:
        try:
            image = snapshot(self.path)
        except OSError as err:
            reason = err.strerror or str(err)
            raise DiaryError(f"Could not read the diary {self.path}: {reason}.", reason,
                             self.path) from err
        conn = _connect(":memory:")
        try:
            conn.deserialize(image)
            self._check_version(conn.execute("PRAGMA user_version").fetchone()[0])
            _check(conn)
            return conn
        except _UNREADABLE_MESSAGE as caught:
            if not _is_corrupt(_database_error(caught)):
                conn.close()
                raise
        except BaseException:
            conn.close()
            raise
        conn.close()
        # Damaged, and it can be neither moved aside nor repaired: read what can be salvaged.
        conn = _connect(":memory:")
        count = self._fill(conn, image)
        self.notices.append(f"Your diary file {self.path} is damaged, and I can't repair it "
                            f"because {why}. I can read {_episodes(count)} from it.")
        return conn

    def _fill(self, conn: sqlite3.Connection, image: bytes) -> int:
        """Every episode salvaged from IMAGE, written into the empty diary CONN; how many."""
        found = salvage(image)
        self._migrate(conn)
        with self._transaction(conn):
            return insert_salvaged(conn, sorted(found.rows.values(),
                                                key=lambda row: int(row["id"] or 0)))

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

    def _recover(self, err: sqlite3.Error, writing: bool) -> bool:
        """Move the damaged file (and its WAL) aside with a timestamp, and salvage every episode
        that can be read from it into a fresh diary. False when it cannot be moved (a read-only
        folder) and the caller only reads: it then reads a salvaged copy in memory."""
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
        except OSError as move_err:
            if not writing:
                return False
            why = self._unwritable_reason() or move_err.strerror or str(move_err)
            reason = f"it is damaged and could not be moved aside, because {why}"
            raise DiaryWriteError(f"The diary {self.path} is damaged and could not be moved "
                                  f"aside, because {why}.", reason, self.path) from move_err
        moved = [aside]
        for suffix in _SIDE_FILES:
            extra = Path(f"{self.path}{suffix}")
            if extra.exists():
                try:
                    os.replace(extra, Path(f"{aside}{suffix}"))
                    moved.append(Path(f"{aside}{suffix}"))
                except OSError:
                    _LOGGER.warning("Could not move %s aside", extra, exc_info=True)
        for path in moved:
            make_private(path)
        count = self._salvage_from(aside)
        if count:
            self.notices.append(f"Your diary file was damaged. I moved it to {aside} and "
                                f"recovered {_episodes(count)} from it into a new diary.")
        else:
            self.notices.append(f"Your diary file was damaged. I moved it to {aside} and "
                                "started a new diary.")
        return True

    def _salvage_from(self, aside: Path) -> int:
        """Episodes of the damaged file ASIDE written into a new diary at self.path; how many.
        Nothing is lost when this fails: the damaged file stays aside."""
        try:
            image = snapshot(aside)
        except OSError:
            _LOGGER.warning("Could not read the damaged diary %s", aside, exc_info=True)
            return 0
        try:
            self._make_folder()
            self._make_file()
            conn = _connect(self.path)
        except sqlite3.Error:
            _LOGGER.warning("Could not start a new diary at %s", self.path, exc_info=True)
            return 0
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return self._fill(conn, image)
        except sqlite3.Error:
            _LOGGER.warning("Could not write the salvaged episodes to %s", self.path,
                            exc_info=True)
            return 0
        finally:
            conn.close()

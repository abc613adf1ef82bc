"""The diary when things go wrong around it, through the real `numb-legs` CLI: a read-only
folder, a full disk, a loose umask, a failed save the person comes back to, times of day after
midnight, and episode numbers that stay put.

Read-only for real: as a normal user the folder is chmod'ed; as root (CI containers) chmod does
not stop writes, so the CLI runs without the capabilities that let root ignore permissions
(setpriv drops them for that process only). A full disk is a file-size limit on the CLI's
process (RLIMIT_FSIZE binds root too): no file can grow past it, as on a full disk.
"""

from __future__ import annotations

import csv
import os
import resource
import select
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from knowledge.diary.store import DiaryStore, Episode
from knowledge.diary.timeparse import parse, start_time

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 24, 20, 15)
# The capabilities that let root write where the permissions say no.
ROOT_OVERRIDES = "-dac_override,-dac_read_search,-fowner"


def _command(args: tuple[str, ...], limited: bool) -> list[str]:
    command = [sys.executable, "-m", "voice", "--no-speech", *args]
    if limited and os.geteuid() == 0:
        command = ["setpriv", f"--bounding-set={ROOT_OVERRIDES}", *command]
    return command


def _limits(umask: int | None, file_limit: int | None) -> Callable[[], None]:
    def apply() -> None:  # runs in the child, before numb-legs starts
        if umask is not None:
            os.umask(umask)
        if file_limit is not None:
            _soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, hard))
    return apply


def cli(*args: str, stdin: str = "", limited: bool = False, umask: int | None = None,
        file_limit: int | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`numb-legs ARGS`; LIMITED: without root's power to write where permissions forbid."""
    return subprocess.run(_command(args, limited), input=stdin, capture_output=True, text=True,
                          timeout=120, env=env or os.environ.copy(), cwd=ROOT,
                          preexec_fn=_limits(umask, file_limit))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture()
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    monkeypatch.setenv("NUMB_LEGS_DATA_DIR", str(folder))
    # Exports that cannot go where asked go to the person's folders: these, not the session's.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    return folder


def _fill(folder: Path, count: int = 3) -> None:
    store = DiaryStore(folder / "diary.db", clock=lambda: NOW)
    for day in range(count):
        store.add(Episode(NOW - timedelta(days=count - day), 600, "left", "sitting",
                          note=f"saved {day}"))
    store.close()


KILLED_WRITER = """
import os, sys
from datetime import datetime
from pathlib import Path
from knowledge.diary.store import DiaryStore, Episode
store = DiaryStore(Path(sys.argv[1]))
for day in (1, 2):
    store.add(Episode(datetime(2026, 11, 20 + day, 8), 300, "right", "lying", note="in the WAL"))
os._exit(0)  # killed before closing: the two episodes are only in diary.db-wal
"""


def _lock(folder: Path) -> None:
    for path in folder.iterdir():
        path.chmod(0o444)
    folder.chmod(0o555)


def _unlock(folder: Path) -> None:
    folder.chmod(0o700)
    for path in folder.iterdir():
        path.chmod(0o600)


# -- 2. a diary that cannot be written can still be read, reported and exported ----------------

@pytest.mark.slow
@pytest.mark.parametrize("left_over", ["wal and shm", "wal only"])
def test_a_read_only_diary_can_be_listed_reported_and_exported(data_dir, tmp_path, left_over):
    _fill(data_dir)
    writer = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(data_dir / "diary.db")],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert writer.returncode == 0, writer.stderr
    assert (data_dir / "diary.db-wal").stat().st_size > 0
    if left_over == "wal only":  # SQLite cannot read it in place: it needs a -shm file
        (data_dir / "diary.db-shm").unlink()
    documents = tmp_path / "home" / "Documents"
    documents.mkdir()
    _lock(data_dir)
    try:
        listed = cli("diary", "list", limited=True)
        assert listed.returncode == 0, listed.stderr
        lines = listed.stdout.splitlines()
        assert lines[0] == ("I can read your diary but not save to it, because the diary "
                            f"folder {data_dir} is read-only.")
        assert lines[-1] == "5 episodes."
        assert sum("lying" in line for line in lines) == 2  # the WAL's episodes too

        report = cli("diary", "report", str(tmp_path / "report.html"), limited=True)
        assert report.returncode == 0, report.stderr
        assert "in the WAL" in (tmp_path / "report.html").read_text(encoding="utf-8")

        exported = cli("diary", "export", "--csv", str(data_dir / "diary.csv"), limited=True)
        assert exported.returncode == 0, exported.stderr
        moved = documents / "diary.csv"
        assert (f"The folder {data_dir} is read-only, so I wrote the file to {moved} instead."
                in exported.stdout)
        assert f"Wrote 5 episodes to {moved}." in exported.stdout
        rows = list(csv.DictReader(moved.open(encoding="utf-8")))
        assert [row["note"] for row in rows].count("in the WAL") == 2
        assert mode(moved) == 0o600

        # Writing really is refused, and the message names the read-only folder.
        deleted = cli("diary", "delete", "1", limited=True)
        assert deleted.returncode == 2
        assert f"the diary folder {data_dir} is read-only" in deleted.stderr
        chat = cli("chat", stdin="my left leg went numb for ten minutes after sitting\nyes\n",
                   limited=True)
        assert (f"I couldn't save it, because the diary folder {data_dir} is read-only. "
                "I've kept it." in chat.stdout)
        assert "Traceback" not in listed.stderr + exported.stderr + deleted.stderr + chat.stderr
    finally:
        _unlock(data_dir)
    assert DiaryStore(data_dir / "diary.db").count() == 5  # nothing lost, nothing added


@pytest.mark.slow
def test_a_full_disk_still_lets_the_diary_be_read_and_exported(data_dir, tmp_path):
    _fill(data_dir)
    # Room for the small CSV, none for the 32 KiB shared-memory file SQLite needs to read a WAL
    # diary, nor for a save.
    full = 16 * 1024
    listed = cli("diary", "list", file_limit=full)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0].startswith(
        "I can read your diary but not save to it, because the disk")
    assert listed.stdout.splitlines()[-1] == "3 episodes."
    exported = cli("diary", "export", "--csv", str(tmp_path / "out.csv"), file_limit=full)
    assert exported.returncode == 0, exported.stderr
    assert len(list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8")))) == 3
    deleted = cli("diary", "delete", "1", file_limit=full)
    assert deleted.returncode == 2 and "Could not save to the diary" in deleted.stderr
    assert "the disk" in deleted.stderr and "Traceback" not in deleted.stderr
    assert DiaryStore(data_dir / "diary.db").count() == 3


# -- 5. every file holding health data is private, whatever the umask ---------------------------

def _read_until(stream, text: str, timeout: float = 60) -> str:
    """What STREAM says up to the line holding TEXT (a running conversation)."""
    seen = ""
    deadline = time.monotonic() + timeout
    while text not in seen:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([stream], [], [], left)[0]:
            raise AssertionError(f"no {text!r} in {seen!r}")
        line = stream.readline()
        if not line:
            raise AssertionError(f"ended before {text!r}: {seen!r}")
        seen += line
    return seen


@pytest.mark.slow
def test_every_diary_file_is_private_under_a_loose_umask(data_dir, tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    chat = subprocess.Popen(_command(("chat",), False), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=ROOT, preexec_fn=_limits(0o022, None))
    assert chat.stdin is not None and chat.stdout is not None
    try:
        chat.stdin.write("my left leg went numb for ten minutes after sitting\nyes\n")
        chat.stdin.flush()
        _read_until(chat.stdout, "Saved in your diary.")
        # While it runs, the WAL and its shared memory exist beside the diary.
        assert mode(data_dir) == 0o700
        for name in ("diary.db", "diary.db-wal", "diary.db-shm"):
            assert mode(data_dir / name) == 0o600, name
    finally:
        chat.stdin.close()
        chat.wait(timeout=60)

    report = cli("diary", "report", str(tmp_path / "report.html"), umask=0o022)
    exported = cli("diary", "export", "--csv", str(tmp_path / "out.csv"), umask=0o022)
    assert report.returncode == exported.returncode == 0
    assert mode(tmp_path / "report.html") == mode(tmp_path / "out.csv") == 0o600

    # A damaged diary: the copy moved aside and the new diary salvaged from it are private too,
    # even when the damaged file was not.
    (data_dir / "diary.db").write_bytes(b"not a diary " * 400)
    (data_dir / "diary.db").chmod(0o644)
    listed = cli("diary", "list", umask=0o022)
    assert "Your diary file was damaged" in listed.stdout
    (aside,) = data_dir.glob("diary.db.corrupt-*")
    assert mode(aside) == mode(data_dir / "diary.db") == 0o600


# -- 3. an entry whose saving failed waits for "try again" ------------------------------------

WAITING = "Your diary entry still isn't saved. Say try again to save it, or cancel."


@pytest.mark.slow
def test_an_entry_that_failed_to_save_survives_other_questions(data_dir):
    data_dir.mkdir()
    data_dir.chmod(0o555)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    chat = subprocess.Popen(_command(("chat",), limited=True), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=ROOT)
    assert chat.stdin is not None and chat.stdout is not None

    def say(line: str, until: str) -> str:
        assert chat.stdin is not None and chat.stdout is not None
        chat.stdin.write(line + "\n")
        chat.stdin.flush()
        return _read_until(chat.stdout, until)

    try:
        say("my left leg went numb for ten minutes after sitting", "Shall I save it?")
        failed = say("yes", "Say try again, or cancel.")
        assert f"because the diary folder {data_dir} is read-only" in failed
        answer = say("why are my legs numb", WAITING)
        assert "I haven't saved the diary entry" not in answer
        assert "sitting or lying awkwardly" in answer  # the question is answered first
        say("when should I see a doctor", WAITING)
        data_dir.chmod(0o700)  # the person frees the folder
        saved = say("try again", "Saved in your diary.")
        assert "That makes one episode in the last 30 days." in saved
    finally:
        data_dir.chmod(0o700)
        chat.stdin.close()
        chat.wait(timeout=60)
    (episode,) = DiaryStore(data_dir / "diary.db").episodes()
    assert (episode.legs, episode.duration_s, episode.activity) == ("left", 600, "sitting")


# -- 6. episode numbers stay with their episodes, and the list reads in their order -------------

def test_numbers_are_stable_and_the_list_reads_in_their_order(data_dir):
    store = DiaryStore(data_dir / "diary.db", clock=lambda: NOW)
    # Told newest first, as people do when they start a diary: "today... and yesterday... and
    # on Sunday".
    for days_ago, legs in ((0, "left"), (1, "right"), (2, "both")):
        store.add(Episode(NOW - timedelta(days=days_ago, hours=1), 600, legs, "sitting"))
    store.close()
    lines = cli("diary", "list").stdout.splitlines()
    assert lines[0].startswith("Your diary, in the order the episodes were recorded.")
    assert [line.split(".")[0] for line in lines[1:4]] == ["1", "2", "3"]
    assert lines[1].startswith("1. Tue 24 Nov 2026") and "left leg" in lines[1]
    assert lines[3].startswith("3. Sun 22 Nov 2026") and "both legs" in lines[3]
    assert cli("diary", "delete", "2").returncode == 0
    store = DiaryStore(data_dir / "diary.db", clock=lambda: NOW)
    store.add(Episode(NOW - timedelta(days=5), 60, "left", "walking"))
    store.close()
    lines = cli("diary", "list").stdout.splitlines()
    # 1 and 3 keep their numbers; the new one is 4, though it happened first.
    assert [line.split(".")[0] for line in lines[1:4]] == ["1", "3", "4"]
    assert lines[3].startswith("4. Thu 19 Nov 2026")
    assert [e.number for e in DiaryStore(data_dir / "diary.db").episodes()] == [4, 3, 1]


def test_the_data_folder_is_private_when_created(data_dir):
    result = cli("chat", stdin="my left leg went numb for ten minutes after sitting\nyes\n",
                 umask=0o002)
    assert "Saved in your diary." in result.stdout
    assert mode(data_dir) == 0o700 and mode(data_dir / "diary.db") == 0o600
    with sqlite3.connect(data_dir / "diary.db") as conn:
        assert conn.execute("SELECT count(*) FROM episodes").fetchone()[0] == 1


def test_exports_are_private_under_any_umask(data_dir, tmp_path):
    """Even a umask that takes the owner's own rights away: the export is still 0600."""
    _fill(data_dir)
    result = cli("diary", "export", "--csv", str(tmp_path / "out.csv"), umask=0o277)
    assert result.returncode == 0, result.stderr
    assert mode(tmp_path / "out.csv") == 0o600


# -- 4. "this evening" said after midnight -------------------------------------------------------

TUESDAY = datetime(2026, 11, 24)
MONDAY = TUESDAY - timedelta(days=1)
# (clock, {phrase: when it started}); None: it is happening now (now minus its duration).
AFTER_MIDNIGHT = [
    ((0, 30), {"this morning": MONDAY.replace(hour=9), "this afternoon": MONDAY.replace(hour=15),
               "this evening": MONDAY.replace(hour=19), "tonight": MONDAY.replace(hour=21)}),
    ((3, 0), {"this morning": MONDAY.replace(hour=9), "this afternoon": MONDAY.replace(hour=15),
              "this evening": MONDAY.replace(hour=19), "tonight": MONDAY.replace(hour=21)}),
    ((6, 0), {"this morning": None, "this afternoon": MONDAY.replace(hour=15),
              "this evening": MONDAY.replace(hour=19), "tonight": MONDAY.replace(hour=21)}),
    ((13, 0), {"this morning": TUESDAY.replace(hour=9), "this afternoon": None,
               "this evening": MONDAY.replace(hour=19), "tonight": MONDAY.replace(hour=21)}),
    ((23, 30), {"this morning": TUESDAY.replace(hour=9), "this afternoon": TUESDAY.replace(hour=15),
                "this evening": TUESDAY.replace(hour=19), "tonight": TUESDAY.replace(hour=21)}),
]


@pytest.mark.parametrize(("clock", "expected"), AFTER_MIDNIGHT,
                         ids=[f"{h:02d}:{m:02d}" for (h, m), _ in AFTER_MIDNIGHT])
def test_parts_of_the_day_are_never_in_the_future_nor_all_the_same(clock, expected):
    now = TUESDAY.replace(hour=clock[0], minute=clock[1])
    starts = {}
    for phrase, when in expected.items():
        heard = parse(f"my left leg went numb {phrase} for ten minutes", now)
        starts[phrase] = start_time(heard.when, heard.duration_s, now)
        assert starts[phrase] == (when or now - timedelta(minutes=10)), phrase
        assert starts[phrase] <= now
    assert len(set(starts.values())) == len(starts)  # four phrases, four times


def _local_clock(hour: int, minute: int) -> tuple[dict[str, str], datetime, timedelta]:
    """An environment whose local time is now HOUR:MINUTE: a fixed-offset TZ (POSIX allows up
    to 24 hours), so the real program reads the real clock. (env, local now, UTC offset)."""
    utc = datetime.now(UTC).replace(microsecond=0)
    offset = (utc.replace(hour=hour, minute=minute, second=0) - utc) % timedelta(days=1)
    hours, rest = divmod(int(offset.total_seconds()), 3600)
    env = {**os.environ, "TZ": f"NLT-{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"}
    return env, (utc + offset).replace(tzinfo=None), offset


SAID = ("my left leg went numb this evening for ten minutes while sitting\nyes\n"
        "my right leg went numb this afternoon for five minutes while lying down\nyes\n"
        "both legs went numb this morning for twenty minutes while walking\nyes\n")


@pytest.mark.slow
@pytest.mark.parametrize(("clock", "heard"), [
    ((0, 30), ("yesterday at 7 o'clock in the evening", "yesterday at 3 o'clock in the afternoon",
               "yesterday at 9 o'clock in the morning")),
    ((6, 0), ("yesterday at 7 o'clock in the evening", "yesterday at 3 o'clock in the afternoon",
              "today at 5:40 in the morning")),
    ((13, 0), ("yesterday at 7 o'clock in the evening", "today at 12:55 in the afternoon",
               "today at 9 o'clock in the morning")),
], ids=["00:30", "06:00", "13:00"])
def test_this_evening_after_midnight_is_saved_as_yesterday_evening(data_dir, clock, heard):
    env, now, offset = _local_clock(*clock)
    result = cli("chat", stdin=SAID, env=env)
    assert result.returncode == 0, result.stderr
    read_backs = [line for line in result.stdout.splitlines() if line.startswith("I'll save")]
    assert len(read_backs) == 3 and result.stdout.count("Saved in your diary.") == 3
    for read_back, when in zip(read_backs, heard, strict=True):
        assert when in read_back, read_back
    with sqlite3.connect(data_dir / "diary.db") as conn:
        saved = [row[0] for row in conn.execute("SELECT started_at FROM episodes ORDER BY id")]
    local = [datetime.fromtimestamp(value, UTC).replace(tzinfo=None) + offset
             for value in saved]
    assert all(start <= now + timedelta(seconds=30) for start in local)
    assert len(set(local)) == 3

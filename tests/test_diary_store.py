"""The diary file: durability under SIGKILL, concurrent writers, full disk and read-only folders,
damaged files, schema migrations. Real SQLite files and real processes throughout."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from knowledge.diary.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    DiaryError,
    DiaryStore,
    DiaryVersionError,
    DiaryWriteError,
    Episode,
    NoSuchEpisode,
)
from knowledge.errors import NumbLegsError

ROOT = Path(__file__).resolve().parent.parent
CLOCK = datetime(2026, 11, 24, 20, 15)


def episode(minutes: int = 10, legs: str | None = "left", day: int = 0, **extra) -> Episode:
    return Episode(started_at=CLOCK - timedelta(days=day, minutes=minutes), duration_s=minutes * 60,
                   legs=legs, activity="sitting", **extra)


# The capabilities that let root write where the permissions say no.
ROOT_OVERRIDES = "-dac_override,-dac_read_search,-fowner"


def run_python(code: str, *args: str, as_root_without: str = "", **popen) -> subprocess.Popen:
    """CODE in a new interpreter; under root, AS_ROOT_WITHOUT drops those capabilities first."""
    command = [sys.executable, "-c", textwrap.dedent(code), *args]
    if as_root_without and os.geteuid() == 0:
        command = ["setpriv", f"--bounding-set={as_root_without}", *command]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **popen)


def test_add_list_delete_forget(tmp_path):
    store = DiaryStore(tmp_path / "diary.db", clock=lambda: CLOCK)
    first = store.add(episode(5, other_signs=("tingling", "back pain"), note="desk"))
    second = store.add(episode(20, "both", red_flags=True))
    assert [e.id for e in store.episodes()] == [second, first]  # oldest start first
    got = store.get(first)
    assert got.other_signs == ("tingling", "back pain") and got.note == "desk"
    assert got.duration_s == 300 and not got.red_flags
    assert store.get(second).red_flags
    assert store.delete(first).id == first
    with pytest.raises(NoSuchEpisode):
        store.delete(first)
    assert store.forget_all() == 1 and store.count() == 0
    assert store.schema_version() == SCHEMA_VERSION
    mode = sqlite3.connect(tmp_path / "diary.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_errors_belong_to_the_project_hierarchy():
    assert issubclass(DiaryWriteError, DiaryError) and issubclass(DiaryError, NumbLegsError)


def test_a_version_one_diary_is_migrated_forwards_keeping_its_episodes(tmp_path):
    path = tmp_path / "diary.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0])
    conn.execute("INSERT INTO episodes (started_at, duration_s, legs, activity) "
                 "VALUES (?, 600, 'right', 'lying')", (int(CLOCK.timestamp()),))
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    store = DiaryStore(path)
    assert store.schema_version() == SCHEMA_VERSION == 2
    (kept,) = store.episodes()
    assert (kept.legs, kept.activity, kept.duration_s) == ("right", "lying", 600)
    indexes = [row[1] for row in sqlite3.connect(path).execute("PRAGMA index_list(episodes)")]
    assert "episodes_by_start" in indexes


def test_a_diary_from_a_newer_version_is_left_alone(tmp_path):
    path = tmp_path / "diary.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(DiaryVersionError, match="newer numb-legs"):
        DiaryStore(path).count()
    assert path.read_bytes() == before


WRITER = """
    import sys
    from datetime import datetime, timedelta
    from pathlib import Path
    from knowledge.diary.store import DiaryStore, Episode
    store = DiaryStore(Path(sys.argv[1]))
    start = datetime(2026, 11, 1)
    for number in range(int(sys.argv[2])):
        ident = store.add(Episode(start + timedelta(minutes=number), 60, "left", "sitting",
                                  note=sys.argv[3] + str(number)))
        print(ident, flush=True)  # printed only once committed
"""


def test_sigkill_mid_stream_loses_no_committed_episode(tmp_path):
    path = tmp_path / "diary.db"
    writer = run_python(WRITER, str(path), "1000000", "k")
    reported = []
    assert writer.stdout is not None
    for line in writer.stdout:
        reported.append(int(line))
        if len(reported) == 150:
            break
    writer.send_signal(signal.SIGKILL)  # in the middle of the stream: it never stops by itself
    rest, _ = writer.communicate(timeout=30)
    reported += [int(line) for line in rest.split()]
    assert writer.returncode == -signal.SIGKILL
    store = DiaryStore(path)
    assert store.integrity() == "ok"
    saved = {e.id for e in store.episodes()}
    assert set(reported) <= saved
    assert len(saved) - len(reported) <= 1  # at most the one committed as the kill came
    store.add(episode())  # and it goes on working
    assert store.count() == len(saved) + 1


def test_two_writer_processes_and_this_one_all_succeed(tmp_path):
    path = tmp_path / "diary.db"
    DiaryStore(path).count()  # create it first: the writers race for rows, not for the schema
    writers = [run_python(WRITER, str(path), "150", name) for name in ("a", "b")]
    store = DiaryStore(path)
    mine = 0
    while any(w.poll() is None for w in writers):
        store.add(episode(note=f"main{mine}"))
        mine += 1
        # SQLite's busy wait is not fair: a loop that takes the lock again the instant it lets
        # go can starve the other writers past their 10 s timeout (seen once in CI). A person's
        # assistant never saves in a tight loop; a millisecond between saves is still a race.
        time.sleep(0.001)
    for writer in writers:
        out, err = writer.communicate(timeout=60)
        assert writer.returncode == 0, err
        assert len(out.split()) == 150
    assert mine > 0
    assert store.count() == 300 + mine
    assert store.integrity() == "ok"


def test_a_garbage_file_is_moved_aside_and_a_fresh_diary_started(tmp_path):
    path = tmp_path / "diary.db"
    path.write_bytes(b"this is not a database, it is a shopping list\n" * 200)
    store = DiaryStore(path, clock=lambda: CLOCK)
    assert store.count() == 0
    aside = tmp_path / "diary.db.corrupt-20261124T201500"
    assert aside.read_bytes().startswith(b"this is not a database")
    (notice,) = store.pop_notices()
    assert "damaged" in notice and str(aside) in notice
    store.add(episode())
    assert store.count() == 1 and store.integrity() == "ok"


def test_a_damaged_page_is_found_on_opening(tmp_path):
    path = tmp_path / "diary.db"
    store = DiaryStore(path)
    store.add_many([episode(day=d % 300, note="x" * 200) for d in range(400)])
    store.close()  # checkpoints the WAL into the file
    size = path.stat().st_size
    assert size > 8 * 4096
    with open(path, "r+b") as handle:  # keep the header, scribble over the pages after it
        handle.seek(2 * 4096)
        handle.write(os.urandom(size - 3 * 4096))
    fresh = DiaryStore(path, clock=lambda: CLOCK)
    # The last page was left alone: its episodes are salvaged, the scribbled ones are not.
    kept = fresh.episodes()
    assert 0 < len(kept) < 400 and all(e.note == "x" * 200 for e in kept)
    (notice,) = fresh.pop_notices()
    assert f"recovered {len(kept)} episodes" in notice
    assert (tmp_path / "diary.db.corrupt-20261124T201500").exists()


FULL_DISK = """
    import json, resource, signal, sys
    from datetime import datetime
    from pathlib import Path
    from intents.meaning import default_matcher
    from knowledge import load_knowledge
    from knowledge.diary.store import DiaryStore
    from voice.dialogue.responses import load_responses
    from voice.dialogue.skill import Skill
    now = datetime(2026, 11, 24, 20, 15)
    store = DiaryStore(Path(sys.argv[1]))
    store.count()  # open it: WAL and shared memory exist before the limit
    skill = Skill(default_matcher(), load_knowledge(), load_responses(), diary=store,
                  now=lambda: now)
    replies = [skill.respond("my left leg went numb for ten minutes after sitting").text]
    # A file-size limit makes every write past 4 KiB fail as a full disk would (EFBIG instead of
    # ENOSPC); it binds root too. SIGXFSZ would kill us instead of failing the write.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))
    replies.append(skill.respond("yes").text)
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space freed
    replies.append(skill.respond("try again").text)
    print(json.dumps(replies))
"""


def test_a_full_disk_is_reported_and_the_episode_kept_until_saved(tmp_path):
    path = tmp_path / "diary.db"
    DiaryStore(path).add(episode(day=3))
    proc = run_python(FULL_DISK, str(path))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    read_back, failed, saved = json.loads(out)
    assert read_back.startswith("I'll save this: your left leg")
    assert failed.startswith("I couldn't save it, because the disk")
    assert "I've kept it. Say try again" in failed
    assert saved.startswith("Saved in your diary.")
    store = DiaryStore(path)
    assert store.count() == 2 and store.integrity() == "ok"


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder numb-legs cannot write in. As a normal user: a real read-only folder (chmod).
    As root, permissions do not stop writes, so we use a path inside /proc, a kernel filesystem
    where nobody can create a file: the same failure SQLite meets in a read-only folder."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        return folder / "numb-legs"
    return Path("/proc/numb-legs-cannot-write-here")


def test_a_read_only_folder_gives_a_clear_message(tmp_path):
    store = DiaryStore(_unwritable_folder(tmp_path) / "diary.db")
    with pytest.raises(DiaryWriteError) as caught:
        store.add(episode())
    assert str(store.path.parent) in str(caught.value)
    assert caught.value.reason in ("the diary's folder can't be created",
                                   "the folder or file is read-only",
                                   "the diary file could not be opened or created")


def test_a_read_only_diary_file_is_reported_when_saving(tmp_path):
    """Saved by a process that may not write the file. Root writes to read-only files anyway
    (and CI runs as root), so there the saving process runs without the capabilities that let
    it (setpriv, from util-linux, drops them for the child only)."""
    path = tmp_path / "diary.db"
    folder = tmp_path
    try:
        DiaryStore(path).add(episode())
        path.chmod(0o444)
        folder.chmod(0o555)
        child = run_python("""
            import sys
            from datetime import datetime
            from pathlib import Path
            from knowledge.diary.store import DiaryStore, DiaryWriteError, Episode
            try:
                DiaryStore(Path(sys.argv[1])).add(Episode(started_at=datetime(2026, 6, 1, 9),
                                                    duration_s=60, legs="left", activity="sitting"))
            except DiaryWriteError as error:
                print("refused:", error.reason)
            else:
                print("saved")
            """, str(path), as_root_without=ROOT_OVERRIDES)
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        assert out.startswith("refused:"), out
        assert "read-only" in out or "could not be opened" in out, out
    finally:
        folder.chmod(0o755)
        path.chmod(0o644)

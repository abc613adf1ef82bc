"""`numb-legs diary ...` and `numb-legs chat` writing the diary, as real subprocesses."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from intents.meaning import default_matcher
from knowledge import load_knowledge
from knowledge.diary.store import DiaryStore, Episode
from voice.dialogue.responses import load_responses
from voice.dialogue.skill import Skill

NOW = datetime(2026, 11, 24, 20, 15)


@pytest.fixture()
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    monkeypatch.setenv("NUMB_LEGS_DATA_DIR", str(folder))
    return folder


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voice", "--no-speech", *args], input=stdin,
                          capture_output=True, text=True, timeout=60, env=os.environ.copy())


def _fill(folder: Path) -> DiaryStore:
    store = DiaryStore(folder / "diary.db")
    store.add(Episode(NOW - timedelta(days=2), 600, "left", "sitting", ("tingling",), "desk"))
    store.add(Episode(NOW - timedelta(days=1), 1800, "both", "lying", red_flags=True))
    return store


@pytest.mark.slow
def test_list_export_delete(data_dir, tmp_path):
    _fill(data_dir).close()
    listed = cli("diary", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].startswith("Your diary, in the order the episodes were recorded.")
    assert lines[1].startswith("1. Sun 22 Nov 2026 at 20:15, ten minutes, left leg, sitting, "
                               "with tingling.")
    assert lines[2].endswith("half an hour, both legs, lying, warning signs reported.")
    assert lines[3] == "2 episodes."
    target = tmp_path / "out.csv"
    exported = cli("diary", "export", "--csv", str(target))
    assert exported.returncode == 0 and "Wrote 2 episodes" in exported.stdout
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert [r["legs"] for r in rows] == ["left", "both"]
    assert rows[0]["duration_minutes"] == "10" and rows[1]["red_flags"] == "yes"
    assert cli("diary", "delete", "1").stdout.startswith("Deleted: 1. Sun 22 Nov")
    missing = cli("diary", "delete", "1")
    assert missing.returncode == 1 and "no episode number 1" in missing.stdout
    assert "Traceback" not in missing.stderr


def test_forget_all_asks_first(data_dir):
    _fill(data_dir).close()
    refused = cli("diary", "forget", "--all", stdin="no\n")
    assert refused.returncode == 1 and "Nothing was deleted." in refused.stdout
    assert DiaryStore(data_dir / "diary.db").count() == 2
    done = cli("diary", "forget", "--all", stdin="yes\n")
    assert done.returncode == 0 and "Deleted all 2 episodes." in done.stdout
    assert DiaryStore(data_dir / "diary.db").count() == 0


@pytest.mark.slow
def test_one_episode_is_counted_in_the_singular(data_dir, tmp_path):
    store = DiaryStore(data_dir / "diary.db")
    store.add(Episode(NOW - timedelta(days=1), 600, "left", "sitting"))
    store.close()
    assert cli("diary", "list").stdout.splitlines()[-1] == "1 episode."
    exported = cli("diary", "export", "--csv", str(tmp_path / "one.csv"))
    assert f"Wrote 1 episode to {tmp_path / 'one.csv'}." in exported.stdout
    report = cli("diary", "report", str(tmp_path / "one.html"))
    assert "Wrote the report (1 episode) to" in report.stdout
    forgotten = cli("diary", "forget", "--all", stdin="yes\n")
    assert "This deletes the only episode in your diary" in forgotten.stdout
    assert "Deleted the only episode." in forgotten.stdout


def test_export_to_a_folder_that_does_not_exist_is_bad_input(data_dir, tmp_path):
    _fill(data_dir).close()
    result = cli("diary", "export", "--csv", str(tmp_path / "no" / "such" / "out.csv"))
    assert result.returncode == 1 and "Could not write" in result.stdout
    assert "Traceback" not in result.stderr


def test_a_damaged_diary_is_moved_aside_and_the_user_told(data_dir):
    data_dir.mkdir()
    (data_dir / "diary.db").write_bytes(b"\x00garbage" * 512)
    result = cli("diary", "list")
    assert result.returncode == 0
    assert "Your diary file was damaged. I moved it to" in result.stdout
    assert "Your diary is empty." in result.stdout
    assert [p.name for p in data_dir.glob("diary.db.corrupt-*")]


def test_an_unusable_data_folder_is_a_clear_failure(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("NUMB_LEGS_DATA_DIR", str(blocker / "data"))
    result = cli("diary", "list")
    assert result.returncode == 2
    assert "cannot be created" in result.stderr and "Traceback" not in result.stderr


def test_chat_logs_an_episode(data_dir):
    result = cli("chat", stdin="my left leg went numb for ten minutes after sitting\nyes\n"
                               "how often this month\n")
    assert result.returncode == 0, result.stderr
    assert "I'll save this: your left leg, numb for ten minutes" in result.stdout
    assert "Saved in your diary." in result.stdout
    assert "you logged one episode" in result.stdout
    assert DiaryStore(data_dir / "diary.db").count() == 1


@pytest.mark.slow
def test_the_assistant_and_the_cli_write_at_the_same_time(data_dir):
    store = DiaryStore(data_dir / "diary.db")
    store.count()
    lines = "my right foot went numb for five minutes while driving\nyes\n" * 25
    chat = subprocess.Popen([sys.executable, "-m", "voice", "--no-speech", "chat"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=os.environ.copy())
    skill = Skill(default_matcher(), load_knowledge(), load_responses(), diary=store,
                  now=lambda: NOW)
    assert chat.stdin is not None
    chat.stdin.write(lines)
    chat.stdin.close()
    mine = 0
    while chat.poll() is None or mine == 0:
        skill.respond("my left leg went numb for ten minutes after sitting")
        assert skill.respond("yes").text.startswith("Saved in your diary.")
        mine += 1
    assert chat.stdout is not None and chat.stderr is not None
    out, err = chat.stdout.read(), chat.stderr.read()
    assert chat.wait(timeout=60) == 0, err
    assert out.count("Saved in your diary.") == 25
    legs = [e.legs for e in store.episodes()]
    assert legs.count("right") == 25 and legs.count("left") == mine
    assert store.integrity() == "ok"

"""Speech settings persist in a TOML file: atomic, and robust to damage."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from voice.config import Settings, describe, load, reset, save

ROOT = Path(__file__).resolve().parent.parent


def test_missing_file_means_defaults(tmp_path):
    assert load(tmp_path / "settings.toml") == (Settings(), None)


def test_round_trip_with_awkward_values(tmp_path):
    path = tmp_path / "deep" / "settings.toml"
    wanted = Settings(rate=145, volume=0.6, voice='en-us+klatt "quoted" \\ café', emergency_number="+44 999")
    assert save(wanted, path) is None
    assert load(path) == (wanted, None)
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_damaged_file_is_moved_aside_and_defaults_used(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_bytes(b"rate = [[[\xff")
    settings, message = load(path)
    assert settings == Settings() and "damaged" in message and "moved to" in message
    assert not path.exists()
    assert len(list(tmp_path.glob("settings.toml.broken-*"))) == 1


def test_wrong_values_are_named_and_good_ones_kept(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_text('rate = 5000\nvolume = 0.5\ncolour = "red"\nemergency_number = "call me"\n')
    settings, message = load(path)
    assert settings == Settings(volume=0.5)
    for key in ("rate", "colour", "emergency_number"):
        assert key in message


def test_unwritable_place_is_reported_not_raised(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")  # refuses writes even as root
    message = save(Settings(rate=200), blocker / "settings.toml")
    assert message and "won't be remembered" in message


def test_a_failed_write_leaves_the_old_file_whole(tmp_path):
    path = tmp_path / "settings.toml"
    save(Settings(rate=145), path)
    (tmp_path / "locked").mkdir()
    # Saving to a path that is a directory fails; the real file is untouched.
    assert save(Settings(rate=300), tmp_path / "locked") is not None
    assert load(path)[0].rate == 145


def test_changes_stop_at_their_limits():
    slowest = Settings(rate=90).changed("slower")
    assert slowest == (Settings(rate=80), False)
    assert Settings(rate=80).changed("slower") == (Settings(rate=80), True)
    assert Settings(volume=1.0).changed("louder")[1] is True
    assert Settings(volume=0.5).changed("quieter")[0].volume == 0.3


def test_settings_persist_across_runs_and_reset(tmp_path):
    env = dict(os.environ, NUMB_LEGS_CONFIG=str(tmp_path / "settings.toml"),
               NUMB_LEGS_CACHE_DIR=str(tmp_path / "cache"))

    def run(*args, stdin=""):
        return subprocess.run([sys.executable, "-m", "voice", *args], input=stdin, text=True,
                              capture_output=True, cwd=ROOT, env=env, timeout=60)

    chat = run("--no-speech", "chat", stdin="speak slower\nlouder\nquieter\nbye\n")
    assert "I'll speak more slowly" in chat.stdout
    assert "That's as far as that setting goes." in chat.stdout  # already at full volume
    shown = run("settings").stdout
    assert "Speaking rate: 145 words a minute" in shown and "Volume: 80 percent" in shown
    assert run("settings", "--reset").returncode == 0
    assert "175 words a minute (default)" in run("settings").stdout
    assert describe(Settings(), tmp_path)[1].endswith("(default)")
    assert reset(tmp_path / "absent.toml") is None


def test_options_for_one_run_are_not_written_down(tmp_path):
    env = dict(os.environ, NUMB_LEGS_CONFIG=str(tmp_path / "settings.toml"),
               NUMB_LEGS_CACHE_DIR=str(tmp_path / "cache"))
    subprocess.run([sys.executable, "-m", "voice", "--no-speech", "--voice", "en-us+klatt",
                    "--volume", "0.5", "chat"], input="speak faster\nbye\n", text=True,
                   capture_output=True, cwd=ROOT, env=env, timeout=60, check=True)
    saved, _ = load(tmp_path / "settings.toml")
    assert saved == Settings(rate=205)  # the change asked for aloud, nothing else

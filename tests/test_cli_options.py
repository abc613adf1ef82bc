"""Every option a message or help text of voice/ tells people to use is one numb-legs has."""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

import pytest

from voice.audio.microphone import DEVICE_HINT
from voice.cli.main import build_parser

VOICE = Path(__file__).resolve().parent.parent / "voice"
_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
# Options of other programs that messages quote: pip's, in "pip install --no-deps --force-reinstall ...".
OTHER_PROGRAMS = frozenset({"--force-reinstall", "--no-deps"})


def options(parser: argparse.ArgumentParser) -> set[str]:
    """Every option string of PARSER and of its subcommands, at any depth."""
    found: set[str] = set()
    for action in parser._actions:  # argparse has no public way to list its actions
        found.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= options(sub)
    return found


def commands(parser: argparse.ArgumentParser) -> set[str]:
    return {name for action in parser._actions if isinstance(action, argparse._SubParsersAction)
            for name in action.choices}


def named_in_messages() -> list[tuple[str, str]]:
    """(file, option) for each --option written in a string of voice/ that holds a space (a
    message or help text, not an argument handed to another program)."""
    found = []
    for path in sorted(VOICE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and " " in node.value:
                found += [(str(path.relative_to(VOICE)), option)
                          for option in _OPTION.findall(node.value) if option not in OTHER_PROGRAMS]
    return found


def test_the_microphone_hint_names_what_exists():
    # It told people to use --device and --list-devices, which numb-legs never had.
    known = options(build_parser())
    named = _OPTION.findall(DEVICE_HINT)
    assert named and set(named) <= known, DEVICE_HINT
    listing = re.search(r"numb-legs (\w+)", DEVICE_HINT)
    assert listing and listing.group(1) in commands(build_parser()), DEVICE_HINT


@pytest.mark.parametrize(("where", "option"), named_in_messages())
def test_every_option_a_message_names_exists(where, option):
    assert option in options(build_parser()), f"{where} names {option}, which numb-legs has not"


def test_the_scan_finds_the_options():
    named = {option for _, option in named_in_messages()}
    assert {"--input-device", "--output-device", "--model"} <= named

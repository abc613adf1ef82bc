"""Checked values for the command-line options: a bad one is refused with its range, never used.

argparse turns the ArgumentTypeError raised here into exit code 2 and its message; the ranges are
those of the settings file (voice/runtime/settings.py), so both refuse the same values.
"""

from __future__ import annotations

import argparse
import math

from ..runtime.settings import emergency_number_problem, rate_problem, volume_problem

FOLLOW_UP_RANGE_S = (0.0, 60.0)  # 0: no follow-up; past a minute it is always-listening in disguise


def _refuse(option: str, problem: str, text: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(f"{option} {problem}; you gave {text!r}.")


def rate(text: str) -> int:
    """--rate: words a minute."""
    try:
        value: object = int(text.strip())
    except ValueError:
        value = text
    problem = rate_problem(value)
    if problem:
        raise _refuse("--rate", problem, text)
    return int(text.strip())


def volume(text: str) -> float:
    """--volume: above 0, at most 1."""
    try:
        value: object = float(text.strip())
    except ValueError:
        value = text
    problem = volume_problem(value)  # NaN fails its comparisons, so it is refused too
    if problem:
        raise _refuse("--volume", problem, text)
    return float(text.strip())


def emergency_number(text: str) -> str:
    """--emergency-number: a number to dial."""
    number = text.strip()
    problem = emergency_number_problem(number)
    if problem:
        raise _refuse("--emergency-number", problem, text)
    return number


def follow_up(text: str) -> float:
    """listen --follow-up: seconds."""
    low, high = FOLLOW_UP_RANGE_S
    try:
        value = float(text.strip())
    except ValueError:
        value = math.nan
    if not low <= value <= high:  # NaN included
        raise _refuse("--follow-up", f"must be a number of seconds from {low:g} to {high:g}, "
                      "such as 8", text)
    return value

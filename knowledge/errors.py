"""The project's one exception hierarchy (the lowest layer owns it, so every package can use it)."""

from __future__ import annotations


class NumbLegsError(Exception):
    """Root of every error numb-legs raises on purpose; its message is meant for the user."""


class DataFileError(NumbLegsError):
    """A shipped data file is missing, unreadable or breaks its schema."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file = file
        self.key = key
        self.problem = problem
        where = f"{file}, key {key}" if key else file
        super().__init__(f"Broken data file {where}: {problem}")

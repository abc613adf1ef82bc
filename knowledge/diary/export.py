"""Write the diary out: CSV for spreadsheets, and the files the CSV and the HTML report go to."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

from knowledge.atomic_write import write_atomically

from .store import DiaryWriteError, Episode

CSV_COLUMNS = ("id", "started_at", "duration_minutes", "legs", "activity", "other_signs",
               "red_flags", "note")


def write_export(path: Path, text: str) -> None:
    """Write TEXT (a CSV or the HTML report) to PATH whole or not at all; DiaryWriteError when
    it cannot."""
    try:
        write_atomically(path, text)
    except OSError as err:
        raise DiaryWriteError(f"Could not write {path}: {err.strerror or err}.",
                              str(err.strerror or err), path) from err


def _minutes(seconds: int | None) -> str:
    if seconds is None:
        return ""
    minutes = seconds / 60
    return str(int(minutes)) if minutes == int(minutes) else f"{minutes:.1f}"


def to_csv(episodes: Iterable[Episode]) -> str:
    """One row per episode; local times in ISO 8601; empty cells where nothing was said."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for episode in episodes:
        writer.writerow((episode.id, episode.started_at.isoformat(timespec="minutes"),
                         _minutes(episode.duration_s), episode.legs or "", episode.activity or "",
                         "; ".join(episode.other_signs), "yes" if episode.red_flags else "no",
                         episode.note))
    return buffer.getvalue()

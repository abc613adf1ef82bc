"""``numb-legs diary``: list, export, report, delete and forget episodes. Plain text out."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from knowledge.diary.export import to_csv, write_export
from knowledge.diary.report import render_html
from knowledge.diary.store import DiaryError, DiaryStore, DiaryWriteError, Episode, NoSuchEpisode
from knowledge.diary.summary import Period, summarise
from knowledge.diary.timeparse import SPELLED_BELOW
from knowledge.numbers import spoken_duration

from .exit_codes import EXIT_BAD_INPUT, EXIT_BROKEN, EXIT_OK

_LOGGER = logging.getLogger(__name__)


def add_parser(commands: argparse._SubParsersAction,
               parents: Sequence[argparse.ArgumentParser] = ()) -> None:
    """Register ``diary`` and its subcommands on the main parser's COMMANDS; PARENTS (the global
    options) are taken by each of them too."""
    diary = commands.add_parser("diary", help="your numbness diary: list, export, report, delete",
                                parents=list(parents))
    sub = diary.add_subparsers(dest="diary_command", metavar="ACTION")
    sub.add_parser("list", help="print every episode, oldest first", parents=list(parents))
    export = sub.add_parser("export", help="write every episode to a CSV file",
                            parents=list(parents))
    export.add_argument("--csv", required=True, type=Path, metavar="FILE")
    report = sub.add_parser("report", help="write a printable HTML page to show your doctor",
                            parents=list(parents))
    report.add_argument("file", type=Path, metavar="FILE.html")
    delete = sub.add_parser("delete", help="delete one episode by its number (from list)",
                            parents=list(parents))
    delete.add_argument("id", type=int, metavar="ID")
    forget = sub.add_parser("forget", help="delete every episode (asks first)",
                            parents=list(parents))
    forget.add_argument("--all", action="store_true", required=True,
                        help="required: forget the whole diary")
    forget.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def episodes(count: int) -> str:
    """'1 episode', '3 episodes'."""
    return f"{count} episode{'' if count == 1 else 's'}"


def _all_of(count: int) -> str:
    """'all 3 episodes'; 'the only episode' (never 'all 1 episodes')."""
    return "the only episode" if count == 1 else f"all {episodes(count)}"


def describe(episode: Episode) -> str:
    """One line a screen reader reads well."""
    when = episode.started_at
    parts = [f"{episode.id}.", f"{when.strftime('%a')} {when.day} {when.strftime('%b %Y')} "
             f"at {when.strftime('%H:%M')},",
             (spoken_duration(episode.duration_s, spell_below=SPELLED_BELOW) if episode.duration_s is not None
              else "duration not said") + ",",
             f"{episode.legs} leg" + ("s" if episode.legs == "both" else "") + ","
             if episode.legs else "leg not said,",
             episode.activity or "activity not said"]
    if episode.other_signs:
        parts[-1] += ","
        parts.append("with " + " and ".join(episode.other_signs))
    if episode.red_flags:
        parts[-1] += ","
        parts.append("warning signs reported")
    return " ".join(parts) + "."


def run(args: argparse.Namespace, out: TextIO, store: DiaryStore | None = None,
        now: datetime | None = None, stdin: TextIO | None = None) -> int:
    """Run one diary subcommand; an exit code. Problems are printed, never raised."""
    store = store if store is not None else DiaryStore()
    action = getattr(args, "diary_command", None)
    if action is None:
        out.write("Say what to do with the diary: list, export --csv FILE, report FILE.html, "
                  "delete ID or forget --all.\n")
        return EXIT_BAD_INPUT
    try:
        return _run(action, args, out, store, now or datetime.now(), stdin or sys.stdin)
    except NoSuchEpisode as err:
        out.write(f"{err} Run numb-legs diary list to see the numbers.\n")
        return EXIT_BAD_INPUT
    except DiaryError as err:  # the diary itself cannot be read or written
        sys.stderr.write(f"{err}\n")
        return EXIT_BROKEN
    finally:
        for notice in store.pop_notices():
            sys.stderr.write(notice + "\n")
        store.close()


def _run(action: str, args: argparse.Namespace, out: TextIO, store: DiaryStore, now: datetime,
         stdin: TextIO) -> int:
    if action == "list":
        found = store.episodes()
        for notice in store.pop_notices():
            out.write(notice + "\n")
        if not found:
            out.write("Your diary is empty. Tell numb-legs about an episode to add one.\n")
            return EXIT_OK
        for episode in found:
            out.write(describe(episode) + "\n")
        out.write(f"{episodes(len(found))}.\n")
        return EXIT_OK
    if action == "export":
        found = store.episodes()
        try:
            write_export(args.csv, to_csv(found))
        except DiaryWriteError as err:
            out.write(f"{err}\n")
            return EXIT_BAD_INPUT
        out.write(f"Wrote {episodes(len(found))} to {args.csv}.\n")
        return EXIT_OK
    if action == "report":
        found = store.episodes()
        recent = summarise(store, Period("in the last 30 days", now - timedelta(days=30), now,
                                         inclusive=True))
        try:
            write_export(args.file, render_html(found, recent, now))
        except DiaryWriteError as err:
            out.write(f"{err}\n")
            return EXIT_BAD_INPUT
        out.write(f"Wrote the report ({episodes(len(found))}) to {args.file}. Open it in a "
                  "browser to read or print it.\n")
        return EXIT_OK
    if action == "delete":
        episode = store.delete(args.id)
        out.write(f"Deleted: {describe(episode)}\n")
        return EXIT_OK
    # forget --all
    count = store.count()
    if count == 0:
        out.write("Your diary is already empty.\n")
        return EXIT_OK
    if not args.yes:
        out.write(f"This deletes {_all_of(count)} in your diary, for good. Type yes to confirm: ")
        out.flush()
        answer = stdin.readline().strip().lower()
        if answer not in ("yes", "y"):
            out.write("\nNothing was deleted.\n")
            return EXIT_BAD_INPUT
    removed = store.forget_all()
    out.write(f"Deleted {_all_of(removed)}. Your diary is empty.\n")
    return EXIT_OK

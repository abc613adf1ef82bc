"""``numb-legs diary``: list, export, report, delete and forget episodes. Plain text out."""

from __future__ import annotations

import argparse
import errno
import logging
import sys
import tempfile
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
    sub.add_parser("list", help="print every episode by its number, in the order they were "
                   "recorded", parents=list(parents))
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
    parts = [f"{episode.number}.", f"{when.strftime('%a')} {when.day} {when.strftime('%b %Y')} "
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


# An export whose folder refuses it for one of these goes to another folder instead (a folder
# that does not exist is a mistyped name: that is said, not worked around).
_ELSEWHERE = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT}
_LIST_HEADING = ("Your diary, in the order the episodes were recorded. Each keeps its number; "
                 "give it to numb-legs diary delete to delete one.")


def other_folders(wanted: Path, documents: Path, home: Path, temporary: Path) -> list[Path]:
    """Where an export goes when WANTED's folder cannot be written: the person's documents
    folder, home folder, then the temporary folder; those that exist, WANTED's folder left out."""
    try:
        refused = wanted.parent.resolve()
    except OSError:
        refused = wanted.parent
    found: list[Path] = []
    for folder in (documents, home, temporary):
        if folder.is_dir() and folder.resolve() != refused and folder not in found:
            found.append(folder)
    return found


def _free_name(folder: Path, name: str) -> Path:
    """FOLDER/NAME, or NAME with -2, -3... before its suffix: never over another file."""
    target = folder / name
    number = 1
    while target.exists():
        number += 1
        target = folder / f"{Path(name).stem}-{number}{Path(name).suffix}"
    return target


def _write_out(path: Path, text: str, out: TextIO) -> Path | None:
    """Write TEXT to PATH; where it was written, or None (the reason printed). When PATH's
    folder is read-only or full, it goes to another folder, and the person is told where."""
    try:
        write_export(path, text)
        return path
    except DiaryWriteError as err:
        cause = err.__cause__
        if not isinstance(cause, OSError) or cause.errno not in _ELSEWHERE:
            out.write(f"{err}\n")
            return None
        failure = err
    import platformdirs  # only here: most exports go where they were asked to

    why = "is full" if cause.errno in (errno.ENOSPC, errno.EDQUOT) else "is read-only"
    for folder in other_folders(path, Path(platformdirs.user_documents_dir()), Path.home(),
                                Path(tempfile.gettempdir())):
        target = _free_name(folder, path.name)
        try:
            write_export(target, text)
        except DiaryWriteError:
            _LOGGER.debug("Could not write %s either", target, exc_info=True)
            continue
        out.write(f"The folder {path.parent} {why}, so I wrote the file to {target} instead.\n")
        return target
    out.write(f"{failure} No other folder could be written either.\n")
    return None


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
        # By number, which is the order they were recorded: numbers read 1, 2, 3 down the list
        # even when an older episode was told later (by start time they would not).
        out.write(_LIST_HEADING + "\n")
        for episode in sorted(found, key=lambda e: e.number or 0):
            out.write(describe(episode) + "\n")
        out.write(f"{episodes(len(found))}.\n")
        return EXIT_OK
    if action == "export":
        found = store.episodes()
        written = _write_out(args.csv, to_csv(found), out)
        if written is None:
            return EXIT_BAD_INPUT
        out.write(f"Wrote {episodes(len(found))} to {written}.\n")
        return EXIT_OK
    if action == "report":
        found = store.episodes()
        recent = summarise(store, Period("in the last 30 days", now - timedelta(days=30), now,
                                         inclusive=True))
        written = _write_out(args.file, render_html(found, recent, now), out)
        if written is None:
            return EXIT_BAD_INPUT
        out.write(f"Wrote the report ({episodes(len(found))}) to {written}. Open it in a "
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

"""``numb-legs prepare``: build ahead of time what the first start would otherwise build.

A start that finds nothing on disk works out the word matcher, rewrites the sentence model to
compute in int8 and builds the speech recogniser's domain model, all before it can listen
(and loads Whisper from its float16 weights, at three times the memory of an int8 copy):
about a second more than every later start on two cores. `make setup` runs this, so the first
start after installing (or after the data changed) is as quick as the rest. Only what is
missing or stale is built; everything it writes is a cache that start-up checks and rebuilds
itself when damaged.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from typing import TextIO

from knowledge.errors import NumbLegsError

from .exit_codes import EXIT_BROKEN, EXIT_OK

_LOGGER = logging.getLogger(__name__)


def add_parser(commands: argparse._SubParsersAction,
               parents: Sequence[argparse.ArgumentParser] = ()) -> argparse.ArgumentParser:
    """Register ``prepare`` on the main parser's COMMANDS; PARENTS are the global options."""
    prepare = commands.add_parser(
        "prepare", parents=list(parents),
        help="build now what the first start would build (make setup runs this)")
    prepare.add_argument("--wake-phrase", default="hey numb legs",
                         help="the wake phrase `listen` will use (default: %(default)s)")
    return prepare


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Build the caches start-up reads; print what could not be built and how to fix it."""
    from intents.matcher import default_word_matcher
    from intents.meaning import load_calibration, load_semantic
    from intents.safety import SafetyStage, load_backstop
    from knowledge.loader import load_knowledge

    from ..asr.engine_choice import EngineOptions, prepare_recognizer
    from ..asr.installed_models import user_models_dir
    from ..asr.recognizer import RecognizerError
    from ..asr.whisper_engine import prepare_int8_copy

    problems: list[str] = []
    # A broken data file raises DataFileError here: main() reports it.
    default_word_matcher()
    SafetyStage(load_knowledge())  # the rules' word list
    try:
        load_backstop()      # the int8 graph, and the bank's vectors if they are not shipped
        load_semantic(load_calibration().k)
    except NumbLegsError as err:
        problems.append(str(err))
    try:
        prepare_recognizer(EngineOptions(engine=args.engine, model=args.model,
                                         open_vocabulary=args.open_vocabulary,
                                         extra_phrases=(args.wake_phrase,)))
    except NumbLegsError as err:
        problems.append(str(err))
    try:
        # Whisper's weights in int8 (voice/asr/whisper_int8.py); a start without them loads the
        # original, so a cache that cannot be written costs memory, not a problem to report.
        prepare_int8_copy(user_models_dir())
    except RecognizerError as err:
        problems.append(str(err))
    except OSError as err:
        _LOGGER.debug("Whisper's int8 copy could not be stored: %s", err)
    for problem in problems:
        out.write(f"numb-legs prepare: {problem}\n")
    if problems:
        return EXIT_BROKEN
    out.write("numb-legs is prepared: the matcher, the sentence model and the speech "
              "recognisers' models are built.\n")
    return EXIT_OK

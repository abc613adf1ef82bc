"""Choose the speech engine (a pure decision) and open it as the settings ask: find a Vosk
model, choose, load, tune."""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.errors import NumbLegsError

from .installed_models import find_vosk_model, project_models_dir, user_models_dir
from .recognizer import Recognizer, RecognizerError

if TYPE_CHECKING:
    from .second_opinion import SecondOpinion

_LOGGER = logging.getLogger(__name__)
_PREPARE_WAIT_S = 60.0  # then open_recognizer builds it itself
ENGINES = ("vosk", "sphinx", "whisper")


@dataclass(frozen=True)
class EngineChoice:
    engine: str       # "vosk" or "sphinx"
    note: str         # said once to the user when the choice is a fallback, else ""


def choose_engine(requested: str | None, vosk_model: Path | None) -> EngineChoice:
    """Vosk when a model was found, else PocketSphinx; a forced engine is honoured.

    Pure: the caller looks for the model (so this is tested without disks or devices).
    """
    if requested in ("sphinx", "whisper"):
        return EngineChoice(requested, "")
    if requested == "vosk":
        if vosk_model is None:
            raise RecognizerError(
                "You asked for the Vosk engine, but no Vosk model was found. Install one with "
                "'numb-legs download-model', or pass --model PATH.")
        return EngineChoice("vosk", "")
    if requested not in (None, ""):
        raise RecognizerError(f"Unknown speech engine {requested!r}: use "
                              f"{', '.join(ENGINES[:-1])} or {ENGINES[-1]}.")
    if vosk_model is not None:
        return EngineChoice("vosk", "")
    return EngineChoice("sphinx", "No Vosk speech model is installed, so I'm using PocketSphinx. "
                                  "For better recognition run: numb-legs download-model.")


@dataclass(frozen=True)
class EngineOptions:
    engine: str | None = None      # "vosk", "sphinx" or None (automatic)
    model: str | None = None       # --model PATH
    open_vocabulary: bool = False  # no domain grammar / language model
    extra_phrases: tuple[str, ...] = ()  # e.g. the wake phrase, so it can be recognised
    second_opinion: bool = True    # Whisper beside the domain recogniser, when installed


def prepare_in_background(options: EngineOptions) -> Callable[[], None]:
    """Start building what open_recognizer(OPTIONS) needs, in another process, if it is not on
    disk yet; return a function that waits for it.

    A start that finds no cache (numb-legs prepare not run, or the data changed since) builds
    both the matcher and the recogniser's domain files (PocketSphinx's model, or a Vosk model's
    phrase list). With them built side by side on two cores, that start takes the longer of the
    two, not their sum. Anything that goes wrong here is left for open_recognizer to meet and
    report.
    """
    try:
        build = _domain_build(options)
        if build is None:
            return _ready
        # fork: nothing to import again, and no threads exist yet in this process. The child
        # flushes its copy of the output buffers when it ends: empty them first, or pending
        # output would be printed twice.
        sys.stdout.flush()
        sys.stderr.flush()
        worker = multiprocessing.get_context("fork").Process(target=build, daemon=True)
        worker.start()
    except (NumbLegsError, OSError, ValueError):
        _LOGGER.debug("Could not prepare the recogniser in the background", exc_info=True)
        return _ready
    return lambda: worker.join(_PREPARE_WAIT_S)


def prepare_recognizer(options: EngineOptions) -> None:
    """Build, now, what open_recognizer(OPTIONS) would build at start-up (PocketSphinx's domain
    model, or the phrase list of a Vosk model), so that start does not wait for it. Raises a
    NumbLegsError the user can act on."""
    build = _domain_build(options)
    if build is not None:
        build()


def _domain_build(options: EngineOptions) -> Callable[[], object] | None:
    """What builds the recogniser's domain files for OPTIONS, or None when they are on disk
    already (or none are needed)."""
    if options.open_vocabulary or options.engine == "whisper":
        return None
    model = find_vosk_model(options.model, os.environ, project_models_dir(), user_models_dir())
    if choose_engine(options.engine, model).engine == "vosk":
        from .domain_tuning import vosk_grammar, vosk_grammar_cached

        if vosk_grammar_cached(options.extra_phrases):
            return None
        return partial(vosk_grammar, options.extra_phrases)
    from .domain_tuning import build_sphinx_domain, sphinx_domain_cached
    from .sphinx_engine import bundled_model

    if sphinx_domain_cached(options.extra_phrases):
        return None
    return partial(build_sphinx_domain, bundled_model()[1], options.extra_phrases)


def _ready() -> None:
    return None


def open_recognizer(options: EngineOptions) -> tuple[Recognizer, str]:
    """(recogniser, note to say once or ""). Raises a NumbLegsError the user can act on."""
    model = find_vosk_model(options.model, os.environ, project_models_dir(), user_models_dir())
    choice = choose_engine(options.engine, model)
    if choice.engine == "whisper":
        from .whisper_engine import WhisperRecognizer, load_prompt

        try:
            return WhisperRecognizer(models_dir=user_models_dir(),
                                     prompt="" if options.open_vocabulary else load_prompt()), ""
        except RecognizerError as err:
            # Missing or damaged weights: said once (the note), and the domain recogniser
            # carries on.
            _LOGGER.debug("Whisper unavailable: %s", err)
            fallback = EngineOptions(engine="sphinx", open_vocabulary=options.open_vocabulary,
                                     extra_phrases=options.extra_phrases)
            recognizer, _ = open_recognizer(fallback)
            return recognizer, f"{err} Until then I'm using PocketSphinx."
    if choice.engine == "vosk" and model is not None:
        from .domain_tuning import vosk_grammar
        from .vosk_engine import VoskRecognizer

        phrases = None if options.open_vocabulary else vosk_grammar(options.extra_phrases)
        return VoskRecognizer(model, phrases=phrases), choice.note
    from .sphinx_engine import SphinxRecognizer

    mode = "open" if options.open_vocabulary else "domain"
    return SphinxRecognizer(mode, options.extra_phrases), choice.note


def open_second_opinion(options: EngineOptions) -> tuple[SecondOpinion | None, str]:
    """(Whisper as a second opinion, loading in the background, or None; a note to say once).

    None when it was turned off, when Whisper is the only recogniser already, or when its weights
    are not installed (the note names the fix). Damaged weights are found while it loads in the
    background: SecondOpinion.failure() says so, and the listener says it once.
    """
    if not options.second_opinion or options.engine == "whisper" or options.open_vocabulary:
        return None, ""
    from .second_opinion import SecondOpinion
    from .whisper_engine import WhisperNotInstalled, WhisperRecognizer, find_model, load_prompt

    try:
        find_model(models_dir=user_models_dir())
    except WhisperNotInstalled as err:
        return None, f"{err} Until then I hear with one recogniser."
    except RecognizerError as err:
        return None, str(err)
    return SecondOpinion(lambda: WhisperRecognizer(models_dir=user_models_dir(),
                                                   prompt=load_prompt())), ""

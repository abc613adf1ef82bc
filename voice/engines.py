"""Open the speech engine the settings ask for: find a Vosk model, choose, load, tune."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from .models import find_vosk_model, project_models_dir, user_models_dir
from .recognizer import Recognizer, choose_engine

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineOptions:
    engine: str | None = None      # "vosk", "sphinx" or None (automatic)
    model: str | None = None       # --model PATH
    open_vocabulary: bool = False  # no domain grammar / language model
    extra_phrases: tuple[str, ...] = ()  # e.g. the wake phrase, so it can be recognised


def open_recognizer(options: EngineOptions) -> tuple[Recognizer, str]:
    """(recogniser, note to say once or ""). Raises a NumbLegsError the user can act on."""
    model = find_vosk_model(options.model, os.environ, project_models_dir(), user_models_dir())
    choice = choose_engine(options.engine, model)
    if choice.engine == "vosk" and model is not None:
        from .domain import vosk_grammar
        from .vosk_engine import VoskRecognizer

        phrases = None if options.open_vocabulary else vosk_grammar(options.extra_phrases)
        return VoskRecognizer(model, phrases=phrases), choice.note
    from .sphinx_engine import SphinxRecognizer

    mode = "open" if options.open_vocabulary else "domain"
    return SphinxRecognizer(mode, options.extra_phrases), choice.note

"""The service assembled from its settings: the shared skill parts loaded once, the recognisers
offered, the describe answer."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from knowledge.heap import give_back_freed_memory

from ..asr.engine_choice import EngineOptions, choose_engine, open_recognizer
from ..asr.installed_models import find_vosk_model, project_models_dir, user_models_dir
from ..asr.recognizer import Recognizer, RecognizerError
from .asr_handler import DOMAIN_MODEL, AsrModel, SpeechToText
from .conversations import DEFAULT_IDLE_S, DEFAULT_MAX_OPEN, Conversations
from .describe import OfferedModel, service_info
from .handling import Dialogue, SharedParts
from .texts import ServiceTexts, load_service_texts
from .wyoming_server import ServerOptions, Service

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceSettings:
    server: ServerOptions
    emergency_number: str
    idle_s: float = DEFAULT_IDLE_S
    max_conversations: int = DEFAULT_MAX_OPEN
    # The domain recogniser (engine, model) and whether Whisper is offered (second_opinion).
    engine: EngineOptions = EngineOptions()


def offered_models(engine: EngineOptions, texts: ServiceTexts) -> tuple[list[AsrModel], list[OfferedModel]]:
    """The recognisers to offer, the default first: the domain recogniser (Vosk with the domain
    grammar when a Vosk model is installed, else PocketSphinx with the domain language model),
    and Whisper where its weights are installed (first when --engine whisper asks for it).
    Nothing is loaded here. Raises a NumbLegsError for a Vosk model the person named that is
    broken."""
    domain_engine = None if engine.engine == "whisper" else engine.engine
    vosk_model = find_vosk_model(engine.model, os.environ, project_models_dir(), user_models_dir())
    domain_options = EngineOptions(engine=domain_engine, model=engine.model)
    maker = choose_engine(domain_engine, vosk_model).engine

    def domain() -> Recognizer:
        return open_recognizer(domain_options)[0]

    models = [(AsrModel(DOMAIN_MODEL, domain), OfferedModel(DOMAIN_MODEL, texts.domain_model, maker))]
    if engine.second_opinion or engine.engine == "whisper":
        from ..asr.whisper_engine import DEFAULT_MODEL, WhisperRecognizer, find_model, load_prompt

        try:
            find_model(models_dir=user_models_dir())
        except RecognizerError as err:
            _LOGGER.info("Whisper is not offered: %s", err)
        else:
            def whisper() -> Recognizer:
                return WhisperRecognizer(models_dir=user_models_dir(), prompt=load_prompt())

            offered = (AsrModel(DEFAULT_MODEL, whisper),
                       OfferedModel(DEFAULT_MODEL, texts.whisper_model, "whisper"))
            if engine.engine == "whisper":
                models.insert(0, offered)
            else:
                models.append(offered)
    return [model for model, _ in models], [shown for _, shown in models]


def build_service(settings: ServiceSettings) -> Service:
    """Everything the server needs, loaded before it listens: the first question is answered as
    fast as the hundredth."""
    texts = load_service_texts()
    parts = SharedParts.load(settings.emergency_number)
    # The matcher waits for its embedding model on the first match, the safety stage for its
    # backstop here: both are loaded before the first client comes.
    parts.matcher.match("why are my legs numb")
    parts.safety.has_backstop  # noqa: B018 - waits for the backstop to load; the value is not needed
    give_back_freed_memory()
    conversations = Conversations(parts.new_skill, settings.idle_s, settings.max_conversations)
    recognisers, shown = offered_models(settings.engine, texts)
    service = Service(Dialogue(parts, conversations, texts), SpeechToText(recognisers),
                      service_info(texts, shown).event(), settings.server)
    service.prepare_speech()
    return service

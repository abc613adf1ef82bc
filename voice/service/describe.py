"""What the service announces to a `describe`: a handle program (the skill, English) and an asr
program (the domain recogniser, and Whisper where it is installed)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata

from wyoming.info import AsrModel, AsrProgram, Attribution, HandleModel, HandleProgram, Info

from .texts import ServiceTexts

HANDLE_PROGRAM = "numb-legs"
ASR_PROGRAM = "numb-legs-asr"
LANGUAGES = ["en"]
# No project page exists to link to; the name is the attribution.
NUMB_LEGS = Attribution(name="numb-legs developers", url="")
# Who made each speech engine's model, by engine name (voice/asr/engine_choice.py).
ENGINE_MAKERS = {
    "sphinx": Attribution(name="CMU Sphinx (PocketSphinx en-us)", url="https://github.com/cmusphinx/pocketsphinx"),
    "vosk": Attribution(name="Alpha Cephei (Vosk)", url="https://alphacephei.com/vosk/"),
    "whisper": Attribution(name="OpenAI (Whisper)", url="https://github.com/openai/whisper"),
}


@dataclass(frozen=True)
class OfferedModel:
    """One recogniser in the asr program: its name, description and engine."""

    name: str
    description: str
    engine: str  # a key of ENGINE_MAKERS


def version() -> str | None:
    try:
        return metadata.version("numb-legs")
    except metadata.PackageNotFoundError:
        return None


def service_info(texts: ServiceTexts, models: list[OfferedModel]) -> Info:
    """The info event's content for the handle program and the recognisers in MODELS."""
    ours = version()
    handle = HandleProgram(
        name=HANDLE_PROGRAM, attribution=NUMB_LEGS, installed=True, description=texts.handle,
        version=ours,
        models=[HandleModel(name=HANDLE_PROGRAM, attribution=NUMB_LEGS, installed=True,
                            description=texts.handle, version=ours, languages=list(LANGUAGES))])
    asr = AsrProgram(
        name=ASR_PROGRAM, attribution=NUMB_LEGS, installed=True,
        description=models[0].description if models else "", version=ours,
        models=[AsrModel(name=model.name, attribution=ENGINE_MAKERS[model.engine], installed=True,
                         description=model.description, version=ours, languages=list(LANGUAGES))
                for model in models])
    return Info(asr=[asr], handle=[handle])

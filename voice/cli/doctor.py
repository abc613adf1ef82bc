"""`numb-legs doctor`: check each part, say what works and how to fix what does not."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from intents.names import IntentName
from knowledge.errors import NumbLegsError

from .exit_codes import EXIT_BAD_INPUT, EXIT_OK

_LOGGER = logging.getLogger(__name__)

LISTEN_S = 1.5
SILENT_DBFS = -85.0  # quieter than any live microphone's own noise: muted or disconnected


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        head = f"{'OK' if self.ok else 'Problem'}: {self.name}: {self.detail}"
        return head + (f" Fix: {self.fix}" if self.fix else "")


def _attempt(name: str, probe: Callable[[], Check]) -> Check:
    try:
        return probe()
    except NumbLegsError as err:
        return Check(name, False, str(err))
    except Exception as err:  # noqa: BLE001 - the doctor reports, it never crashes
        _LOGGER.debug("Check %s failed", name, exc_info=True)
        return Check(name, False, f"{err.__class__.__name__}: {err}")


def check_data() -> Check:
    from intents.meaning import default_matcher
    from knowledge.loader import load_knowledge

    from ..dialogue.responses import load_responses

    kb = load_knowledge()
    load_responses()
    default_matcher()
    return Check("knowledge and settings", True,
                 f"{len(kb.causes)} causes and {len(kb.red_flags)} red flags loaded.")


def check_microphone(device: str | None) -> Check:
    from ..audio.microphone import Microphone, has_microphone

    name = "microphone"
    if not has_microphone(device):
        return Check(name, False, "no microphone was found.",
                     "connect one, or pick one with --input-device (see numb-legs devices).")
    mic = Microphone(device)
    samples: list[bytes] = []
    deadline = time.monotonic() + LISTEN_S
    for chunk in mic.chunks():
        samples.append(chunk)
        if time.monotonic() > deadline:
            break
    mic.close()
    audio = np.frombuffer(b"".join(samples), dtype="<i2").astype(np.float64)
    if audio.size == 0:
        return Check(name, False, f"{mic.name} sent no sound.", "check the cable and try again.")
    level = 10 * np.log10(max(float(np.mean(audio ** 2)), 1e-12) / 32768.0 ** 2)
    if level < SILENT_DBFS:
        return Check(name, False, f"{mic.name} hears only silence ({level:.0f} dBFS).",
                     "unmute it or raise its level (alsamixer), or pick another with "
                     "--input-device.")
    return Check(name, True, f"{mic.name} hears sound ({level:.0f} dBFS).")


def check_recognizer(options) -> Check:
    from ..asr.engine_choice import open_recognizer

    start = time.perf_counter()
    recognizer, note = open_recognizer(options)
    took = time.perf_counter() - start
    detail = f"{recognizer.name} ({recognizer.mode} mode) loaded in {took:.1f} s."
    return Check("speech recognition", True, detail + (f" {note}" if note else ""))


# Plain words: the check is whether the recogniser works at all, not how well it knows the
# domain (tiny.en hears espeak-ng's "my legs are numb" as "my legs warmed up").
TEST_SENTENCE = "hello, can you hear me"


def check_whisper() -> Check:
    """The second recogniser: its weights are there and whole, it loads, and it hears a
    sentence the synthesiser says."""
    from rapidfuzz import fuzz

    from intents.normalize import normalize

    from ..asr.installed_models import user_models_dir
    from ..asr.recognizer import SAMPLE_RATE, transcribe_bytes
    from ..asr.whisper_engine import WhisperNotInstalled, WhisperRecognizer, load_prompt
    from ..audio.pcm import to_int16
    from ..audio.resample import resample
    from ..tts.synthesizer import Synthesizer

    name = "second recogniser (Whisper)"
    start = time.perf_counter()
    try:
        recognizer = WhisperRecognizer(models_dir=user_models_dir(), prompt=load_prompt())
    except WhisperNotInstalled as err:
        # Optional while it is not combined with the domain recogniser: not a problem.
        return Check(name, True, f"not installed (optional). {err}")
    took = time.perf_counter() - start
    audio = Synthesizer().synthesize(TEST_SENTENCE)
    pcm = to_int16(resample(audio.samples.astype(np.float64), audio.rate, SAMPLE_RATE)).tobytes()
    heard = transcribe_bytes(recognizer, pcm)
    if fuzz.ratio(normalize(heard), normalize(TEST_SENTENCE)) < 80:
        return Check(name, False, f"{recognizer.model_name} loaded in {took:.1f} s but heard "
                     f"\"{TEST_SENTENCE}\" as \"{heard}\".",
                     f"reinstall it: {recognizer.install_command}")
    return Check(name, True, f"{recognizer.model_name} loaded in {took:.1f} s and heard "
                 f"\"{heard}\".")


def check_speech(voice) -> Check:
    from ..tts.synthesizer import Synthesizer

    name = "text to speech"
    audio = Synthesizer().synthesize("Testing.")
    if audio.samples.size == 0 or not np.any(audio.samples):
        return Check(name, False, "espeak-ng made no sound.", "sudo apt-get install espeak-ng")
    if not voice.speaker.available:
        return Check(name, False, f"speech works, but there is no sound output: {voice.speaker.reason}",
                     "connect speakers or headphones, or pick a device with --output-device.")
    return Check(name, True, "espeak-ng speaks and a sound output was found.")


def check_saved_settings(notes: Sequence[str]) -> Check:
    """The settings file: NOTES say what of it could not be used (empty when all could)."""
    from ..runtime.settings import RESET_HINT, config_path

    name = "saved settings"
    if not notes:
        return Check(name, True, f"{config_path()} is usable (or absent: the defaults apply).")
    detail = " ".join(note.removesuffix(RESET_HINT).strip() for note in notes)
    return Check(name, False, detail, f"edit {config_path()}, or run numb-legs settings --reset "
                 "to go back to the defaults.")


def check_voice_activity() -> Check:
    """The voice activity model loads, and hears the synthesiser's voice as speech and
    silence as none."""
    from ..asr.recognizer import SAMPLE_RATE
    from ..audio.pcm import to_int16
    from ..audio.resample import resample
    from ..audio.voice_activity import FRAME_BYTES, REINSTALL, load_voice_activity
    from ..tts.synthesizer import Synthesizer

    model = load_voice_activity()
    audio = Synthesizer().synthesize(TEST_SENTENCE)
    pcm = to_int16(resample(audio.samples.astype(np.float64), audio.rate, SAMPLE_RATE)).tobytes()
    spoken = max(model.probability(pcm[i:i + FRAME_BYTES])
                 for i in range(0, len(pcm) - FRAME_BYTES + 1, FRAME_BYTES))
    model.reset()
    quiet = max(model.probability(bytes(FRAME_BYTES)) for _ in range(8))
    if spoken < 0.5 or quiet >= 0.5:
        return Check("voice activity", False, f"Silero VAD loaded but gave speech {spoken:.2f} "
                     f"and silence {quiet:.2f}.", REINSTALL)
    return Check("voice activity", True, f"Silero VAD loaded; it hears speech ({spoken:.2f}) "
                 f"and silence ({quiet:.2f}).")


def run_doctor(voice, args, engine_options, notes: Sequence[str] = ()) -> int:
    checks = [
        _attempt("knowledge and settings", check_data),
        _attempt("saved settings", lambda: check_saved_settings(notes)),
        _attempt("text to speech", lambda: check_speech(voice)),
        _attempt("microphone", lambda: check_microphone(args.input_device)),
        _attempt("speech recognition", lambda: check_recognizer(engine_options)),
        _attempt("second recogniser (Whisper)", check_whisper),
        _attempt("voice activity", check_voice_activity),
    ]
    for check in checks:
        voice.print(check.line())
    problems = [c for c in checks if not c.ok]
    if problems:
        summary = (f"{len(problems)} of {len(checks)} checks found a problem: "
                   + ", ".join(c.name for c in problems) + ". The fixes are on the screen.")
    else:
        summary = "All checks passed. numb-legs is ready."
    from ..dialogue.skill import Reply

    voice.deliver(Reply(summary, IntentName.HELP), wait=True)
    return EXIT_BAD_INPUT if problems else EXIT_OK

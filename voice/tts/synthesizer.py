"""Text to speech: pyttsx3 (espeak-ng) rendered into memory, never played by the engine itself."""

from __future__ import annotations

import atexit
import contextlib
import io
import logging
import os
import re
import sys
import tempfile
import threading
import time
import wave
from typing import Any

import numpy as np

from knowledge.errors import NumbLegsError

from ..audio.pcm import Audio
from .spellings import respell

_LOGGER = logging.getLogger(__name__)

MIN_RATE = 80
MAX_RATE = 400
DEFAULT_RATE = 175  # espeak-ng's own default, in words per minute
DEFAULT_VOLUME = 1.0
INSTALL_HINT = "Install espeak-ng (sudo apt-get install espeak-ng)."
# How long queued espeak commands may take to drain before we call the engine stuck.
_IDLE_TIMEOUT_S = 2.0
_VOICES_IN_ERROR = 8
_ESPEAK_RATE = 22050  # what the espeak driver writes; used for empty audio

# espeak-ng is one global synthesiser per process (one voice, one rate, one output callback), so
# the engine, its settings and every synthesis are shared and serialised process-wide, whatever
# the number of Synthesizer objects.
_ENGINE_LOCK = threading.RLock()
_ENGINE: Any = None
_DEFAULT_VOICE: str | None = None


class SpeechError(NumbLegsError):
    """Text to speech failed or was asked for something it cannot do."""


class VoiceNotFoundError(SpeechError):
    """The configured voice does not exist; a setting to fix, not missing software."""


# A number to dial is said digit by digit ("call nine nine nine"), never as a quantity ("nine
# hundred and ninety-nine"), which a frightened listener might dial wrong.
_DIAL_NUMBER = re.compile(r"\b(call|dial|ring|phone)(\s+)([0-9]{2,6})\b", re.IGNORECASE)
# espeak-ng reads "8:05" as "eight zero five"; people say "eight oh five".
_CLOCK_OH = re.compile(r"\b([0-9]{1,2}):0([0-9])\b")
# "on 3 November" is read "on three November"; people say "on the third of November".
_DAY_MONTH = re.compile(r"\b([0-9]{1,2}) (January|February|March|April|May|June|July|August|"
                        r"September|October|November|December)\b")


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def speakable(text: str) -> str:
    """TEXT as it should be spoken: hard words in the synthesiser's spelling (one table,
    voice/data/pronunciations.toml), numbers to dial split into digits, times and dates as
    people say them. Printed text never goes through here."""
    text = respell(text)
    text = _DIAL_NUMBER.sub(lambda m: f"{m.group(1)}{m.group(2)}{' '.join(m.group(3))}", text)
    text = _CLOCK_OH.sub(r"\1 oh \2", text)
    return _DAY_MONTH.sub(lambda m: f"the {_ordinal(int(m.group(1)))} of {m.group(2)}", text)


def _unavailable(detail: object) -> SpeechError:
    return SpeechError(f"Text to speech is not available: {detail}. {INSTALL_HINT}")


def _engine() -> Any:
    """The process's one pyttsx3 engine, created on first use (call with _ENGINE_LOCK held)."""
    global _ENGINE, _DEFAULT_VOICE
    if _ENGINE is not None:
        return _ENGINE
    try:
        import pyttsx3

        engine = pyttsx3.init()
        _DEFAULT_VOICE = engine.getProperty("voice")
        # pyttsx3 queues commands until the first run loop and only then runs them, right before
        # ending that loop (possibly before synthesis finishes); one empty run makes every later
        # command run at once, in order.
        _wait_until_idle()
        with _quiet_stdout():
            engine.runAndWait()
    except SpeechError:
        raise
    except Exception as err:  # ImportError, OSError, RuntimeError: all mean "no usable espeak"
        raise _unavailable(err) from err
    # pyttsx3 caches engines in a weak dictionary; holding it here keeps the espeak driver (which
    # can be initialised once per process) from being torn down and rebuilt.
    _ENGINE = engine
    atexit.register(_release_engine)
    return engine


def _release_engine() -> None:
    """At exit, drop the engine while every module is whole, so pyttsx3 tears its driver down.

    Left to the interpreter's shutdown, pyttsx3's DriverProxy.__del__ can run after that module's
    globals are cleared, and prints "Exception ignored ... 'NoneType' object has no attribute
    'suppress'" (seen at the end of the test suite when every module had been imported first).
    """
    global _ENGINE
    if _ENGINE_LOCK.acquire(blocking=False):  # a synthesis still running must not hold up exit
        try:
            _ENGINE = None
        finally:
            _ENGINE_LOCK.release()


@contextlib.contextmanager
def _quiet_stdout():
    """Swallow the espeak driver's "Audio saved to ..." prints, but pass on anything else.

    redirect_stdout swaps sys.stdout for the whole process, so text other threads print meanwhile
    lands here too; it is written back afterwards instead of being lost.
    """
    real = sys.stdout
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            yield
    finally:
        kept = [line for line in buffer.getvalue().splitlines(keepends=True)
                if not line.startswith("Audio saved to ")]
        if kept and real is not None:
            real.write("".join(kept))
            real.flush()


def _wait_until_idle() -> None:
    """Wait until espeak has run the commands queued so far (settings are applied asynchronously).

    pyttsx3's run loop cancels espeak when it still looks busy at the start, which throws away
    a rate or voice change that has not been applied yet: the change then silently does nothing.
    """
    try:
        from pyttsx3.drivers import _espeak
    except Exception:  # another driver (not Linux): nothing asynchronous to wait for
        return
    deadline = time.monotonic() + _IDLE_TIMEOUT_S
    while _espeak.IsPlaying():
        if time.monotonic() > deadline:
            raise SpeechError("Text to speech is not responding (espeak-ng stayed busy). "
                              "Restart numb-legs; if it keeps happening, reinstall espeak-ng.")
        time.sleep(0.001)


def _clamp_rate(rate: int) -> int:
    return max(MIN_RATE, min(MAX_RATE, int(rate)))


def _clamp_volume(volume: float) -> float:
    return max(0.0, min(1.0, float(volume)))


class Synthesizer:
    """Renders text to Audio with espeak-ng through pyttsx3; thread-safe."""

    def __init__(self, rate: int | None = None, volume: float | None = None,
                 voice: str | None = None) -> None:
        with _ENGINE_LOCK:
            _engine()
            self._voice_id = _DEFAULT_VOICE
        self._rate = _clamp_rate(DEFAULT_RATE if rate is None else rate)
        self._volume = _clamp_volume(DEFAULT_VOLUME if volume is None else volume)
        if voice is not None:
            self.voice = voice

    @property
    def rate(self) -> int:
        """Speaking rate in words per minute, kept within 80..400."""
        return self._rate

    @rate.setter
    def rate(self, value: int) -> None:
        self._rate = _clamp_rate(value)

    @property
    def volume(self) -> float:
        """Volume from 0.0 (silent) to 1.0 (full)."""
        return self._volume

    @volume.setter
    def volume(self, value: float) -> None:
        self._volume = _clamp_volume(value)

    @property
    def voice(self) -> str | None:
        """The espeak voice id in use (None: espeak's default)."""
        return self._voice_id

    @voice.setter
    def voice(self, spec: str) -> None:
        self._voice_id = find_voice(spec, self.voices())

    def voices(self) -> list[tuple[str, str]]:
        """The installed voices as (id, name) pairs."""
        with _ENGINE_LOCK:
            try:
                return [(str(v.id), str(v.name)) for v in _engine().getProperty("voices")]
            except SpeechError:
                raise
            except Exception as err:
                raise _unavailable(err) from err

    def synthesize(self, text: str) -> Audio:
        """Render TEXT at the current rate, volume and voice; empty text gives empty audio."""
        if not text.strip():
            return Audio(np.zeros(0, dtype=np.int16), _ESPEAK_RATE)
        text = speakable(text)
        fd, path = tempfile.mkstemp(prefix="numb-legs-", suffix=".wav")
        os.close(fd)
        try:
            with _ENGINE_LOCK:
                self._render(text, path)
            return _read_wav(path)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)

    def _render(self, text: str, path: str) -> None:
        engine = _engine()
        errors: list[BaseException] = []
        # pyttsx3 catches exceptions from its queued commands and only reports them as events.
        token = engine.connect("error", lambda name=None, exception=None: errors.append(exception))
        try:
            # Settings are global to espeak, so every call re-applies this object's own.
            if self._voice_id:
                engine.setProperty("voice", self._voice_id)
            engine.setProperty("rate", self._rate)
            engine.setProperty("volume", self._volume)
            _wait_until_idle()
            # One file per run: with several save_to_file calls only the last one is written.
            engine.save_to_file(text, path)
            with _quiet_stdout():
                engine.runAndWait()
        except SpeechError:
            raise
        except Exception as err:
            raise _unavailable(err) from err
        finally:
            engine.disconnect(token)
        if errors:
            raise _unavailable(errors[0])


def find_voice(spec: str, voices: list[tuple[str, str]]) -> str:
    """The id of the voice SPEC names: an id, the part after its '/', or part of a voice name.

    espeak-ng variants ride along: "en-us+klatt" is the en-us voice with the klatt variant.
    """
    base, plus, variant = spec.partition("+")
    if plus and variant.strip():
        return find_voice(base, voices) + "+" + variant.strip()
    wanted = spec.strip().casefold()
    for matches in (
        lambda vid, name: vid.casefold() == wanted,
        lambda vid, name: vid.casefold().rsplit("/", 1)[-1] == wanted,
        lambda vid, name: name.casefold() == wanted,
        lambda vid, name: bool(wanted) and wanted in name.casefold(),
    ):
        found = [vid for vid, name in voices if matches(vid, name)]
        if found:
            if len(found) > 1:
                _LOGGER.debug("Voice %r matches %s; using %s", spec, found, found[0])
            return found[0]
    english = [vid for vid, _ in voices if vid.rsplit("/", 1)[-1].startswith("en")]
    others = [vid for vid, _ in voices if vid not in english]
    examples = ", ".join((english + others)[:_VOICES_IN_ERROR])
    raise VoiceNotFoundError(
        f"There is no text-to-speech voice called {spec!r}. Some of the {len(voices)} installed "
        f"voices: {examples}. Give a voice id or part of a voice name, such as 'en-us'.")


def _read_wav(path: str) -> Audio:
    try:
        with wave.open(path, "rb") as wav:
            if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
                raise SpeechError(f"Text to speech produced unexpected audio "
                                  f"({wav.getnchannels()} channels, {8 * wav.getsampwidth()} bit).")
            rate = wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (EOFError, wave.Error, OSError) as err:
        # The driver writes the file only when synthesis finishes; no file means it never did.
        raise _unavailable(f"no audio came back ({err})") from err
    return Audio(np.frombuffer(frames, dtype="<i2").astype(np.int16), rate)

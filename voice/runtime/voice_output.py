"""The voice: every reply printed and spoken in the background, and spoken settings changed."""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from intents.names import IntentName

from ..audio.pcm import Audio
from ..dialogue.skill import Reply
from ..tts.synthesizer import VoiceNotFoundError
from .settings import RESET_HINT, Settings, save, voice_cycle
from .speaker import Speaker, open_speaker

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpeechOptions:
    enabled: bool = True
    rate: int | None = None
    volume: float | None = None
    voice: str | None = None
    device: str | None = None


class Voice:
    """Prints every reply and speaks it, in the background so typing can interrupt it."""

    def __init__(self, speaker: Speaker, out: TextIO | None = None,
                 settings: Settings | None = None, settings_path: Path | None = None,
                 saved: Settings | None = None, notes: tuple[str, ...] = ()) -> None:
        self.speaker = speaker
        # What could not be used as asked (a voice that is not installed), for the caller to
        # say once; the voice works with the default meanwhile.
        self.notes = notes
        self.settings = settings or Settings()  # in effect now (command-line options included)
        self.settings_path = settings_path
        # What the file holds: a voice command changes one value here, so options given for
        # one run (--voice, --rate) are never written down by accident.
        self._saved = saved or Settings()
        # Held once: pyttsx3 prints to sys.stdout while it works and we silence that.
        self.out = out or sys.stdout
        self._told_silent = False
        self._thread: threading.Thread | None = None

    def print(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def tell_once_if_silent(self) -> None:
        if not self.speaker.available and not self._told_silent:
            self._told_silent = True
            self.print(self.speaker.reason)

    def deliver(self, reply: Reply, *, wait: bool, lead: Audio | None = None,
                sounding: threading.Event | None = None) -> None:
        """Print REPLY and speak it (after the short sound LEAD, if any). SOUNDING is set once
        its first sound is handed to the output, or once it is clear there will be none."""
        if reply.stop_speaking:
            self.stop()
        if reply.speech_change and self.change(reply.speech_change) and reply.limit_text:
            reply = replace(reply, text=reply.limit_text)
        self.print(reply.text)
        self.tell_once_if_silent()
        if not self.speaker.available or not reply.text:
            if sounding is not None:
                sounding.set()
            return
        self.stop()
        self._thread = threading.Thread(target=self.speaker.say, args=(reply.text, lead, sounding),
                                        daemon=True)
        self._thread.start()
        if wait:
            self.wait()

    def play(self, audio) -> None:
        """A short sound (earcon), after any speech in progress."""
        if self.speaker.available:
            self.wait()
            self.speaker.play_sound(audio)

    def change(self, what: str) -> bool:
        """Slower, faster, louder, quieter or change_voice: at once, and remembered for next time.

        True when the setting was already at its limit (nothing changed).
        """
        if what == IntentName.CHANGE_VOICE:
            return self._change_voice()
        self.settings, at_limit = self.settings.changed(what)
        if self.speaker.available:
            self.speaker.rate = self.settings.rate
            self.speaker.volume = self.settings.volume
        if what in (IntentName.SLOWER, IntentName.FASTER):
            self._saved = replace(self._saved, rate=self.settings.rate)
        else:
            self._saved = replace(self._saved, volume=self.settings.volume)
        self._save()
        return at_limit

    def _change_voice(self) -> bool:
        """The next voice of the cycle that is installed here; True if none is."""
        cycle = voice_cycle()
        settings = self.settings
        for _ in cycle:
            settings, _ = settings.changed(IntentName.CHANGE_VOICE, cycle)
            if not self.speaker.available:
                break
            try:
                self.speaker.voice = settings.voice
                break
            except VoiceNotFoundError:
                _LOGGER.info("Voice %s is not installed; trying the next one", settings.voice)
        else:
            return True
        self.settings = settings
        self._saved = replace(self._saved, voice=settings.voice)
        self._save()
        return False

    def _save(self) -> None:
        if self.settings_path is not None:
            problem = save(self._saved, self.settings_path)
            if problem:
                self.print(problem)

    @property
    def speaking(self) -> bool:
        """Is a reply being spoken right now?"""
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self.speaker.stop()
            self._thread.join(timeout=2.0)

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()


def open_voice(options: SpeechOptions, out: TextIO | None = None,
               settings: Settings | None = None, settings_path: Path | None = None) -> Voice:
    """The voice, with saved SETTINGS where OPTIONS (the command line) say nothing."""
    saved = settings or Settings()
    current = Settings(rate=options.rate or saved.rate,
                       volume=options.volume if options.volume is not None else saved.volume,
                       voice=options.voice or saved.voice,
                       emergency_number=saved.emergency_number)
    notes: tuple[str, ...] = ()
    try:
        speaker = open_speaker(enabled=options.enabled, rate=current.rate, volume=current.volume,
                               voice=current.voice, device=options.device)
    except VoiceNotFoundError as err:
        # A voice that is not installed (saved, or typed with --voice) must not stop the answers:
        # the default voice says them, and the caller says once what to fix.
        _LOGGER.debug("Voice %r not found", current.voice, exc_info=True)
        notes = (_missing_voice(err, options.voice, current.voice, settings_path),)
        current = replace(current, voice=None)
        speaker = open_speaker(enabled=options.enabled, rate=current.rate, volume=current.volume,
                               voice=None, device=options.device)
    return Voice(speaker, out, current, settings_path, saved, notes)


def _missing_voice(err: VoiceNotFoundError, option: str | None, wanted: str | None,
                   settings_path: Path | None) -> str:
    if option:  # typed for this run: the error lists what is installed
        return f"{err} For now I'm using the default voice."
    where = f"your settings file {settings_path}" if settings_path else "your settings"
    return (f"The voice {wanted!r} saved in {where} is not installed, so I'm using the default "
            f"voice. {RESET_HINT}")

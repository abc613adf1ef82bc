"""Audio output through sounddevice (PortAudio), in small blocks so playback can be cut short."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from types import ModuleType
from typing import Any

import numpy as np

from .devices import AudioDeviceError, load_sounddevice, open_device
from .echo_cancel import PlaybackReference
from .pcm import Audio
from .resample import resample
from .steady_output import SteadyOutput

_LOGGER = logging.getLogger(__name__)

# Checked between blocks: stop() cuts playback within one block plus the device's latency.
BLOCK_SECONDS = 0.05


class AudioOutput:
    """One output device; plays Audio blocking, stoppable from another thread."""

    def __init__(self, device: int | str | None = None) -> None:
        self.device, self.name, self.default_rate = open_device(device, "output")
        self.last_stream_format: tuple[int, int] | None = None  # (rate, channels) last opened
        # Told what is played, for the echo canceller on the microphone (None: nobody listens).
        self.reference: PlaybackReference | None = None
        self._steady: SteadyOutput | None = None  # opened at the first sound once kept open
        _LOGGER.debug("Audio output: %s (%s), default %s Hz", self.device, self.name, self.default_rate)

    def keep_open(self, reference: PlaybackReference) -> None:
        """From the next sound on, one stream stays open for good, sounding silence between
        sounds, and REFERENCE is told all of it: the echo canceller then sees one unbroken
        stretch of time, whose delay it finds once (voice/audio/steady_output.py)."""
        self.reference = reference

    @property
    def dry_gaps(self) -> int:
        """Times the kept-open stream ran out in the middle of a sound (0 for other streams:
        the device reports those as underflows)."""
        return self._steady.dry_gaps if self._steady is not None else 0

    def close(self) -> None:
        """Close the kept-open stream, if any."""
        steady, self._steady = self._steady, None
        if steady is not None:
            steady.close()

    def play(self, audio: Audio, stop_event: threading.Event) -> bool:
        """Play AUDIO to the end (True) or until STOP_EVENT is set (False)."""
        return self.play_all([audio], stop_event)

    def play_all(self, chunks: Iterable[Audio], stop_event: threading.Event) -> bool:
        """Play CHUNKS back to back on one stream; True if all were played, False if stopped.

        CHUNKS may block between items (the next sentence being synthesised). One stream for
        all of them avoids a start-up gap per sentence, and ALSA's file plugin (used by the
        tests) truncates its file on every open.
        """
        sd = load_sounddevice()
        if self.reference is not None:  # kept open: one stream the echo canceller can follow
            return self._play_steady(sd, chunks, stop_event)
        stream: Any = None
        rate = channels = 0
        try:
            for audio in _sounding(chunks, stop_event):
                if stream is None:
                    rate, channels = self._stream_format(sd, audio.rate)
                    stream = sd.OutputStream(device=self.device, samplerate=rate,
                                             channels=channels, dtype="int16", latency="low")
                    stream.start()
                    self.last_stream_format = (rate, channels)
                if not self._write(stream, _frames(audio, rate, channels), rate, stop_event):
                    break
            if stream is None:
                return not stop_event.is_set()
            # What is written is not yet heard: wait out the buffer, still listening for stop.
            if stop_event.is_set() or stop_event.wait(float(stream.latency)):
                stream.abort()  # drops what is still buffered, unlike stop()
                return False
            stream.stop()
            return True
        except sd.PortAudioError as err:
            raise AudioDeviceError(f"Playing sound on {self.name!r} failed: {err}") from err
        finally:
            if stream is not None:
                stream.close(ignore_errors=True)

    def _play_steady(self, sd: ModuleType, chunks: Iterable[Audio],
                     stop_event: threading.Event) -> bool:
        """play_all on the stream kept open."""
        steady = self._steady
        try:
            for audio in _sounding(chunks, stop_event):
                if steady is None:
                    rate, channels = self._stream_format(sd, audio.rate)
                    steady = self._steady = SteadyOutput(sd, self.device, rate, channels,
                                                         self.reference)
                    self.last_stream_format = (rate, channels)
                steady.queue(_frames(audio, steady.rate, steady.channels))
            if steady is None:
                return not stop_event.is_set()
            steady.sound_ends()
            # Queued is not yet heard: wait until the device has it all, and then out its
            # buffer, still listening for stop.
            while steady.pending() and not stop_event.wait(BLOCK_SECONDS / 5):
                pass
            if stop_event.is_set() or stop_event.wait(steady.latency):
                steady.clear()
                return False
            return True
        except sd.PortAudioError as err:
            self.close()
            raise AudioDeviceError(f"Playing sound on {self.name!r} failed: {err}") from err

    def _write(self, stream: Any, frames: np.ndarray, rate: int,
               stop_event: threading.Event) -> bool:
        """Write FRAMES block by block; False as soon as STOP_EVENT is set."""
        block = max(1, int(rate * BLOCK_SECONDS))
        for start in range(0, len(frames), block):
            if stop_event.is_set():
                return False
            if stream.write(frames[start:start + block]):
                _LOGGER.debug("Output underflow on %s", self.name)
        return True

    def _stream_format(self, sd: ModuleType, rate: int) -> tuple[int, int]:
        """The first of (speech rate, device rate) x (mono, stereo) the device accepts."""
        refusals = []
        for candidate_rate in dict.fromkeys((rate, self.default_rate)):
            for channels in (1, 2):
                try:
                    sd.check_output_settings(device=self.device, samplerate=candidate_rate,
                                             channels=channels, dtype="int16")
                    return candidate_rate, channels
                except sd.PortAudioError as err:
                    refusals.append(f"{candidate_rate} Hz x {channels}: {err}")
        raise AudioDeviceError(f"The audio output device {self.name!r} accepts none of the "
                               f"formats tried ({'; '.join(refusals)}).")


def _sounding(chunks: Iterable[Audio], stop_event: threading.Event) -> Iterator[Audio]:
    """The CHUNKS with sound in them, until STOP_EVENT is set."""
    for audio in chunks:
        if stop_event.is_set():
            return
        if len(audio.samples):
            yield audio


def _frames(audio: Audio, rate: int, channels: int) -> np.ndarray:
    """AUDIO's samples at RATE as a (frames, CHANNELS) array, mono copied to every channel."""
    samples = resample(audio.samples, audio.rate, rate)
    return np.repeat(samples[:, np.newaxis], channels, axis=1)

"""Audio input: 16 kHz mono int16 blocks from a microphone (sounddevice) or from a WAV file."""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .devices import AudioDeviceError, find_input_device, load_sounddevice, open_device
from .echo_cancel import RATE as ECHO_RATE
from .echo_cancel import EchoCanceller
from .pcm import to_int16
from .resample import Resampler
from .wav import TARGET_RATE, read_wav

_LOGGER = logging.getLogger(__name__)

DEFAULT_BLOCK_MS = 30  # one endpointer frame
DEFAULT_QUEUE_S = 5.0  # audio held for a consumer that falls behind, then the oldest is dropped
DEFAULT_STALL_S = 2.0  # no audio for this long from a running stream: the device is gone
CLOSE_WAIT_S = 1.0  # for PortAudio to stop a stream before we leave it behind
_DROP_WARNING_S = 10.0  # at most one warning about dropped audio this often
DEVICE_HINT = "Pick another one with --input-device (numb-legs devices lists them)."


class AudioSource(Protocol):
    """Where speech comes from: blocks of 16 kHz mono little-endian int16 audio."""

    def chunks(self) -> Iterator[bytes]:
        """Blocks of audio until the source ends or is closed."""
        ...

    def close(self) -> None:
        """Stop; chunks() then ends. Safe to call from another thread, and more than once."""
        ...


def has_microphone(device: int | str | None = None) -> bool:
    """Whether DEVICE (None: the default input) exists; never raises.

    PortAudio 19.6 aborts the whole process at initialisation when ALSA lists no device at all
    (not even one without input); no Python code can catch that.
    """
    try:
        return find_input_device(device) is not None
    except Exception as err:  # noqa: BLE001 - a yes/no question; any failure means no
        _LOGGER.debug("No microphone: %s", err)
        return False


def choose_capture_format(accepts: Callable[[int, int], bool], rates: tuple[int, ...]
                          ) -> tuple[int, int] | None:
    """The first (rate, channels) of RATES x (mono, stereo) that ACCEPTS allows, or None."""
    for rate in dict.fromkeys(rates):
        for channels in (1, 2):
            if accepts(rate, channels):
                return rate, channels
    return None


class Microphone:
    """A recording device as an AudioSource, with pause() while the assistant speaks.

    The PortAudio callback only enqueues the raw blocks; conversion to 16 kHz mono happens in
    the thread iterating chunks(). The queue holds QUEUE_S seconds; beyond that the oldest block
    is dropped (counted in dropped_blocks) so a slow consumer hears the present, not the past.
    """

    def __init__(self, device: int | str | None = None, rate: int = TARGET_RATE,
                 block_ms: int = DEFAULT_BLOCK_MS, *, capture_rate: int | None = None,
                 queue_s: float = DEFAULT_QUEUE_S, stall_s: float = DEFAULT_STALL_S,
                 echo: EchoCanceller | None = None) -> None:
        """Find DEVICE and the format to open it with; chunks() then records at RATE.

        The device is opened at RATE if it accepts it, else at its default rate and resampled.
        CAPTURE_RATE forces the rate the device is opened at. ECHO takes what the speaker plays
        out of what is recorded (a loudspeaker in the room).
        """
        sd = load_sounddevice()
        index, self.name, default_rate = open_device(device, "input")
        self.device = index
        self.rate = rate

        def accepts(candidate: int, channels: int) -> bool:
            try:
                sd.check_input_settings(device=index, samplerate=candidate, channels=channels,
                                        dtype="int16")
                return True
            except sd.PortAudioError as err:
                _LOGGER.debug("%s refuses %s Hz x %s: %s", self.name, candidate, channels, err)
                return False

        chosen = choose_capture_format(accepts, (capture_rate,) if capture_rate
                                       else (rate, default_rate))
        if chosen is None:
            raise AudioDeviceError(f"The microphone {self.name!r} records none of the formats "
                                   f"tried (16-bit at {capture_rate or rate} or {default_rate} "
                                   f"Hz, mono or stereo). {DEVICE_HINT}")
        self.capture_rate, self.channels = chosen
        self.block_frames = max(1, self.capture_rate * block_ms // 1000)
        self.stall_s = stall_s
        self.echo = echo if rate == ECHO_RATE else None
        # When the block chunks() yielded last was captured (time.monotonic(), at its end): the
        # reader may be behind, and what was captured while the assistant spoke is its echo.
        self.last_arrived = 0.0
        self.dropped_blocks = 0  # written by the callback only
        self.overflows = 0
        self._queue: queue.Queue[Any] = queue.Queue(
            maxsize=max(2, round(queue_s * self.capture_rate / self.block_frames)))
        self._paused = threading.Event()
        self._closed = threading.Event()
        self._finished = threading.Event()
        self._generation = 0  # changed by pause() and resume(): older blocks are stale
        self._stream_id = 0  # changed by each open: a stream left behind must not interfere
        self._lock = threading.Lock()
        self._stream: Any = None
        _LOGGER.debug("Microphone %s (%s): %s Hz x %s, %s frames a block", index, self.name,
                      self.capture_rate, self.channels, self.block_frames)

    def chunks(self) -> Iterator[bytes]:
        """16 kHz mono int16 blocks until close(); AudioDeviceError if the device fails.

        After an AudioDeviceError, calling chunks() again reopens the device.
        """
        if self._closed.is_set():
            return
        self._open()
        resampler = self._resampler()
        generation = self._generation
        last_audio = time.monotonic()
        dropped, warned = 0, -_DROP_WARNING_S
        seen_dropped = self.dropped_blocks
        self._echo_gap()  # a new stream
        try:
            while not self._closed.is_set():
                if self._finished.is_set():
                    if self._closed.is_set():  # close() stopped the stream
                        break
                    self._close_stream(wait=0.0)
                    raise AudioDeviceError(f"The microphone {self.name!r} stopped delivering "
                                           "audio (was it unplugged?).")
                try:
                    item = self._queue.get(timeout=0.1)
                except queue.Empty:
                    item = None
                now = time.monotonic()
                if generation != self._generation:  # paused or resumed since the last block
                    generation, resampler, last_audio = self._generation, self._resampler(), now
                    self._echo_gap()
                if (item is None or item[:2] != (self._stream_id, generation)
                        or self._paused.is_set()):
                    if not self._paused.is_set() and now - last_audio > self.stall_s:
                        # A hung device can hang PortAudio's abort too: do not wait for it.
                        self._close_stream(wait=0.0)
                        raise AudioDeviceError(
                            f"The microphone {self.name!r} delivered no audio for "
                            f"{self.stall_s:g} seconds (was it unplugged?).")
                    continue
                last_audio = now
                _, _, data, status, arrived = item
                if status:
                    self.overflows += int(bool(status.input_overflow))
                    _LOGGER.debug("Microphone status: %s", status)
                    if status.input_overflow:  # samples were lost: the stream has a gap
                        self._echo_gap()
                if self.dropped_blocks != dropped and now - warned >= _DROP_WARNING_S:
                    _LOGGER.warning("Dropped %d blocks of microphone audio: processing fell "
                                    "behind.", self.dropped_blocks - dropped)
                    dropped, warned = self.dropped_blocks, now
                if self.dropped_blocks != seen_dropped:
                    seen_dropped = self.dropped_blocks
                    self._echo_gap()
                block = self._cancel_echo(self._convert(data, resampler), arrived)
                if block:
                    self.last_arrived = arrived
                    yield block
        finally:
            self._close_stream()

    def pause(self) -> None:
        """Drop what the microphone hears until resume() (the assistant is speaking)."""
        with self._lock:
            self._paused.set()
            self._generation += 1
        self._drain()

    def resume(self) -> None:
        """Listen again; nothing from before resume() is delivered."""
        with self._lock:
            self._generation += 1
            self._paused.clear()
        self._drain()

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def close(self) -> None:
        self._closed.set()
        self._close_stream()
        self._wake()

    def _open(self) -> None:
        sd = load_sounddevice()
        self._close_stream()
        self._drain()
        self._finished.clear()
        self._stream_id += 1
        try:
            stream = sd.RawInputStream(
                device=self.device, samplerate=self.capture_rate, channels=self.channels,
                dtype="int16", blocksize=self.block_frames,
                callback=functools.partial(self._callback, self._stream_id),
                finished_callback=functools.partial(self._on_finished, self._stream_id))
            stream.start()
        except sd.PortAudioError as err:
            raise AudioDeviceError(f"Could not start recording from {self.name!r}: {err}. "
                                   f"{DEVICE_HINT}") from err
        with self._lock:
            self._stream = stream

    def _callback(self, stream_id: int, indata: Any, frames: int, time_info: Any,
                  status: Any) -> None:
        # Runs on PortAudio's thread: enqueue and return; nothing that blocks, logs or decodes.
        if self._paused.is_set():
            return
        item = (stream_id, self._generation, bytes(indata), status, time.monotonic())
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                pass
            self.dropped_blocks += 1
            try:
                self._queue.put_nowait(item)
            except queue.Full:
                pass

    def _on_finished(self, stream_id: int) -> None:
        # PortAudio's thread again: the stream stopped, by close() or because the device failed.
        if stream_id == self._stream_id:
            self._finished.set()
            self._wake()

    def _wake(self) -> None:
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass

    def _drain(self) -> None:
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass

    def _close_stream(self, wait: float = CLOSE_WAIT_S) -> None:
        """Stop and close the stream, waiting at most WAIT seconds for PortAudio to do it."""
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is None:
            return

        def stop() -> None:
            stream.abort(ignore_errors=True)
            stream.close(ignore_errors=True)

        # Pa_AbortStream waits for the callback thread, which waits for the device.
        closer = threading.Thread(target=stop, name="numb-legs-mic-close", daemon=True)
        closer.start()
        closer.join(wait)
        if closer.is_alive() and wait > 0:
            _LOGGER.warning("The microphone %r did not stop within %g s; leaving it behind.",
                            self.name, wait)

    def _echo_gap(self) -> None:
        if self.echo is not None:
            self.echo.gap()

    def _cancel_echo(self, block: bytes, arrived: float) -> bytes:
        """BLOCK with the speaker's echo taken out, when there is a canceller."""
        if self.echo is None or not block:
            return block
        try:
            return self.echo.process(block, arrived)
        except Exception:  # noqa: BLE001 - a fault in it must not stop the microphone
            # Hearing goes on with the echo in: barge-in is then as without a canceller.
            _LOGGER.warning("Echo cancelling stopped working, so numb-legs hears its own "
                            "voice again while it speaks. If it interrupts itself, start it "
                            "with --no-barge-in.", exc_info=True)
            self.echo = None
            return block

    def _resampler(self) -> Resampler | None:
        return Resampler(self.capture_rate, self.rate) if self.capture_rate != self.rate else None

    def _convert(self, data: bytes, resampler: Resampler | None) -> bytes:
        """One captured block as mono int16 bytes at self.rate."""
        if self.channels == 1 and resampler is None:
            return data
        samples = np.frombuffer(data, dtype="<i2").reshape(-1, self.channels)
        mono = samples.mean(axis=1) if self.channels > 1 else samples[:, 0]
        if resampler is not None:
            mono = resampler.process(mono)
        return to_int16(mono).astype("<i2").tobytes()


class WavSource:
    """A WAV file as an AudioSource (16 kHz mono blocks), for transcribing files and for tests."""

    def __init__(self, path: str | Path, block_ms: int = DEFAULT_BLOCK_MS) -> None:
        self.path = Path(path)
        self.audio = read_wav(self.path)  # errors now, not halfway through
        self.block_bytes = 2 * max(1, TARGET_RATE * block_ms // 1000)
        self.rate = TARGET_RATE
        self._closed = threading.Event()

    def chunks(self) -> Iterator[bytes]:
        data = self.audio.to_bytes()
        for start in range(0, len(data), self.block_bytes):
            if self._closed.is_set():
                return
            yield data[start:start + self.block_bytes]

    def close(self) -> None:
        self._closed.set()

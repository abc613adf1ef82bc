"""Test helpers: an ALSA virtual microphone that replays a raw file (and an optional speaker).

What was found on Debian 12 (alsa-lib 1.2.8, PortAudio 19.6.0), besides tests/audio_env.py:

* The `file` plugin's `infile` feeds capture: samples arrive bit-exact, raw S16_LE at whatever
  rate and channel count the application opened the stream with (the `null` slave accepts any,
  without conversion), so write the file at the rate the stream is opened at.
* No pacing: a regular infile is read as fast as PortAudio asks, and PortAudio's callback
  thread asks ~200,000 times a second; at the end of the file the last buffer repeats forever.
  A bounded queue in front of a slower consumer then drops blocks within milliseconds.
* Real-time pacing: make the infile a FIFO and write it in units of exactly one stream period
  (the stream's blocksize in bytes) at the audio's own speed. The plugin read()s one period at
  a time; a partial read (unit not equal to the period) fills the rest of the period with the
  previous buffer's samples, so other unit sizes corrupt the audio. When the writer stops
  writing but keeps the FIFO open, the callbacks stop: that is how a stalled device looks.
  The FIFO must be open (O_RDWR) before `import sounddevice`, since PortAudio opens every PCM
  while listing devices and opening a FIFO for reading blocks until a writer exists.
* Each stream open re-opens the infile: a regular file starts again from its beginning.
* A configuration without any PCM but `null` (or an empty one) makes PortAudio 19.6 abort the
  whole process (assertion `devIdx < numDeviceNames` in BuildDeviceList) on `import
  sounddevice`; a device that cannot capture must therefore be a PCM that fails to open for
  capture: an `asym` with only a playback side, as `speaker_only_config` writes.
* Plugin PCMs claim 128 input and 128 output channels; names defined at the top level are
  listed as devices (by name), inline ones are not.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

MIC_NAME = "numb_legs_mic"
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)  # Python 3.10+ on Linux names it

_MICROPHONE = """\
# Written by tests/audio_in_env.py: the default capture device replays a raw file.
pcm.!default {{
    type asym
    capture.pcm "{mic}"
    playback.pcm {playback}
}}
"""

_INPUT = """\
pcm.{name} {{
    type file
    slave.pcm {{ type null }}
    file "/dev/null"
    infile "{infile}"
    format "raw"
}}
"""

_SPEAKER = """{{
        type file
        slave.pcm {{ type null }}
        file "{raw}"
        format "raw"
    }}"""

_SPEAKER_ONLY = """\
# Written by tests/audio_in_env.py: a speaker (recording into a raw file) and no microphone.
pcm.!default {{
    type asym
    playback.pcm {speaker}
}}
"""


def _quoted(path: Path) -> Path:
    if '"' in str(path):
        raise ValueError(f"ALSA configuration cannot quote the path {path}")
    return path


def _speaker(playback_raw: Path | None) -> str:
    return _SPEAKER.format(raw=_quoted(playback_raw)) if playback_raw else "{ type null }"


def write_capture_config(directory: Path, infile: Path, playback_raw: Path | None = None,
                         more_inputs: Mapping[str, Path] | None = None) -> Path:
    """Write an ALSA configuration; return its path.

    The default input (also listed as MIC_NAME) replays INFILE; the default output records into
    PLAYBACK_RAW (None: discards). MORE_INPUTS adds input devices: name -> infile.
    """
    config = directory / "asound-mic.conf"
    text = _MICROPHONE.format(mic=MIC_NAME, playback=_speaker(playback_raw))
    for name, path in {MIC_NAME: infile, **(more_inputs or {})}.items():
        text += _INPUT.format(name=name, infile=_quoted(path))
    config.write_text(text, encoding="utf-8")
    return config


def speaker_only_config(directory: Path, playback_raw: Path | None = None) -> Path:
    """An ALSA configuration with a default output device and no input device at all."""
    config = directory / "asound-nomic.conf"
    config.write_text(_SPEAKER_ONLY.format(speaker=_speaker(playback_raw)), encoding="utf-8")
    return config


class PacedFifo:
    """A FIFO the ALSA file plugin reads as a microphone, written at real-time speed.

    Create it (in the process that records) before importing sounddevice.
    """

    def __init__(self, path: Path, pipe_bytes: int = 4096) -> None:
        self.path = path
        os.mkfifo(path)
        # O_RDWR: opening never blocks, and readers never see end of file while we live.
        self._fd = os.open(path, os.O_RDWR)
        fcntl.fcntl(self._fd, _F_SETPIPE_SZ, pipe_bytes)
        self._thread: threading.Thread | None = None
        self.stop = threading.Event()

    def play(self, data: bytes, unit_bytes: int, bytes_per_second: float) -> None:
        """Write DATA in UNIT_BYTES pieces (one stream period) at BYTES_PER_SECOND, in a thread."""
        if len(data) % unit_bytes:
            data += bytes(unit_bytes - len(data) % unit_bytes)

        self.unit_bytes = unit_bytes
        self.written_at: list[float] = []  # when each unit went into the pipe (for latencies)

        def write() -> None:
            due = time.monotonic()
            for start in range(0, len(data), unit_bytes):
                if self.stop.is_set():
                    return
                os.write(self._fd, data[start:start + unit_bytes])
                now = time.monotonic()
                self.written_at.append(now)
                # A write that blocked (nobody reading yet) restarts the clock instead of
                # bursting to catch up: a microphone never delivers faster than real time.
                due = max(due + unit_bytes / bytes_per_second, now)
                time.sleep(max(0.0, due - time.monotonic()))

        self._thread = threading.Thread(target=write, daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def close(self) -> None:
        self.stop.set()
        # Once the process stops reading, the writer can sit in a write on a full pipe until
        # its timeout. Empty the pipe from our own end so that write returns and the thread
        # sees the stop at once (measured: a stopped listener cost 5 s here without it).
        os.set_blocking(self._fd, False)
        deadline = time.monotonic() + 5.0
        while self._thread is not None and self._thread.is_alive() and time.monotonic() < deadline:
            try:
                os.read(self._fd, 1 << 16)
            except BlockingIOError:
                pass
            self._thread.join(0.02)
        os.close(self._fd)


class Clip:
    """Audio handed to a LiveMic; `ended_at` is when its last byte went into the pipe."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.ended_at: float | None = None
        self.done = threading.Event()


class LiveMic(PacedFifo):
    """A PacedFifo that plays silence until told what to say, so a test can talk in turns:
    wait for the assistant's answer, then speak again, as a person would."""

    def start(self, unit_bytes: int, bytes_per_second: float,
              mix: Callable[[bytes, float], bytes] | None = None) -> None:
        """Write silence or what say() was given, one unit at a time in real time; MIX adds
        the room's sound to each unit (a loudspeaker's echo: tests/listen_harness.py)."""
        self._clips: list[Clip] = []
        self._lock = threading.Lock()
        silence = bytes(unit_bytes)

        def write() -> None:
            due = time.monotonic()
            clip, offset = None, 0
            while not self.stop.is_set():
                if clip is None:
                    with self._lock:
                        clip = self._clips.pop(0) if self._clips else None
                    offset = 0
                if clip is not None:
                    unit = clip.data[offset:offset + unit_bytes]
                    unit += bytes(unit_bytes - len(unit))
                    offset += unit_bytes
                else:
                    unit = silence
                if mix is not None:
                    unit = mix(unit, due)
                os.write(self._fd, unit)
                now = time.monotonic()
                if clip is not None and offset >= len(clip.data):
                    clip.ended_at = now
                    clip.done.set()
                    clip = None
                # With a room's sound mixed in, the microphone keeps its sample clock, as a
                # device does: a unit written late (the reader was busy) still carries the room
                # of its own moment, and the next ones catch up. Otherwise a late unit moves the
                # schedule on.
                due = due + unit_bytes / bytes_per_second if mix is not None \
                    else max(due + unit_bytes / bytes_per_second, now)
                time.sleep(max(0.0, due - time.monotonic()))

        self._thread = threading.Thread(target=write, daemon=True)
        self._thread.start()

    def say(self, data: bytes) -> Clip:
        """Queue DATA (raw audio at the stream's format) to be heard next."""
        clip = Clip(data)
        with self._lock:
            self._clips.append(clip)
        return clip

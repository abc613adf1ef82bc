"""Run the real `numb-legs listen` process between a virtual microphone and a virtual speaker."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from tests.audio_in_env import _F_SETPIPE_SZ, LiveMic, PacedFifo, write_capture_config

ROOT = Path(__file__).resolve().parent.parent
MIC_RATE = 16000
MIC_UNIT = 2 * MIC_RATE * 30 // 1000  # one 30 ms block: the Microphone's stream period


class SpeakerFifo:
    """The speaker's end: a FIFO drained by a thread (in real time when PACED)."""

    def __init__(self, path: Path, paced_bytes_per_second: float | None = None) -> None:
        self.path = path
        os.mkfifo(path)
        self._fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        if paced_bytes_per_second:
            # A pipe holding 46 ms of sound, like a real device's buffer: what was written is
            # "heard" (read) that soon, so the moment speech stops can be measured here.
            fcntl.fcntl(self._fd, _F_SETPIPE_SZ, 4096)
        self.sound_blocks: list[tuple[float, bool]] = []  # (when read, any sound in it)
        self.data = bytearray()
        self.first_sound_at: float | None = None
        self.last_write_at = 0.0
        self.bursts: list[float] = []  # when sound began after a second or more of none
        self._last_sound = 0.0
        self._stop = threading.Event()
        self._pace = paced_bytes_per_second
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        start = time.monotonic()
        while not self._stop.is_set():
            try:
                block = os.read(self._fd, 1024 if self._pace else 4096)
            except BlockingIOError:
                time.sleep(0.002)
                continue
            now = time.monotonic()
            sound = bool(np.any(np.abs(np.frombuffer(block[: len(block) // 2 * 2],
                                                     dtype="<i2")) > 64))
            self.sound_blocks.append((now, sound))
            if sound:
                if self.first_sound_at is None:
                    self.first_sound_at = now
                if now - self._last_sound > 1.0:
                    self.bursts.append(now)
                self._last_sound = now
            self.data += block
            self.last_write_at = now
            if self._pace:
                due = start + len(self.data) / self._pace
                time.sleep(max(0.0, due - time.monotonic()))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        os.close(self._fd)


def _hear_ctrl_c() -> None:
    """In the child, before it starts: take SIGINT as Ctrl-C again.

    A job a shell starts in the background (`make bench &`, some CI runners) ignores SIGINT,
    and so would every process it starts: stop() would then wait its 10 s and kill instead.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class ListenRun:
    """A `numb-legs listen` process hearing AUDIO (16 kHz int16) through an ALSA file device."""

    def __init__(self, tmp: Path, audio: bytes | None, args: list[str], *,
                 pace_speaker: bool = False, trailing_silence_s: float = 30.0,
                 cache_dir: Path | None = None) -> None:
        """AUDIO is played at once, then silence; None: a LiveMic the test speaks into.

        CACHE_DIR: where the process keeps its matcher and language model; by default the one
        in the environment (the test session's shared cache), else a folder in TMP."""
        self.mic = PacedFifo(tmp / "mic.fifo") if audio is not None else LiveMic(tmp / "mic.fifo")
        self.speaker = SpeakerFifo(tmp / "speaker.fifo", 44100.0 if pace_speaker else None)
        config = write_capture_config(tmp, self.mic.path, self.speaker.path)
        env = dict(os.environ, ALSA_CONFIG_PATH=str(config), PYTHONUNBUFFERED="1",
                   PYTHONPATH=str(ROOT))
        if cache_dir is not None or not env.get("NUMB_LEGS_CACHE_DIR"):
            env["NUMB_LEGS_CACHE_DIR"] = str(cache_dir or tmp / "cache")
        self.stdout_lines: list[str] = []
        self.proc = subprocess.Popen([sys.executable, "-m", "voice", *args], cwd=ROOT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     preexec_fn=_hear_ctrl_c)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.started_at = time.monotonic()
        if isinstance(self.mic, LiveMic):
            self.mic.start(MIC_UNIT, 2 * MIC_RATE)
        else:
            silence = bytes(int(trailing_silence_s * MIC_RATE) * 2)
            self.mic.play((audio or b"") + silence, MIC_UNIT, 2 * MIC_RATE)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.stdout_lines.append(line.rstrip("\n"))

    @property
    def stdout(self) -> str:
        return "\n".join(self.stdout_lines)

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.stdout:
                return True
            if self.proc.poll() is not None:
                return text in self.stdout
            time.sleep(0.05)
        return False

    def wait_count(self, text: str, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if self.stdout.count(text) >= count:
                return True
            time.sleep(0.05)
        return self.stdout.count(text) >= count

    def wait_speaker_quiet(self, quiet_s: float = 1.5, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.speaker.data and time.monotonic() - self.speaker.last_write_at > quiet_s:
                return
            time.sleep(0.05)

    def say(self, audio: bytes):
        """Speak AUDIO into the live microphone; returns its Clip (when it ended)."""
        if not isinstance(self.mic, LiveMic):
            raise TypeError("say() needs a ListenRun made with audio=None")
        return self.mic.say(audio)

    def first_sound_after(self, start: float, timeout: float = 10.0) -> float | None:
        """When the speaker first carried sound after START (waiting up to TIMEOUT), or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            times = [when for when, sound in self.speaker.sound_blocks if sound and when > start]
            if times:
                return times[0]
            time.sleep(0.01)
        return None

    def last_sound_between(self, start: float, end: float) -> float | None:
        """When the speaker last carried sound in [START, END] (block read times), or None."""
        times = [when for when, sound in self.speaker.sound_blocks if sound and start <= when <= end]
        return max(times) if times else None

    def sound_seconds_between(self, start: float, end: float) -> float:
        """How long the speaker carried sound in [START, END], roughly (4 kB blocks)."""
        blocks = [1 for when, sound in self.speaker.sound_blocks if sound and start <= when <= end]
        return len(blocks) * 1024 / (self.speaker._pace or 44100.0)

    def stop(self) -> str:
        """Interrupt the process as Ctrl-C would; return its stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.mic.close()
        self.speaker.close()
        assert self.proc.stderr is not None
        return self.proc.stderr.read()

    def peak_rss_kb(self) -> int:
        """The process's peak resident memory so far (Linux /proc), in kilobytes; 0 if gone."""
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return 0
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return 0

    def speaker_audio(self) -> np.ndarray:
        return np.frombuffer(bytes(self.speaker.data[: len(self.speaker.data) // 2 * 2]), dtype="<i2")

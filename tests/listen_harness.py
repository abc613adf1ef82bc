"""Run the real `numb-legs listen` process between a virtual microphone and a virtual speaker."""

from __future__ import annotations

import bisect
import fcntl
import json
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
        # (when read, where in self.data it starts): what was playing when, for the echo.
        self.reads: list[tuple[float, int]] = []
        self.data = bytearray()
        self.first_sound_at: float | None = None
        self.last_write_at = 0.0
        self.bursts: list[float] = []  # when sound began after a second or more of none
        # (when, how long): the writer left the device without sound to play while it was
        # sounding (a stutter: the program did not keep up).
        self.dry: list[tuple[float, float]] = []
        self._last_sound = 0.0
        self._stop = threading.Event()
        self._pace = paced_bytes_per_second
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        # The pace's origin: (clock time, bytes read by then). Set again after the speaker was
        # idle, so the start of the next sound is played in real time too, not read at once
        # to catch up with a schedule that ran on through the silence.
        origin = (time.monotonic(), 0)
        starved = False  # found nothing to play when the next sound was due
        while not self._stop.is_set():
            try:
                block = os.read(self._fd, 1024 if self._pace else 4096)
            except BlockingIOError:
                if self._pace and time.monotonic() >= origin[0] + (len(self.data) - origin[1]) / self._pace:
                    starved = True
                time.sleep(0.002)
                continue
            now = time.monotonic()
            sound = bool(np.any(np.abs(np.frombuffer(block[: len(block) // 2 * 2],
                                                     dtype="<i2")) > 64))
            due = origin[0] + (len(self.data) - origin[1]) / self._pace if self._pace else now
            # A device that runs dry plays the next sound when it comes (a gap); a reader merely
            # late itself (the pipe held the sound) keeps the schedule. Under 10 ms it is the
            # pipe's own doing: a writer of 4 kB (atomic) waits for it to empty.
            if self._pace and ((starved and now > due + 0.01) or now > due + 0.05):
                if now - self._last_sound < 0.5:
                    self.dry.append((due, now - due))  # ran dry in the middle of a sound
                origin = (now, len(self.data))
            starved = False
            self.sound_blocks.append((now, sound))
            # A device plays by its sample clock, not by when a thread got round to reading:
            # the echo follows the schedule (the reads' jitter of a few ms would make the room
            # itself seem to move, which no loudspeaker does).
            due = origin[0] + (len(self.data) - origin[1]) / self._pace if self._pace else now
            self.reads.append((due, len(self.data)))
            if sound:
                if self.first_sound_at is None:
                    self.first_sound_at = now
                if now - self._last_sound > 1.0:
                    self.bursts.append(now)
                self._last_sound = now
            self.data += block
            self.last_write_at = now
            if self._pace:
                due = origin[0] + (len(self.data) - origin[1]) / self._pace
                time.sleep(max(0.0, due - time.monotonic()))

    @property
    def last_sound_at(self) -> float:
        """When a block with sound in it was last read (0.0: never)."""
        return self._last_sound

    def heard(self, start: float, count: int, rate: int = MIC_RATE) -> np.ndarray:
        """What the speaker was playing over the COUNT samples at RATE from clock time START
        (float, resampled linearly; zeros where it played nothing). A paced speaker plays each
        block it reads from the moment it reads it."""
        # Only the reads of the last seconds: the list grows all run long, and this is called
        # every 30 ms by the microphone's writer, which must keep real time.
        first = max(0, bisect.bisect_left(self.reads, (start - 2.0,)) - 1)
        reads = self.reads[first:]  # appended by the drain thread meanwhile
        out = np.zeros(count)
        if not reads or not self._pace:
            return out
        speaker_rate = self._pace / 2
        times = np.array([when for when, _ in reads])
        offsets = np.array([offset for _, offset in reads]) // 2
        ends = np.append(offsets[1:], len(self.data) // 2)
        first_sample = int(offsets[0])
        at = start + np.arange(count) / rate
        block = np.searchsorted(times, at, side="right") - 1
        inside = block >= 0
        position = np.where(inside, offsets[np.maximum(block, 0)]
                            + (at - times[np.maximum(block, 0)]) * speaker_rate, 0)
        inside &= position < ends[np.maximum(block, 0)]
        samples = np.frombuffer(bytes(self.data[first_sample * 2: int(ends[-1]) * 2]),
                                dtype="<i2")
        out[inside] = _band_limited(samples.astype(np.float64),
                                    position[inside] - first_sample, speaker_rate, rate)
        return out

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        os.close(self._fd)


_HALF_TAPS = 16


def _band_limited(samples: np.ndarray, positions: np.ndarray, rate: float,
                  out_rate: int) -> np.ndarray:
    """SAMPLES (at RATE) at fractional POSITIONS, as a microphone sampling the air at OUT_RATE
    records them: through its converter's anti-aliasing low-pass (a windowed sinc cut at 0.45
    of OUT_RATE), never folding the speaker's sound above OUT_RATE / 2 back into the band.
    (Linear interpolation did, and the aliases' phase changed with every new stream: a room
    no echo canceller, and no real microphone, meets.)"""
    cutoff = 0.45 * out_rate / rate  # cycles a sample of SAMPLES
    base = np.floor(positions).astype(int)
    offsets = np.arange(-_HALF_TAPS + 1, _HALF_TAPS + 1)
    taps = base[:, np.newaxis] + offsets  # the samples around each position
    distance = positions[:, np.newaxis] - taps
    phase = np.pi * np.clip(distance / _HALF_TAPS, -1.0, 1.0)
    window = 0.42 + 0.5 * np.cos(phase) + 0.08 * np.cos(2 * phase)  # Blackman, continuous
    weights = 2 * cutoff * np.sinc(2 * cutoff * distance) * window
    padded = np.concatenate([np.zeros(_HALF_TAPS), samples, np.zeros(_HALF_TAPS)])
    return (padded[taps + _HALF_TAPS] * weights).sum(axis=1)


def trace_marks(path: Path, stage: str) -> list[float]:
    """When the process reached STAGE, from its NUMB_LEGS_TRACE file PATH (voice/runtime/trace.py);
    empty before it wrote any."""
    if not path.exists():
        return []
    return [entry["t"] for entry in map(json.loads, path.read_text().splitlines())
            if entry["stage"] == stage]


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
                 cache_dir: Path | None = None, echo: tuple[float, float] | None = None,
                 env: dict[str, str] | None = None, stderr: Path | None = None) -> None:
        """AUDIO is played at once, then silence; None: a LiveMic the test speaks into.

        CACHE_DIR: where the process keeps its matcher and language model; by default the one
        in the environment (the test session's shared cache), else a folder in TMP.
        ECHO (a LiveMic only): (level in dB, delay in ms) at which the speaker's sound comes
        back into the microphone, as a loudspeaker in the room; the speaker is then paced.
        ENV: more environment variables for the process. STDERR: a file for its standard
        error (with --debug: nobody reads the pipe while it runs, and a full pipe blocks it)."""
        pace_speaker = pace_speaker or echo is not None
        self.mic = PacedFifo(tmp / "mic.fifo") if audio is not None else LiveMic(tmp / "mic.fifo")
        self.speaker = SpeakerFifo(tmp / "speaker.fifo", 44100.0 if pace_speaker else None)
        config = write_capture_config(tmp, self.mic.path, self.speaker.path)
        env = {**os.environ, "ALSA_CONFIG_PATH": str(config), "PYTHONUNBUFFERED": "1",
               "PYTHONPATH": str(ROOT), **(env or {})}
        if cache_dir is not None or not env.get("NUMB_LEGS_CACHE_DIR"):
            env["NUMB_LEGS_CACHE_DIR"] = str(cache_dir or tmp / "cache")
        self.stdout_lines: list[str] = []
        self._stderr = stderr
        self._stderr_file = stderr.open("w") if stderr else None
        self.proc = subprocess.Popen([sys.executable, "-m", "voice", *args], cwd=ROOT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr_file or subprocess.PIPE, text=True,
                                     preexec_fn=_hear_ctrl_c)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.started_at = time.monotonic()
        if isinstance(self.mic, LiveMic):
            self.mic.start(MIC_UNIT, 2 * MIC_RATE, self._echo(*echo) if echo else None)
        else:
            silence = bytes(int(trailing_silence_s * MIC_RATE) * 2)
            self.mic.play((audio or b"") + silence, MIC_UNIT, 2 * MIC_RATE)

    def _echo(self, level_db: float, delay_ms: float):
        gain, delay = 10 ** (level_db / 20), delay_ms / 1000

        def mix(unit: bytes, written_at: float) -> bytes:
            # The unit goes into the pipe now, as a device delivers a block once it has recorded
            # it: it carries the room of the 30 ms before, what the speaker played DELAY before
            # that. (Taken as the 30 ms after, a unit held sound played after it was delivered
            # whenever DELAY was under 30 ms: at 20 ms the canceller failed all through.)
            count = len(unit) // 2
            room = self.speaker.heard(written_at - count / MIC_RATE - delay, count) * gain
            mixed = np.frombuffer(unit, dtype="<i2") + room
            return np.clip(np.rint(mixed), -32768, 32767).astype("<i2").tobytes()

        return mix

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
            # By the last sound, not the last read: a stream kept open (--echo-cancel) sounds
            # silence all the time.
            if self.speaker.data and time.monotonic() - self.speaker.last_sound_at > quiet_s:
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
        if self._stderr_file is not None:
            self._stderr_file.close()
        if self.proc.stderr is None:
            return self._stderr.read_text() if self._stderr else ""
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

"""Test speech made on the spot with espeak-ng (nothing large is committed)."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np

# PocketSphinx's acoustic model hears espeak-ng's Klatt voices far better than its default
# voice (measured: 18 of 20 questions against 10 of 20), so spoken tests use them.
VOICES = (("en-us+klatt", 120), ("en-us+klatt2", 160), ("en-us+klatt", 160), ("en-us+klatt2", 130))


def speak(text: str, path: Path, voice: str = "en-us+klatt", speed: int = 140) -> Path:
    """A WAV file (espeak-ng's own rate, 22050 Hz mono) of TEXT."""
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True,
                   timeout=30)
    return path


def to_16k(path: Path, out: Path, channels: int = 1, rate: int = 16000, bits: int = 16) -> Path:
    """Convert with sox (a reference implementation independent of ours).

    ``-R`` seeds sox's dither: without it each conversion differs in the last bit, and a clip
    on the edge of two transcripts was heard one way or the other from run to run."""
    subprocess.run(["sox", "-R", str(path), "-r", str(rate), "-c", str(channels), "-b", str(bits),
                    str(out)], check=True, timeout=30)
    return out


def pcm16(path: Path) -> bytes:
    with wave.open(str(path), "rb") as wav:
        if wav.getframerate() != 16000 or wav.getnchannels() != 1 or wav.getsampwidth() != 2:
            raise ValueError(f"{path} is not 16 kHz mono 16-bit")
        return wav.readframes(wav.getnframes())


def silence(seconds: float, rate: int = 16000) -> bytes:
    return np.zeros(int(seconds * rate), dtype=np.int16).tobytes()

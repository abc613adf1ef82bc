"""Mix noise into speech with sox at an exact signal-to-noise ratio.

The speech level is the RMS of its active part (30 ms frames within 40 dB of the loudest one),
so the silence espeak-ng pads its output with does not lower it; the noise (pink, made by sox
with a fixed seed) is scaled so that 20*log10(speech RMS / noise RMS) is the SNR asked for, and
both are scaled by the same headroom so that the mix never clips. `measured_snr` checks it.
"""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np

RATE = 16000
HEADROOM = 0.5  # both inputs scaled alike: the SNR is unchanged and the mix stays below full scale


def read_pcm(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as wav:
        if wav.getframerate() != RATE or wav.getnchannels() != 1 or wav.getsampwidth() != 2:
            raise ValueError(f"{path} is not 16 kHz mono 16-bit")
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")


def active_rms(samples: np.ndarray, frame: int = RATE * 30 // 1000, range_db: float = 40.0) -> float:
    """RMS over the frames within RANGE_DB of the loudest frame (the speech, not the pauses)."""
    x = samples.astype(np.float64)
    count = len(x) // frame
    if count == 0:
        return float(np.sqrt(np.mean(x ** 2))) if len(x) else 0.0
    frames = x[: count * frame].reshape(count, frame)
    power = np.mean(frames ** 2, axis=1)
    loud = power >= power.max() * 10 ** (-range_db / 10)
    return float(np.sqrt(np.mean(power[loud])))


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0


def noise_file(path: Path, seconds: float, seed: int = 7, color: str = "pinknoise") -> Path:
    """SECONDS of noise from sox (repeatable: -R and a fixed seed), 16 kHz mono 16-bit."""
    if not path.exists():
        subprocess.run(["sox", "-R", "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(path),
                        "synth", f"{seconds:.3f}", color, "vol", "0.3"],
                       check=True, timeout=60, env={"SOX_OPTS": "", "PATH": "/usr/bin:/bin"})
    return path


def mix_at_snr(speech: Path, noise: Path, snr_db: float, out: Path) -> Path:
    """OUT: SPEECH with NOISE (at least as long) mixed in at SNR_DB, by sox."""
    if out.exists():
        return out
    s = read_pcm(speech)
    n = read_pcm(noise)[: len(s)]
    if len(n) < len(s):
        raise ValueError(f"{noise} is shorter than {speech}")
    gain = active_rms(s) / (rms(n) * 10 ** (snr_db / 20))
    tmp = out.with_suffix(".part.wav")
    # -v on every input: sox then mixes at exactly those volumes (no automatic 1/n scaling).
    subprocess.run(["sox", "-R", "-m", "-v", f"{HEADROOM:.6f}", str(speech),
                    "-v", f"{HEADROOM * gain:.6f}", str(noise), "-b", "16", str(tmp),
                    "trim", "0", f"{len(s)}s"], check=True, timeout=60)
    tmp.replace(out)
    return out


def measured_snr(speech: Path, mixed: Path) -> float:
    """The SNR of MIXED against the clean SPEECH it was made from, in dB."""
    s = read_pcm(speech).astype(np.float64) * HEADROOM
    m = read_pcm(mixed).astype(np.float64)[: len(s)]
    residual = m - s
    return 20 * np.log10(active_rms(s) / rms(residual))

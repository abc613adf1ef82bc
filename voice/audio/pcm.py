"""PCM audio in memory: mono 16-bit samples with their rate, and conversion to int16."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)  # eq on numpy arrays is ambiguous
class Audio:
    """Mono 16-bit PCM samples and their sample rate."""

    samples: np.ndarray
    rate: int

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate if self.rate else 0.0


def decode_pcm(raw: bytes, width: int) -> np.ndarray:
    """Little-endian integer PCM of WIDTH bytes a sample (8-bit unsigned, as WAV and Wyoming
    have it) as float64 on the int16 scale; RAW holds whole samples."""
    if width == 1:
        return (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) * 256.0
    if width == 2:
        return np.frombuffer(raw, dtype="<i2").astype(np.float64)
    if width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        value = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        return ((value ^ 0x800000) - 0x800000).astype(np.float64) / 256.0
    if width == 4:
        return np.frombuffer(raw, dtype="<i4").astype(np.float64) / 65536.0
    raise ValueError(f"PCM samples are 1 to 4 bytes wide, not {width}")


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Float samples on the int16 scale, rounded and clipped to int16."""
    return np.clip(np.rint(samples), -32768, 32767).astype(np.int16)

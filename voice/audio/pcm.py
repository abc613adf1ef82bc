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


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Float samples on the int16 scale, rounded and clipped to int16."""
    return np.clip(np.rint(samples), -32768, 32767).astype(np.int16)

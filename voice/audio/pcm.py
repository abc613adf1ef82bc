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

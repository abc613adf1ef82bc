"""Earcons: short, distinct tones for state changes, so nothing is shown only visually."""

from __future__ import annotations

from functools import cache, lru_cache

import numpy as np

from knowledge.datafile import Node, read_package_toml

from .pcm import Audio

RATE = 22050
_FADE_S = 0.008  # a few ms of fade in and out: no clicks


@lru_cache(maxsize=1)
def _table() -> tuple[float, dict[str, tuple[tuple[int, int], ...]]]:
    label, data = read_package_toml("voice", "earcons.toml")
    root = Node(label, data)
    volume = root.get("volume").value
    if not isinstance(volume, (int, float)) or not 0 < volume <= 1:
        raise root.get("volume").fail("must be a number in 0..1")
    sounds = {}
    for name, node in root.get("sounds").items():
        tones = []
        for tone in node.list(min_len=1):
            freq, ms = (part.integer(0, 8000) for part in tone.list(min_len=2))
            tones.append((freq, ms))
        sounds[name] = tuple(tones)
    return float(volume), sounds


def names() -> list[str]:
    return list(_table()[1])


@cache
def earcon(name: str) -> Audio:
    """The sound called NAME (listening, done, not_understood, timer)."""
    volume, sounds = _table()
    parts = []
    for freq, ms in sounds[name]:
        t = np.arange(int(RATE * ms / 1000)) / RATE
        tone = np.sin(2 * np.pi * freq * t) if freq else np.zeros_like(t)
        fade = min(len(t) // 2, int(RATE * _FADE_S))
        if fade:
            ramp = np.linspace(0.0, 1.0, fade)
            tone[:fade] *= ramp
            tone[-fade:] *= ramp[::-1]
        parts.append(tone)
    samples = (np.concatenate(parts) * volume * 32767).astype(np.int16)
    return Audio(samples=samples, rate=RATE)

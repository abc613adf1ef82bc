"""Raw PCM chunks of any format to 16 kHz mono int16 (voice/audio/pcm_stream.py): however the
stream is cut, and whatever the width and channels, the same samples come out."""

from __future__ import annotations

import numpy as np
import pytest

from voice.audio.pcm_stream import PcmStream, format_problem
from voice.audio.resample import resample


def tone(rate: int, seconds: float = 0.5, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.round(8000 * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def encode(samples: np.ndarray, width: int, channels: int) -> bytes:
    """SAMPLES (int16) as WIDTH-byte little-endian PCM, the same in every channel."""
    wide = samples.astype(np.int64)
    if width == 1:
        values = ((wide >> 8) + 128).astype(np.uint8)
        frames = np.repeat(values[:, None], channels, axis=1)
        return frames.tobytes()
    scaled = wide << (8 * (width - 2))
    as_bytes = scaled.astype("<i8").view(np.uint8).reshape(-1, 8)[:, :width]
    return np.repeat(as_bytes[:, None, :], channels, axis=1).tobytes()


def convert(raw: bytes, rate: int, width: int, channels: int, cuts: list[int]) -> np.ndarray:
    stream = PcmStream(rate, width, channels)
    parts, start = [], 0
    for cut in [*cuts, len(raw)]:
        parts.append(stream.feed(raw[start:cut]))
        start = cut
    parts.append(stream.flush())
    return np.concatenate(parts)


def test_the_same_samples_however_the_stream_is_cut():
    raw = encode(tone(22050), 2, 2)
    whole = convert(raw, 22050, 2, 2, [])
    rng = np.random.default_rng(17)
    cuts = sorted(int(c) for c in rng.integers(1, len(raw), 40))  # mid-frame, mid-sample too
    assert np.array_equal(convert(raw, 22050, 2, 2, cuts), whole)
    assert np.array_equal(whole, resample(tone(22050), 22050, 16000))


@pytest.mark.parametrize("width", [1, 2, 3, 4])
@pytest.mark.parametrize("channels", [1, 2, 6])
def test_every_width_and_channel_count_gives_the_mono_16_bit_signal(width, channels):
    source = tone(48000)
    out = convert(encode(source, width, channels), 48000, width, channels, [1000, 1001, 5003])
    expected = resample(source, 48000, 16000)
    assert len(out) == len(expected) == 8000
    tolerance = 260 if width == 1 else 1  # 8-bit audio keeps only the top byte
    assert np.max(np.abs(out.astype(int) - expected.astype(int))) <= tolerance


def test_16_khz_mono_passes_through_unchanged():
    source = tone(16000)
    assert np.array_equal(convert(source.tobytes(), 16000, 2, 1, [333, 4000]), source)


def test_a_partial_frame_at_the_end_is_dropped():
    stream = PcmStream(16000, 2, 2)
    assert len(stream.feed(b"\x01\x00\x02\x00\x03")) == 1
    assert len(stream.flush()) == 0


@pytest.mark.parametrize(("rate", "width", "channels", "problem"), [
    (0, 2, 1, "sample rate"), (999, 2, 1, "sample rate"), (400_000, 2, 1, "sample rate"),
    ("16000", 2, 1, "sample rate"), (True, 2, 1, "sample rate"), (16000.0, 2, 1, "sample rate"),
    (16000, 0, 1, "sample width"), (16000, 5, 1, "sample width"), (16000, None, 1, "sample width"),
    (16000, 2, 0, "channel count"), (16000, 2, 33, "channel count"), (16000, 2, False, "channel count"),
])
def test_formats_that_cannot_be_converted_are_named(rate, width, channels, problem):
    assert problem in format_problem(rate, width, channels)
    with pytest.raises(ValueError, match=problem):
        PcmStream(rate, width, channels)


def test_usual_formats_are_accepted():
    for rate, width, channels in ((8000, 1, 1), (16000, 2, 1), (22050, 2, 1), (44100, 3, 2),
                                  (48000, 4, 2), (96000, 2, 8)):
        assert format_problem(rate, width, channels) == ""

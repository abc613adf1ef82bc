"""Can soundfile replace voice/audio/wav.py's decoding, and soxr voice/audio/resample.py?

Measures, on audio generated here (no files committed): how far each library's samples are from
ours, how fast each is, and what each does with the files people actually send (damaged, not a
WAV, a header that promises more than the file holds). Needs `pip install soundfile soxr`, which
numb-legs itself does not depend on. Run: .venv/bin/python bench/audio_libs.py
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import soundfile  # noqa: E402 - after the path, so voice/ imports from this checkout
import soxr  # noqa: E402 - likewise

from voice.audio.resample import Resampler, resample  # noqa: E402 - likewise
from voice.audio.wav import AudioFileError, _decode, _parse_riff, read_wav  # noqa: E402 - likewise

SUBTYPES = ("PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ALAW", "ULAW")


def _ours_mono(path: Path) -> np.ndarray:
    fmt, data = _parse_riff(path.read_bytes(), path)
    return _decode(fmt, data, path)


def _theirs_mono(path: Path) -> np.ndarray:
    frames, _ = soundfile.read(str(path), dtype="float64", always_2d=True)
    return frames.mean(axis=1) * 32768.0


def _best_of(runs: int, work) -> float:
    best = math.inf
    for _ in range(runs):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def decoding(folder: Path) -> None:
    rng = np.random.default_rng(13)
    rate = 44100
    t = np.arange(rate * 60) / rate  # one minute, stereo: a tone and noise
    signal = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.3 * rng.standard_normal(len(t))], 1)
    signal = np.clip(signal, -0.99, 0.99)
    print("WAV decoding, one minute of 44.1 kHz stereo; difference on the int16 scale "
          "(1 = one int16 step)")
    print(f"  {'subtype':8} {'max diff':>9} {'ours ms':>8} {'soundfile ms':>13}")
    for subtype in SUBTYPES:
        path = folder / f"{subtype}.wav"
        soundfile.write(str(path), signal, rate, subtype=subtype)
        ours, theirs = _ours_mono(path), _theirs_mono(path)
        diff = float(np.max(np.abs(ours - theirs)))
        ours_s = _best_of(3, lambda p=path: _ours_mono(p))
        theirs_s = _best_of(3, lambda p=path: _theirs_mono(p))
        print(f"  {subtype:8} {diff:9.3g} {ours_s * 1000:8.1f} {theirs_s * 1000:13.1f}")
    # Files people send: each reader's answer.
    good = folder / "PCM_16.wav"
    blob = good.read_bytes()
    cases = {
        "header cut short (30 bytes)": blob[:30],
        "recording cut off (header promises more)": blob[: len(blob) // 2],
        "a text file named .wav": b"this is not audio\n" * 10,
        "an Ogg file named .wav": b"OggS" + bytes(200),
    }
    print("Files people send: what each reader says")
    for name, data in cases.items():
        path = folder / "case.wav"
        path.write_bytes(data)
        try:
            audio = read_wav(path)
            ours = f"reads {audio.duration:.1f} s"
        except AudioFileError as err:
            ours = f"error: {str(err).replace(str(path), 'FILE')[:90]}"
        try:
            frames, _ = soundfile.read(str(path))
            theirs = f"reads {len(frames) / rate:.1f} s"
        except Exception as err:  # noqa: BLE001 - any failure is the answer being measured
            theirs = f"{type(err).__name__}: {str(err).replace(str(path), 'FILE')[:90]}"
        print(f"  {name}\n    ours:      {ours}\n    soundfile: {theirs}")


def _tone_level_db(samples: np.ndarray, rate: int, freq: float) -> float:
    """Level of the FREQ component in SAMPLES, in dB relative to a full-scale sine of 1.0."""
    n = len(samples)
    window = np.hanning(n)
    spectrum = np.abs(np.fft.rfft(samples * window)) / (window.sum() / 2)
    k = round(freq * n / rate)
    return 20 * math.log10(max(spectrum[max(0, k - 3):k + 4].max(), 1e-12))


def resampling() -> None:
    print("Resampling to 16 kHz: passband (7 kHz tone), aliasing (a 10 kHz tone folds to 6 kHz), "
          "and time for one minute")
    print(f"  {'from Hz':>7} {'engine':14} {'7k dB':>7} {'alias dB':>9} {'ms/minute':>10}")
    for src in (44100, 48000, 22050, 8000):
        t = np.arange(src * 4) / src
        tone7 = 0.5 * np.sin(2 * np.pi * 7000 * t) if src > 14000 else None
        tone10 = 0.5 * np.sin(2 * np.pi * 10000 * t) if src > 20000 else None
        minute = np.random.default_rng(1).standard_normal(src * 60) * 3000
        engines = {
            "ours": lambda x, s=src: resample(x, s, 16000),
            "soxr HQ": lambda x, s=src: soxr.resample(x, s, 16000, quality="HQ"),
            "soxr VHQ": lambda x, s=src: soxr.resample(x, s, 16000, quality="VHQ"),
        }
        for name, run in engines.items():
            passband = _tone_level_db(run(tone7), 16000, 7000) + 6.02 if tone7 is not None \
                else float("nan")
            alias = _tone_level_db(run(tone10), 16000, 6000) + 6.02 if tone10 is not None \
                else float("nan")
            seconds = _best_of(3, lambda r=run, m=minute: r(m))
            print(f"  {src:7} {name:14} {passband:7.2f} {alias:9.1f} {seconds * 1000:10.1f}")
    # Streaming, as the microphone does: 30 ms blocks, the same result in any chunking?
    src = 48000
    x = np.random.default_rng(2).standard_normal(src * 5) * 3000
    whole = resample(x, src, 16000).astype(np.float64)
    ours = Resampler(src, 16000)
    blocks = [ours.process(x[i:i + 1440]) for i in range(0, len(x), 1440)] + [ours.flush()]
    ours_stream = np.concatenate(blocks)
    stream = soxr.ResampleStream(src, 16000, 1, dtype="float64", quality="HQ")
    theirs = [stream.resample_chunk(x[i:i + 1440]) for i in range(0, len(x), 1440)]
    theirs.append(stream.resample_chunk(np.zeros(0), last=True))
    print("Streaming 48 kHz in 30 ms blocks:")
    # Latency: output owed after the first 10 blocks (300 ms) is 4800 samples at 16 kHz.
    ours_first = sum(len(block) for block in blocks[:10])
    theirs_first = sum(len(block) for block in theirs[:10])
    print(f"  after the first 300 ms of input (4800 samples owed): ours {ours_first}, "
          f"soxr {theirs_first} ({(4800 - ours_first) / 16:.1f} and "
          f"{(4800 - theirs_first) / 16:.1f} ms behind)")
    theirs_stream = np.concatenate(theirs)
    one_shot = soxr.resample(x, src, 16000, quality="HQ")
    print(f"  ours: {len(ours_stream)} samples, max diff from one-shot "
          f"{np.max(np.abs(np.round(ours_stream) - whole)):.3g}; delay {ours.delay * 1000:.2f} ms")
    n = min(len(theirs_stream), len(one_shot))
    lag = int(np.argmax(np.correlate(theirs_stream[:4000], one_shot[:4000], "full"))) - 3999
    print(f"  soxr: {len(theirs_stream)} samples, stream lags its one-shot by {lag} samples "
          f"({lag / 16:.2f} ms); max diff once aligned "
          f"{np.max(np.abs(theirs_stream[lag:n] - one_shot[:n - lag])) if lag >= 0 else float('nan'):.3g}")


def main() -> int:
    print(f"soundfile {soundfile.__version__} (libsndfile {soundfile.__libsndfile_version__}), "
          f"soxr {soxr.__version__}, numpy {np.__version__}")
    with tempfile.TemporaryDirectory(prefix="numb-legs-audio-libs-") as folder:
        decoding(Path(folder))
    resampling()
    return 0


if __name__ == "__main__":
    sys.exit(main())

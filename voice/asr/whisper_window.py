"""One utterance decoded by Whisper in a window fitted to it, not a 30-second one.

faster-whisper pads the features of every window to 30 seconds (3000 frames) before the encoder,
so a three-second question cost the encoder 1500 positions: attention over 1500 x 1500 for each
of six heads, 54 MB a layer, and about 90 MB more memory at every hearing. CTranslate2's encoder
takes any length up to that. Here the features are padded only a little past the speech, then
decoded as faster-whisper decodes a window at temperature 0 (its prompt, its suppressed tokens,
its average log-probability and its no-speech test), through faster-whisper's own helpers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

_LOGGER = logging.getLogger(__name__)

# The longest window Whisper was trained on (30 s of 10 ms frames): anything longer goes
# through faster-whisper's own windowing.
MAX_FRAMES = 3000
# Silence after the speech, in frames (10 ms each). Measured on 206 clips of the safety
# development set (six espeak-ng voices, prompted): words wrong 18.9% with the full window; with
# 1, 2, 4 and 8 s of padding (and no floor) 22.9, 21.1, 18.7 and 17.3%. With 4 s and the floor
# below: 17.1%, and the safety stage raised 89.3% of the emergencies it raised 88.3% of with the
# full window, with the same false alarms (2.9%).
PADDING_FRAMES = 400
# But never under 20 s: in shorter windows tiny.en starts to say a short question twice ("Can
# you repeat the last bit? Can you repeat the last bit?" in 10 and 15 s windows). On 76 short
# questions of the development set (eight voices, prompted): words wrong 39.6% with the full
# window, 41.6 / 36.1 / 33.8% with at least 10 / 15 / 20 s; 0.28 s a question instead of 0.52.
# The encoder's attention then holds 1000 positions, not 1500: the hearing's peak memory
# grows by 50 MB instead of 90.
MIN_FRAMES = 2000
# faster-whisper's defaults for dropping a window as silence: a likely "no speech" that is not
# outweighed by a confident transcript.
NO_SPEECH_THRESHOLD = 0.6
LOG_PROB_THRESHOLD = -1.0


def window_frames(frames: int) -> int | None:
    """The window for FRAMES of speech, in frames; None when it does not fit in one."""
    if frames > MAX_FRAMES:
        return None
    return min(MAX_FRAMES, max(MIN_FRAMES, frames + PADDING_FRAMES))


@dataclass(frozen=True)
class Decoded:
    """What Whisper heard in one window."""

    text: str
    tokens: tuple[int, ...]
    avg_logprob: float
    no_speech_prob: float


class FittedWindow:
    """Decodes utterances of up to 30 seconds in windows fitted to them, with one model."""

    def __init__(self, model: Any, prompt: str, beam: int) -> None:
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        self._model = model
        self._beam = beam
        self._tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual,
                                    task="transcribe", language="en")
        previous = self._tokenizer.encode(" " + prompt.strip()) if prompt.strip() else []
        self._prompt = model.get_prompt(self._tokenizer, previous, without_timestamps=True)
        self._suppressed = list(get_suppressed_tokens(self._tokenizer, [-1]) or ())

    def decode(self, samples: np.ndarray) -> Decoded | None:
        """SAMPLES (16 kHz float32 in [-1, 1]) decoded; None when longer than one window."""
        # The last frame is cut off as faster-whisper cuts it (it holds the padding's edge).
        features = self._model.feature_extractor(samples)[:, :-1]
        frames = features.shape[-1]
        size = window_frames(frames)
        if size is None:
            return None
        window = np.zeros((features.shape[0], size), dtype=np.float32)
        window[:, :frames] = features
        encoded = self._model.encode(window)
        result = self._model.model.generate(
            encoded, [self._prompt], beam_size=self._beam, patience=1.0, length_penalty=1.0,
            repetition_penalty=1.0, no_repeat_ngram_size=0,
            max_length=self._model.max_length, return_scores=True, return_no_speech_prob=True,
            suppress_blank=True, suppress_tokens=self._suppressed)[0]
        tokens = tuple(token for token in result.sequences_ids[0] if token < self._tokenizer.eot)
        # The score is the sum of log-probabilities divided by the length (length penalty 1);
        # faster-whisper counts the end-of-text token in the average.
        avg_logprob = result.scores[0] * len(result.sequences_ids[0]) / (
            len(result.sequences_ids[0]) + 1)
        if result.no_speech_prob > NO_SPEECH_THRESHOLD and avg_logprob < LOG_PROB_THRESHOLD:
            _LOGGER.debug("Whisper heard no speech (%.2f)", result.no_speech_prob)
            return Decoded("", (), avg_logprob, result.no_speech_prob)
        return Decoded(self._tokenizer.decode(list(tokens)).strip(), tokens, avg_logprob,
                       result.no_speech_prob)

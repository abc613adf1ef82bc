"""Whisper as a second opinion beside the domain recogniser: loaded in the background (start-up
does not wait for it), then run on each utterance's audio in one worker thread while the domain
recogniser's result is already being acted on or weighed (voice/asr/fusion.py decides).

CTranslate2 releases the GIL while it decodes, so the microphone loop keeps running.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from knowledge.errors import NumbLegsError
from knowledge.heap import give_back_freed_memory

from ..audio.resample import resample
from .recognizer import SAMPLE_RATE

_LOGGER = logging.getLogger(__name__)

# The longest a hearing waits for its AFTER event (submit): it is never put off for long, even
# when the event is not set (nothing was said, or saying it failed).
AFTER_WAIT_S = 1.0
# Speeds at which an utterance is heard again, for red flags only (voice/asr/fusion.py, recheck):
# tiny.en mishears a word one way at one speed and rightly at another ("legs are on" at 1.1
# times is "legs are numb"). Chosen on half of the safety development set read by four voices
# the benchmarks do not use (206 emergencies, 206 harmless lines; none of the held-out set):
# heard once, fused, 91.3% of emergencies caught with 3.4% false alarms; heard again at 0.9 and
# 1.1, an alarm there taken (fusion.recheck), 94.2% / 7.3% as bench/safety_dev_heard.py measures
# it (95.6% / 6.3% in the first trial, resampled in floating point: a few lines are heard
# differently either way); one speed alone about 94.5% / 5.3%, 0.9 time-stretched without
# changing pitch (sox tempo) the same.
AGAIN_SPEEDS = (0.9, 1.1)


@dataclass(frozen=True)
class SecondHearing:
    """What the second recogniser heard, and how sure it was: the mean log-probability of its
    words (0 is certain; about -0.2 is a clear sentence, below -0.6 mostly guesswork)."""

    text: str
    logprob: float = 0.0


def at_speed(pcm: bytes, speed: float) -> bytes:
    """PCM (16 kHz mono int16) played SPEED times as fast, its pitch moving with it as a tape's
    does."""
    samples = np.frombuffer(pcm[:len(pcm) // 2 * 2], dtype=np.int16)
    return bytes(resample(samples, round(SAMPLE_RATE * speed), SAMPLE_RATE).tobytes())


def heard_again(hear: Callable[[bytes], SecondHearing], pcm: bytes) -> Iterator[SecondHearing]:
    """PCM heard by HEAR at each of AGAIN_SPEEDS, one speed at a time, as they are asked for."""
    for speed in AGAIN_SPEEDS:
        yield hear(at_speed(pcm, speed))


class Transcriber(Protocol):
    def hear(self, pcm: bytes) -> SecondHearing: ...


class SecondOpinion:
    """A transcriber made by LOADER in the background; ``submit`` queues an utterance."""

    def __init__(self, loader: Callable[[], Transcriber]) -> None:
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="second-opinion")
        self._model: Future[Transcriber] = self._worker.submit(self._load, loader)

    @staticmethod
    def _load(loader: Callable[[], Transcriber]) -> Transcriber:
        model = loader()
        give_back_freed_memory()  # what loading freed, on this thread's own heap arena
        return model

    @property
    def ready(self) -> bool:
        return self._model.done() and self._model.exception() is None

    @property
    def loading(self) -> bool:
        return not self._model.done()

    def failure(self) -> str:
        """Why the second opinion cannot be had ("" while loading or when it loaded)."""
        if not self._model.done():
            return ""
        err = self._model.exception()
        return str(err) if err is not None else ""

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait up to TIMEOUT seconds for the model; True when it loaded."""
        try:
            self._model.result(timeout)
        except (NumbLegsError, TimeoutError):
            return False
        return True

    def submit(self, pcm: bytes, after: threading.Event | None = None) -> Future[SecondHearing] | None:
        """Start transcribing PCM (16 kHz mono int16); None when the model is not ready.

        AFTER: wait for this event first (AFTER_WAIT_S at most). Whisper takes both cores while
        it decodes; an answer already decided on starts sooner when it waits for that answer's
        first sound (bench/latency_budget.py: 60 against 28 ms from the end of the utterance
        to that sound, beyond the endpointing wait)."""
        if not self.ready:
            return None
        model = self._model.result()
        return self._hearing(self._hear_after, model, pcm, after)

    def _hearing(self, hear: Callable[..., SecondHearing], *args: Any) -> Future[SecondHearing]:
        """HEAR(*ARGS) queued on the worker, then the heap's free pages handed back.

        A hearing takes about 100 MB and frees it; the heap keeps what it frees, for the next
        hearing. But the answer is being spoken meanwhile, from the same heap, and when its
        sentences landed in that kept space the next hearing found no room there and grew the
        heap by as much again: `numb-legs listen` peaked at 377 MB one start in five or so,
        334-345 MB otherwise (bench/voice_bench.py's start-up section, 2026-12-05). Handed
        back, what is kept no longer counts; each hearing maps its pages afresh, which measured
        no slower (640 against 635 ms median over 12 hearings). A task of its own, after the
        hearing: its result is not kept waiting for it."""
        future = self._worker.submit(hear, *args)
        self._worker.submit(give_back_freed_memory)
        return future

    @staticmethod
    def _hear_after(model: Transcriber, pcm: bytes, after: threading.Event | None) -> SecondHearing:
        if after is not None:
            after.wait(AFTER_WAIT_S)
        return model.hear(pcm)

    def submit_again(self, pcm: bytes, after: threading.Event | None = None
                     ) -> list[Future[SecondHearing]]:
        """Hear PCM again at each of AGAIN_SPEEDS, after whatever is queued (its own hearing
        first) and once AFTER is set (as in submit): what is found there only counts when it is
        a red flag. Cancel the futures when a new utterance comes: its own hearing must not
        wait behind them."""
        if not self.ready or not pcm:
            return []
        model = self._model.result()
        return [self._hearing(self._hear_at, model, pcm, speed, after) for speed in AGAIN_SPEEDS]

    @staticmethod
    def _hear_at(model: Transcriber, pcm: bytes, speed: float,
                 after: threading.Event | None) -> SecondHearing:
        if after is not None:
            after.wait(AFTER_WAIT_S)
        return model.hear(at_speed(pcm, speed))

    def hear_again(self, pcm: bytes, timeout: float = 30.0) -> list[SecondHearing]:
        """PCM heard at each of AGAIN_SPEEDS ([] when there is no second opinion in time)."""
        try:
            return [future.result(timeout) for future in self.submit_again(pcm)]
        except TimeoutError:
            _LOGGER.warning("The second recogniser took over %.0f s; going on without it", timeout)
            return []

    def hear(self, pcm: bytes, timeout: float = 30.0) -> SecondHearing | None:
        """PCM's transcript, or None when there is no second opinion to be had in time."""
        future = self.submit(pcm)
        if future is None:
            return None
        try:
            return future.result(timeout)
        except TimeoutError:
            _LOGGER.warning("The second recogniser took over %.0f s; going on without it", timeout)
            return None

    def close(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)

"""PocketSphinx with the English model its wheel bundles: domain-tuned or open vocabulary."""

from __future__ import annotations

import logging
from pathlib import Path

from .recognizer import RecognizerError, Transcript
from .sphinx_native import NativeDecoder

_LOGGER = logging.getLogger(__name__)
N_BEST = 10
# A one-word grammar searched while the first pass only measures the utterance's channel mean:
# the language model's search there took about 400 ms of a 600 ms decode, and its words were
# thrown away. On clean speech the mean comes out the same, and so does every transcript and
# n-best (105 of 105 spoken questions and sentences of the development set; decoding them took 40%
# less time). In loud noise it does not: at 5 dB pink noise 50 of 60 transcripts and 27 of 60
# n-best lists matched the two-search decode (switching searches restarts the noise estimate),
# and the spoken development set's figures are what tell whether that costs anything.
_MEASURE = "_measure"
_MEASURE_GRAMMAR = "#JSGF V1.0; grammar measure; public <s> = numb;"


def bundled_model() -> tuple[Path, Path]:
    """(acoustic model folder, dictionary) of the bundled en-us model."""
    try:
        from pocketsphinx import get_model_path
    except ImportError as err:
        raise RecognizerError("PocketSphinx is not installed: run make run (or pip install "
                              "pocketsphinx).") from err
    root = Path(get_model_path()) / "en-us"
    return root / "en-us", root / "cmudict-en-us.dict"


def c_library() -> str:
    """The file of the C library the wheel loaded (its extension module exports the C API)."""
    try:
        from pocketsphinx import _pocketsphinx
    except ImportError as err:
        raise RecognizerError("PocketSphinx is not installed: run make run (or pip install "
                              "pocketsphinx).") from err
    return str(_pocketsphinx.__file__)


class SphinxRecognizer:
    """Streaming PocketSphinx decoder. ``mode="domain"`` uses the domain language model."""

    name = "sphinx"

    def __init__(self, mode: str = "domain", extra_phrases: tuple[str, ...] = ()) -> None:
        self.mode = mode
        hmm, dictionary = bundled_model()
        options: dict[str, str | float] = {"hmm": str(hmm), "loglevel": "FATAL"}
        if mode == "domain":
            from .domain_tuning import build_sphinx_domain

            domain = build_sphinx_domain(dictionary, extra_phrases)
            # Silence between words is likelier than the model's default (0.005) assumes:
            # people pause mid-question, and espeak-ng does too. Measured on the spoken set
            # (tests/data/spoken.tsv): "i wet myself and my legs are numb" was lost without it.
            options.update(lm=str(domain.lm), dict=str(domain.dictionary), silprob=0.1)
        elif mode == "open":
            options.update(lm=str(hmm.parent / "en-us.lm.bin"), dict=str(dictionary))
        else:
            raise RecognizerError(f"Unknown recognition mode {mode!r}")
        # Through the C API: decoding lets go of Python's lock (voice/asr/sphinx_native.py).
        self._decoder = NativeDecoder(c_library(), options)
        # Each utterance starts from the model's own channel estimate (cepstral mean; set_cmn
        # also resets the running sum behind it), not the one the last utterance left:
        # otherwise the same audio is heard differently each time (issue 14), and one loud
        # cough changes how the next question is heard. The final result is a second decode of
        # the utterance from the mean of the utterance itself. (reinit_feat() instead, tried:
        # 33 of the 45 spoken questions of tests/test_spoken.py against 41 or more.)
        self._initial_cmn = self._decoder.get_cmn(False)
        self._search = self._decoder.current_search()
        self._decoder.add_jsgf_string(_MEASURE, _MEASURE_GRAMMAR)
        self._audio = bytearray()
        self._in_utterance = False

    def accept(self, chunk: bytes) -> str:
        if not self._in_utterance:
            self._decoder.set_cmn(self._initial_cmn)
            self._decoder.start_utt()
            self._in_utterance = True
        self._decoder.process_raw(chunk, False, False)
        self._audio.extend(chunk)
        return self._decoder.hyp() or ""

    def finish(self) -> Transcript:
        if not self._in_utterance:
            return Transcript("", ())
        self._decoder.end_utt()
        self._in_utterance = False
        audio, self._audio = bytes(self._audio), bytearray()
        return self.whole(audio)

    def whole(self, audio: bytes) -> Transcript:
        """The transcript of one whole utterance, without the streaming pass: its partial
        hypotheses are for a listener, and the final decode below does not use them."""
        if self._in_utterance:
            raise RecognizerError("An utterance is already being streamed to this recogniser")
        # The final decode is a function of this utterance alone: a fresh front end, whose
        # noise estimate (remove_noise) and channel mean are first warmed on the utterance
        # itself. Carried over from earlier audio instead, the same clip was heard as "my face is
        # drooping" or "what use drooping" depending on what came before (tests/test_fusion.py);
        # cold, without the warming pass, 33 of the 45 questions of tests/test_spoken.py.
        decoder = self._decoder
        decoder.reinit_feat()
        decoder.set_cmn(self._initial_cmn)
        decoder.activate_search(_MEASURE)
        try:
            decoder.start_utt()
            decoder.process_raw(audio, True, False)
            mean = decoder.get_cmn(True)
            decoder.end_utt()
        finally:
            decoder.activate_search(self._search)
        decoder.set_cmn(mean)
        decoder.start_utt()
        decoder.process_raw(audio, False, True)
        decoder.end_utt()
        final = self._decoder.hyp() or ""
        alternatives = [final]
        # The n-best list is empty when the search kept no lattice, and can hold entries
        # without words (both seen on noisy audio).
        for best in self._decoder.nbest(N_BEST):
            if best and best not in alternatives:
                alternatives.append(best)
        return Transcript(final, tuple(alternatives))

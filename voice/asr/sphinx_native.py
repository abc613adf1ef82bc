"""PocketSphinx's decoder through its C API (ctypes), which lets go of Python's lock while it works.

The wheel's own binding (Cython) holds the lock through every call. Hearing again the echo of a
13 s answer took 1.5 s of one core, and for all of it no other Python thread ran: the answer's
playback ran dry (it stuttered), the microphone's blocks waited, and Whisper's pass could not
start. A foreign call through ctypes releases the lock, so the decode uses one core and everything
else goes on beside it on the other. The C library is the one the wheel already loaded: its
extension module exports the C API (`pocketsphinx.h`, 5.x); voice/asr/sphinx_engine.py finds it.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Mapping

from .recognizer import RecognizerError

_P = ctypes.c_void_p
_STR = ctypes.c_char_p
_INT = ctypes.c_int
# name: (result type, argument types), as pocketsphinx.h declares them.
_SIGNATURES: dict[str, tuple[type | None, tuple[type, ...]]] = {
    "ps_config_init": (_P, (_P,)),
    "ps_config_set_str": (_P, (_P, _STR, _STR)),
    "ps_config_set_float": (_P, (_P, _STR, ctypes.c_double)),
    "ps_config_free": (_INT, (_P,)),
    "ps_init": (_P, (_P,)),
    "ps_free": (_INT, (_P,)),
    "ps_get_cmn": (_STR, (_P, _INT)),
    "ps_set_cmn": (_INT, (_P, _STR)),
    "ps_reinit_feat": (_INT, (_P, _P)),
    "ps_current_search": (_STR, (_P,)),
    "ps_add_jsgf_string": (_INT, (_P, _STR, _STR)),
    "ps_activate_search": (_INT, (_P, _STR)),
    "ps_start_utt": (_INT, (_P,)),
    "ps_process_raw": (_INT, (_P, ctypes.c_char_p, ctypes.c_size_t, _INT, _INT)),
    "ps_end_utt": (_INT, (_P,)),
    "ps_get_hyp": (_STR, (_P, ctypes.POINTER(ctypes.c_int32))),
    "ps_nbest": (_P, (_P,)),
    "ps_nbest_next": (_P, (_P,)),
    "ps_nbest_hyp": (_STR, (_P, ctypes.POINTER(ctypes.c_int32))),
    "ps_nbest_free": (None, (_P,)),
}
_libraries: dict[str, ctypes.CDLL] = {}


def _c_api(path: str) -> ctypes.CDLL:
    """The C API of the library at PATH, its functions typed."""
    if path not in _libraries:
        try:
            library = ctypes.CDLL(path)
            for name, (result, arguments) in _SIGNATURES.items():
                function = getattr(library, name)
                function.restype = result
                function.argtypes = arguments
        except (OSError, AttributeError) as err:
            raise RecognizerError(f"This PocketSphinx has no C API numb-legs can use ({err}). "
                                  "Reinstall it: pip install --force-reinstall "
                                  "'pocketsphinx>=5,<6'") from err
        _libraries[path] = library
    return _libraries[path]


class NativeDecoder:
    """One PocketSphinx decoder. Each call is one C call, made without Python's lock; calls from
    different threads are taken one at a time (the decoder is not thread-safe, and the lock
    Python held used to see to that)."""

    def __init__(self, library: str, options: Mapping[str, str | float]) -> None:
        self._c = _c_api(library)
        self._lock = threading.Lock()
        config = self._c.ps_config_init(None)
        if not config:
            raise RecognizerError("PocketSphinx could not make a configuration")
        try:
            for key, value in options.items():
                done = (self._c.ps_config_set_float(config, key.encode(), float(value))
                        if isinstance(value, float)
                        else self._c.ps_config_set_str(config, key.encode(), value.encode()))
                if not done:
                    raise RecognizerError(f"PocketSphinx does not take the option {key}={value!r}")
            self._ps = self._c.ps_init(config)  # holds its own reference to the configuration
        finally:
            self._c.ps_config_free(config)
        if not self._ps:
            raise RecognizerError("PocketSphinx could not load its model (see the options "
                                  f"{dict(options)}). Reinstall it: pip install "
                                  "--force-reinstall pocketsphinx")

    def __del__(self) -> None:
        ps = getattr(self, "_ps", None)
        if ps:
            self._c.ps_free(ps)

    def _check(self, result: int, what: str) -> None:
        if result < 0:
            raise RecognizerError(f"PocketSphinx failed to {what}")

    def start_utt(self) -> None:
        with self._lock:
            self._check(self._c.ps_start_utt(self._ps), "start an utterance")

    def process_raw(self, audio: bytes, no_search: bool, full_utt: bool) -> None:
        """Decode AUDIO, 16 kHz mono int16 (see ps_process_raw)."""
        with self._lock:
            self._check(self._c.ps_process_raw(self._ps, audio, len(audio) // 2, int(no_search),
                                               int(full_utt)), "decode audio")

    def end_utt(self) -> None:
        with self._lock:
            self._check(self._c.ps_end_utt(self._ps), "end an utterance")

    def get_cmn(self, update: bool) -> str:
        with self._lock:
            cmn = self._c.ps_get_cmn(self._ps, int(update))
        return cmn.decode() if cmn else ""

    def set_cmn(self, cmn: str) -> None:
        with self._lock:
            self._check(self._c.ps_set_cmn(self._ps, cmn.encode()), "set the channel mean")

    def reinit_feat(self) -> None:
        with self._lock:
            self._check(self._c.ps_reinit_feat(self._ps, None), "reset its front end")

    def current_search(self) -> str:
        with self._lock:
            name = self._c.ps_current_search(self._ps)
        return name.decode() if name else ""

    def add_jsgf_string(self, name: str, grammar: str) -> None:
        with self._lock:
            self._check(self._c.ps_add_jsgf_string(self._ps, name.encode(), grammar.encode()),
                        f"add the grammar {name}")

    def activate_search(self, name: str) -> None:
        with self._lock:
            self._check(self._c.ps_activate_search(self._ps, name.encode()),
                        f"switch to the search {name}")

    def hyp(self) -> str | None:
        """The best hypothesis so far (None: none yet)."""
        score = ctypes.c_int32()
        with self._lock:
            text = self._c.ps_get_hyp(self._ps, ctypes.byref(score))
        return text.decode() if text is not None else None

    def nbest(self, most: int) -> list[str | None]:
        """Up to MOST hypotheses of the last utterance, best first (None where the lattice
        gave an entry without words)."""
        found: list[str | None] = []
        score = ctypes.c_int32()
        with self._lock:
            # The lattice and the A* search over it are built here, without Python's lock too.
            entry = self._c.ps_nbest(self._ps)
            while entry and len(found) < most:
                text = self._c.ps_nbest_hyp(entry, ctypes.byref(score))
                found.append(text.decode() if text is not None else None)
                entry = self._c.ps_nbest_next(entry)  # frees the iterator at its end
            if entry:
                self._c.ps_nbest_free(entry)
        return found

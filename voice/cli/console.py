"""What reaches the terminal besides replies: log records as plain sentences, and nothing at all
once the reader of the output has gone away."""

from __future__ import annotations

import io
import logging
import os
import sys

# Packages whose log records are written for people; any other logger is a library's.
OWN_PACKAGES = frozenset({"voice", "intents", "knowledge"})
DEBUG_FORMAT = "%(levelname)s %(name)s: %(message)s"


def _own_record(record: logging.LogRecord) -> bool:
    return record.name.split(".", 1)[0] in OWN_PACKAGES


class _Sentence(logging.Formatter):
    """The message alone: no level, no logger name, no traceback (those are for --debug)."""

    def format(self, record: logging.LogRecord) -> str:
        return record.getMessage()


def configure_logging(debug: bool) -> None:
    """With DEBUG, every record of every library with its level and logger. Without, only our
    own warnings, as the bare sentence: "WARNING voice.asr...: " means nothing to a person, and
    libraries' warnings (onnxruntime, faster-whisper, Python's warnings module) are about
    internals numb-legs already handles or reports in its own words."""
    handler = logging.StreamHandler(sys.stderr)
    if debug:
        handler.setFormatter(logging.Formatter(DEBUG_FORMAT))
    else:
        handler.setFormatter(_Sentence())
        handler.addFilter(_own_record)
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, handlers=[handler])
    logging.captureWarnings(True)  # warnings.warn from libraries: a "py.warnings" record


def drop_closed_output() -> None:
    """The reader of our output has gone (numb-legs ask ... | head -c 10): point standard output
    and error at /dev/null, so the flush at interpreter exit does not meet the closed pipe again
    and print "Exception ignored ... BrokenPipeError". Both, since `2>&1 | head` closes both."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for stream in (sys.stdout, sys.stderr):
            try:
                os.dup2(devnull, stream.fileno())
            except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
                pass  # not a file descriptor (a test's captured stream): nothing to flush at exit
    finally:
        os.close(devnull)

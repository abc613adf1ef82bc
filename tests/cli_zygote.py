"""The real `numb-legs` main() in forked children of one process that imported it once.

Hundreds of fault cases each start numb-legs; half a second of every start is importing the
same modules (numpy, onnxruntime, PocketSphinx, the matcher's code). This process imports them
once, then for each request forks: the child takes the request's environment, standard streams
and arguments, runs ``voice.cli.main.main`` and leaves through the interpreter's normal exit
(SystemExit, atexit, stream flushing), as the installed command does. Nothing is loaded or
cached before the fork (no model, no settings, no diary), so every case reads its own files.

Protocol: one JSON request per line on stdin ({"argv", "env", "stdout", "stderr", "timeout"}),
one JSON reply per line on stdout ({"exit": code or null when it ran out of time, "seconds"}).
Run as ``python -m tests.cli_zygote``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

# What numb-legs imports on its way to any answer, as far as it can be imported without
# starting a thread: a process with threads must not fork (the child gets their locks but not
# the threads; measured: onnxruntime's import starts one, and the children aborted at exit).
# So neither onnxruntime (and what imports it) nor sounddevice (PortAudio reads the ALSA
# configuration when imported, and each case names its own).
PRELOAD = ("numpy", "tokenizers", "rapidfuzz", "pocketsphinx", "voice.cli.main",
           "voice.cli.speech_commands", "voice.cli.diary_commands", "knowledge.diary.store")


def _child(request: dict) -> None:
    """In the forked child: become the requested numb-legs run; leaves by SystemExit."""
    os.setsid()  # its own process group, so a timeout stops whatever it started too
    os.environ.clear()
    os.environ.update(request["env"])
    stdin = os.open(os.devnull, os.O_RDONLY)
    out = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    for source, target in ((stdin, 0), (out, 1), (err, 2)):
        os.dup2(source, target)
        os.close(source)
    sys.argv = ["numb-legs", *request["argv"]]
    from voice.cli.main import main

    raise SystemExit(main(request["argv"]))


def _wait(pid: int, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            return None
        time.sleep(0.005)


def serve() -> None:
    os.environ["OPENBLAS_NUM_THREADS"] = "1"  # else numpy's import starts a thread pool
    for module in PRELOAD:
        __import__(module)
    threads = len(os.listdir("/proc/self/task"))
    if threads != 1:
        raise RuntimeError(f"{threads} threads after the imports: forking is not safe")
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _child(request)
        code = _wait(pid, float(request["timeout"]))
        print(json.dumps({"exit": code, "seconds": time.monotonic() - started}), flush=True)


if __name__ == "__main__":
    serve()

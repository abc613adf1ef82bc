"""The real Wyoming service (`python -m voice.service`) in a subprocess, for tests and the benchmark:
started on a port the system picks, its address read from what it prints, stopped with SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_READY = re.compile(r"^Serving Wyoming on (\S+)$")


class ServiceProcess:
    """One server; ARGS are its options (--uri, --client-timeout...), ENV_EXTRA its environment
    on top of this process's (the test session's folders)."""

    def __init__(self, *args: str, env_extra: dict[str, str] | None = None) -> None:
        self.args = list(args)
        self.env = dict(os.environ, PYTHONPATH=str(ROOT), **(env_extra or {}))
        self.out: list[str] = []
        self.err: list[str] = []
        self.uri = ""
        self._ready = threading.Event()
        self.proc: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 180.0) -> ServiceProcess:
        """Start it and wait until it listens; raises RuntimeError (with its output) if it does not."""
        self.proc = subprocess.Popen([sys.executable, "-m", "voice.service", *self.args], cwd=ROOT,
                                     env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()
        if not self._ready.wait(timeout) or not self.uri:
            self.kill()
            raise RuntimeError(f"the service did not start: {self.output()}")
        return self

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError("not started")
        return self.proc.pid

    @property
    def port(self) -> int:
        return int(self.uri.rsplit(":", 1)[1])

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then its exit code."""
        if self.proc is None:
            raise RuntimeError("not started")
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def rss_mb(self) -> float:
        """Its resident memory now, in MB (10^6 bytes)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / 1e6
        raise RuntimeError("no VmRSS")

    def wait_for_err(self, text: str, timeout: float = 10.0) -> bool:
        """True once TEXT is in what it wrote to stderr (read on another thread)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in "".join(self.err):
                return True
            time.sleep(0.05)
        return False

    def output(self) -> str:
        return "stdout:\n" + "".join(self.out) + "\nstderr:\n" + "".join(self.err)

    def _read_out(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.out.append(line)
            found = _READY.match(line.strip())
            if found:
                self.uri = found.group(1)
                self._ready.set()
        self._ready.set()  # ended without listening: start() says so

    def _read_err(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self.err.append(line)

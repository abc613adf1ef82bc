"""Test helpers: an ALSA virtual speaker that writes what is played to a raw file.

How it works, and what was found on Debian 12 (alsa-lib 1.2.8, PortAudio 19.6.0):

* ALSA_CONFIG_PATH replaces the whole system configuration (alsa.conf is not read), so the file
  defines everything it uses: `pcm.null` as well as `pcm.!default`. No `ctl` section is needed:
  PortAudio finds no sound cards here and lists the named PCMs of the configuration, so "default"
  becomes device 0 and the default output ("null" itself is on PortAudio's ignore list). On a
  machine with sound cards, their hw devices may be listed too, so pick the default device
  (device=None) or the name "default", never index 0.
* alsa-lib reads the variable once, when PortAudio initialises at `import sounddevice`; tests
  therefore play in a subprocess started with this environment.
* The `file` plugin writes the raw frames exactly as the application opened the stream (here
  int16 mono at 22050 Hz, which `null` accepts unchanged), and truncates the file on every
  open: one stream per utterance, or only the last one's audio remains.
* Not real time: `null` takes data as fast as it comes (2 s of audio is written in about 1 ms).
  Timing and latency tests need pacing. One way that works: point `file` at a FIFO whose
  reader consumes 44100 bytes per second and shrinks the pipe with fcntl F_SETPIPE_SZ to 4096
  bytes (about 93 ms of audio); the reader must open it O_RDWR first to set the size before
  the writer fills it. Writes then block in real time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]

_FILE_SPEAKER = """\
# Written by tests/audio_env.py: the default playback device records into a raw file.
pcm.!default {{
    type file
    slave.pcm "null"
    file "{raw}"
    format "raw"
}}
pcm.null {{
    type null
}}
"""


def write_alsa_file_config(directory: Path, raw_path: Path) -> Path:
    """Write an ALSA configuration whose default device records into RAW_PATH; return its path."""
    if '"' in str(raw_path):
        raise ValueError(f"ALSA configuration cannot quote the path {raw_path}")
    config = directory / "asound.conf"
    config.write_text(_FILE_SPEAKER.format(raw=raw_path), encoding="utf-8")
    return config


def alsa_env(config: Path) -> dict[str, str]:
    """Environment for a subprocess using CONFIG as its whole ALSA setup, importing this repo."""
    env = dict(os.environ)
    env["ALSA_CONFIG_PATH"] = str(config)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


def virtual_speaker(directory: Path) -> tuple[dict[str, str], Path]:
    """(environment, raw file): a subprocess with that environment plays into the raw file."""
    raw = directory / "speaker.raw"
    return alsa_env(write_alsa_file_config(directory, raw)), raw


def run_python(code: str, env: dict[str, str], timeout: float = 60.0
               ) -> subprocess.CompletedProcess[str]:
    """Run CODE with this interpreter; fail with its stderr if it does not exit cleanly."""
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise AssertionError(f"subprocess failed ({result.returncode}):\n{result.stderr}")
    return result


def read_raw_int16(path: Path, channels: int = 1) -> np.ndarray:
    """Samples of a raw little-endian int16 file; first channel only."""
    samples = np.fromfile(path, dtype="<i2") if path.exists() else np.zeros(0, dtype=np.int16)
    return samples.reshape(-1, channels)[:, 0]


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0

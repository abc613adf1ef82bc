"""The whole run in folders of its own: a temporary HOME, one shared cache, its own settings and diary.

Set in os.environ before any test module is imported, so every subprocess the tests start
(numb-legs itself, Chromium, espeak-ng, aplay) inherits them and nothing the suite runs writes to
the person's own home. The shared cache (NUMB_LEGS_CACHE_DIR) means the matcher and the
PocketSphinx domain model are built once per run, not once per subprocess; a test about the cache
itself sets its own folder. At the end, what the real HOME held where these programs write is
compared with what it held at the start, and any change fails the run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Where numb-legs and the programs the tests drive write under HOME when nothing redirects them:
# platformdirs' folders for numb-legs, Chromium's profile and crash reports (and the NSS and
# dconf files it touches), onnxruntime's telemetry id, PulseAudio's client folder and fontconfig.
WATCHED = (".cache/numb-legs", ".config/numb-legs", ".local/share/numb-legs",
           ".local/state/numb-legs", ".config/chromium", ".cache/chromium", ".pki", ".cache/dconf",
           ".cache/Microsoft", ".config/pulse", ".cache/fontconfig", ".cache/huggingface")
# Folders whose list of names is compared too, so a writer not named above is still caught.
LISTED = ("", ".cache", ".config", ".local/share", ".local/state")

# Every variable the run changes, each pointing into SESSION (set in pytest_configure).
_SESSION_ENV = ("HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME",
                "NUMB_LEGS_CACHE_DIR", "NUMB_LEGS_CONFIG", "NUMB_LEGS_DATA_DIR")

Snapshot = dict[str, tuple[int, int] | None]


def home_snapshot(home: Path) -> Snapshot:
    """(mtime in ns, size) of every file and folder under HOME's watched paths, and the names in
    its listed folders; None for a listed folder that does not exist."""
    seen: Snapshot = {}
    for folder in LISTED:
        try:
            names = sorted(os.listdir(home / folder))
        except OSError:
            seen[f"{folder}/"] = None
            continue
        for name in names:
            seen[f"{folder}/{name}".lstrip("/") + " (name)"] = (0, 0)
    for watched in WATCHED:
        top = home / watched
        paths = [top, *top.rglob("*")] if top.is_dir() else [top]
        for path in paths:
            try:
                info = path.lstat()
            except OSError:
                continue
            seen[str(path.relative_to(home))] = (info.st_mtime_ns, info.st_size)
    return seen


def home_changes(before: Snapshot, after: Snapshot) -> list[str]:
    """What changed between two snapshots, one line each."""
    changes = []
    for key in sorted(before.keys() | after.keys()):
        if key not in before:
            changes.append(f"added: {key}")
        elif key not in after:
            changes.append(f"removed: {key}")
        elif before[key] != after[key]:
            changes.append(f"changed: {key}")
    return changes


class Session:
    """The run's own folders, and the real HOME as it was when the run began."""

    def __init__(self) -> None:
        self.real_home = Path(os.path.expanduser("~"))
        self.before = home_snapshot(self.real_home)
        self.root = Path(tempfile.mkdtemp(prefix="numb-legs-tests-"))
        self.home = self.root / "home"
        self.cache = self.root / "cache"
        for folder in (self.home / ".cache", self.home / ".config", self.home / ".local" / "share",
                       self.home / ".local" / "state", self.cache, self.root / "data"):
            folder.mkdir(parents=True)
        self.env = {"HOME": str(self.home),
                    "XDG_CACHE_HOME": str(self.home / ".cache"),
                    "XDG_CONFIG_HOME": str(self.home / ".config"),
                    "XDG_DATA_HOME": str(self.home / ".local" / "share"),
                    "XDG_STATE_HOME": str(self.home / ".local" / "state"),
                    "NUMB_LEGS_CACHE_DIR": str(self.cache),
                    # Never the person's own settings file or diary.
                    "NUMB_LEGS_CONFIG": str(self.root / "settings.toml"),
                    "NUMB_LEGS_DATA_DIR": str(self.root / "data")}
        self._previous = {name: os.environ.get(name) for name in _SESSION_ENV}
        self.changes: list[str] = []

    def enter(self) -> None:
        os.environ.update(self.env)
        # Left over from the caller, it would make every subprocess skip the shared cache.
        self._previous["NUMB_LEGS_NO_CACHE"] = os.environ.pop("NUMB_LEGS_NO_CACHE", None)

    def leave(self) -> None:
        for name, value in self._previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(self.root, ignore_errors=True)


_SESSION: Session | None = None


@pytest.fixture
def test_session() -> Session:
    """The running session's folders (for tests of the isolation itself)."""
    if _SESSION is None:
        raise RuntimeError("the test session has not started")
    return _SESSION


def pytest_configure(config: pytest.Config) -> None:
    global _SESSION
    if _SESSION is None:
        _SESSION = Session()
        _SESSION.enter()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _SESSION is None or session.config.option.collectonly:
        return
    _SESSION.changes = home_changes(_SESSION.before, home_snapshot(_SESSION.real_home))
    if _SESSION.changes and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter) -> None:
    if _SESSION is None or not _SESSION.changes:
        return
    reporter = terminalreporter
    reporter.section("the real HOME was written", sep="=", red=True, bold=True)
    reporter.line(f"The suite must write only to temporary folders, but under {_SESSION.real_home}:")
    for line in _SESSION.changes[:50]:
        reporter.line(f"  {line}")
    if len(_SESSION.changes) > 50:
        reporter.line(f"  ... and {len(_SESSION.changes) - 50} more")
    reporter.line("If another program (numb-legs itself, another checkout's tests) ran meanwhile, "
                  "it may have made these changes: run the suite again alone to be sure.")


def pytest_unconfigure(config: pytest.Config) -> None:
    global _SESSION
    if _SESSION is not None:
        _SESSION.leave()
        _SESSION = None


# Tests paced by the wall clock: a microphone fed in real time, a speaker drained in real time.
# They spend most of their time waiting, so under pytest-xdist (`make test` runs two workers)
# they go to one worker, one after another, while the other worker runs the tests that use the
# processor; two of them side by side would compete for the same cores in their own real time.
REAL_TIME_MODULES = frozenset({"test_listener.py", "test_barge_in.py", "test_audio_in.py"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in REAL_TIME_MODULES:
            item.add_marker(pytest.mark.xdist_group("real-time"))

"""The suite keeps to its own folders: a temporary HOME and one shared cache, in this process and in
every subprocess; and the check that fails the run when the real HOME changes does see changes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import home_changes, home_snapshot

ROOT = Path(__file__).resolve().parent.parent
_WHERE = """
import json, os
from pathlib import Path
from platformdirs import user_cache_dir, user_config_dir, user_data_dir, user_state_dir
from intents.cache import cache_dir
from knowledge.diary.store import default_path
from voice.asr.installed_models import user_models_dir
from voice.runtime.settings import config_path
print(json.dumps({"home": str(Path.home()), "expanded": os.path.expanduser("~"),
                  "cache": user_cache_dir("numb-legs"), "config": user_config_dir("numb-legs"),
                  "data": user_data_dir("numb-legs"), "state": user_state_dir("numb-legs"),
                  "numb_legs_cache": str(cache_dir()), "diary": str(default_path()),
                  "settings": str(config_path()),
                  "models": str(user_models_dir())}))
"""


def _inside(path: str, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(folder.resolve())


def test_this_process_and_its_subprocesses_see_only_the_session_folders(test_session):
    here = json.loads(subprocess.run([sys.executable, "-c", _WHERE], capture_output=True, text=True,
                                     cwd=ROOT, check=True, timeout=60).stdout)
    for name, path in here.items():
        assert _inside(path, test_session.root), (name, path)
    assert Path(here["numb_legs_cache"]) == test_session.cache  # one cache for every process
    assert os.environ["HOME"] == here["home"] == str(test_session.home)


def test_the_home_check_sees_a_file_added_changed_or_removed(tmp_path):
    home = tmp_path / "home"
    (home / ".cache" / "numb-legs").mkdir(parents=True)
    (home / ".config").mkdir()
    matcher = home / ".cache" / "numb-legs" / "matcher-1.pickle"
    matcher.write_bytes(b"1")
    before = home_snapshot(home)
    assert home_changes(before, home_snapshot(home)) == []

    matcher.write_bytes(b"22")
    (home / ".config" / "chromium" / "Crash Reports").mkdir(parents=True)
    (home / ".config" / "something-else").write_text("x")  # not watched, but its name is new
    changes = home_changes(before, home_snapshot(home))
    assert "changed: .cache/numb-legs/matcher-1.pickle" in changes, changes
    assert "added: .config/chromium/Crash Reports" in changes, changes
    assert "added: .config/something-else (name)" in changes, changes

    matcher.unlink()
    assert "removed: .cache/numb-legs/matcher-1.pickle" in home_changes(before, home_snapshot(home))

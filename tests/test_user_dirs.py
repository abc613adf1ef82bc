"""knowledge/user_dirs.py: the user's folders, and the variables that override them."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.user_dirs import user_dir


def test_the_variable_wins_when_set_and_not_empty(tmp_path):
    env = {"NUMB_LEGS_DATA_DIR": str(tmp_path / "data")}
    assert user_dir("data", "NUMB_LEGS_DATA_DIR", env) == tmp_path / "data"
    assert user_dir("data", "NUMB_LEGS_DATA_DIR", {"NUMB_LEGS_DATA_DIR": ""}) != Path("")


@pytest.mark.parametrize(("kind", "xdg"), [("cache", "XDG_CACHE_HOME"),
                                           ("config", "XDG_CONFIG_HOME"),
                                           ("data", "XDG_DATA_HOME")])
def test_each_kind_is_the_platform_folder_for_numb_legs(kind, xdg, tmp_path, monkeypatch):
    # platformdirs follows the XDG variables on Linux: a real lookup, inside tmp_path.
    monkeypatch.setenv(xdg, str(tmp_path / xdg))
    assert user_dir(kind, "NUMB_LEGS_UNSET_FOR_THIS_TEST", {}) == tmp_path / xdg / "numb-legs"

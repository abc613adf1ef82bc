"""The user's folders numb-legs keeps its files in, each overridable by an environment variable."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

APP_NAME = "numb-legs"


def user_dir(kind: Literal["cache", "config", "data"], variable: str | None = None,
             env: Mapping[str, str] = os.environ) -> Path:
    """$VARIABLE when it is set and not empty, else the user's KIND folder for numb-legs
    (on Linux ~/.cache/numb-legs, ~/.config/numb-legs, ~/.local/share/numb-legs)."""
    if variable and env.get(variable):
        return Path(env[variable])
    import platformdirs  # imported when needed: most runs name their folders or use none

    find = {"cache": platformdirs.user_cache_dir, "config": platformdirs.user_config_dir,
            "data": platformdirs.user_data_dir}[kind]
    return Path(find(APP_NAME, appauthor=False))

"""Keep every test away from the person's own settings file and diary (subprocesses inherit this)."""

import os
import tempfile

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_settings():
    with tempfile.TemporaryDirectory(prefix="numb-legs-settings-") as folder:
        previous = os.environ.get("NUMB_LEGS_CONFIG")
        os.environ["NUMB_LEGS_CONFIG"] = os.path.join(folder, "settings.toml")
        yield
        if previous is None:
            os.environ.pop("NUMB_LEGS_CONFIG", None)
        else:
            os.environ["NUMB_LEGS_CONFIG"] = previous


@pytest.fixture(autouse=True, scope="session")
def _private_data_dir():
    # The numbness diary lives in the data folder: never the person's own diary in a test.
    with tempfile.TemporaryDirectory(prefix="numb-legs-data-") as folder:
        previous = os.environ.get("NUMB_LEGS_DATA_DIR")
        os.environ["NUMB_LEGS_DATA_DIR"] = folder
        yield
        if previous is None:
            os.environ.pop("NUMB_LEGS_DATA_DIR", None)
        else:
            os.environ["NUMB_LEGS_DATA_DIR"] = previous

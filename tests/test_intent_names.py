"""Intent names in code (intents/names.py) against intents/data/intents.toml."""

import json
import tomllib
from importlib.resources import files

import pytest

from intents.loader import intents_from_dict, load_intents
from intents.names import INTENT_NAMES, TEMPLATED_NAMES, IntentName
from knowledge import DataFileError


def _data() -> dict:
    return tomllib.loads(files("intents").joinpath("data", "intents.toml").read_text(encoding="utf-8"))


def test_every_name_in_code_has_templates_and_no_other():
    loaded = {intent.name for intent in load_intents().intents}
    assert loaded == TEMPLATED_NAMES
    assert set(INTENT_NAMES) == loaded | {"unknown"}


def test_a_data_intent_the_code_does_not_know_is_refused_naming_file_and_name():
    data = _data()
    data["intents"]["set_alarm"] = {"templates": ["set an alarm"]}
    with pytest.raises(DataFileError) as err:
        intents_from_dict("broken.toml", data)
    assert err.value.file == "broken.toml"
    assert "set_alarm" in str(err.value)


def test_a_name_in_code_the_data_lacks_is_refused_naming_file_and_name():
    data = _data()
    del data["intents"]["prevention"]
    with pytest.raises(DataFileError) as err:
        intents_from_dict("broken.toml", data)
    assert err.value.file == "broken.toml"
    assert "'prevention'" in str(err.value)


def test_unknown_is_never_given_templates():
    data = _data()
    data["intents"]["unknown"] = {"templates": ["whatever"]}
    with pytest.raises(DataFileError, match="'unknown'"):
        intents_from_dict("broken.toml", data)


def test_a_name_is_its_plain_string():
    # Match.intent, JSON records and log lines carry the plain name, as before the enum.
    assert IntentName.CAUSE_INFO == "cause_info"
    assert f"{IntentName.CAUSE_INFO}" == "cause_info"
    assert json.dumps({"intent": IntentName.CAUSE_INFO}) == '{"intent": "cause_info"}'

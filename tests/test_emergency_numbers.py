"""The emergency number comes from a data file with a source for every entry, by locale."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge.datafile import read_package_toml
from knowledge.errors import DataFileError
from voice.dialogue.emergency_numbers import (
    emergency_numbers_from_dict,
    load_emergency_numbers,
    locale_territory,
)
from voice.dialogue.responses import load_responses
from voice.runtime.settings import Settings, choose_emergency_number, describe

ROOT = Path(__file__).resolve().parent.parent
EU = ("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
      "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE")


@pytest.fixture(scope="module")
def raw():
    return read_package_toml("voice", "emergency_numbers.toml")[1]


def test_the_table_loads_and_every_entry_names_its_source():
    table = load_emergency_numbers()
    assert table.default.number == "112"
    for entry in (table.default, *table.territories.values()):
        assert entry.source_name and entry.source_url.startswith("https://"), entry
        assert entry.number.isdigit(), entry
    wanted = {"GB", "IE", "US", "CA", "AU", "NZ", "IN", "ZA", "PH", "SG", "HK", "MX", "JP", "KR",
              "CN", "MY", "NG", "KE", "AE", "SA", "BR", *EU}
    assert wanted <= set(table.territories)


@pytest.mark.parametrize("locale, number", [
    ("en_PH.UTF-8", "911"), ("en_SG", "995"), ("ja_JP", "119"), ("ja_JP.eucJP", "119"),
    ("C", "112"), ("POSIX", "112"), ("C.UTF-8", "112"), ("en", "112"), ("xx_ZZ", "112"),
    (None, "112"), ("", "112"),
    ("en_GB.UTF-8", "999"), ("en_US", "911"), ("en_CA", "911"), ("fr_CA.UTF-8", "911"),
    ("en_AU", "000"), ("en_NZ", "111"), ("en_IN", "112"), ("en_ZA", "112"), ("en_HK", "999"),
    ("es_MX", "911"), ("ko_KR.UTF-8", "119"), ("zh_CN.UTF-8", "120"), ("ms_MY", "999"),
    ("en_NG", "112"), ("sw_KE", "999"), ("ar_AE", "998"), ("ar_SA", "997"), ("pt_BR", "192"),
    ("de_DE@euro", "112"), ("sr_RS@latin", "112"), ("en-US", "911"), ("nb_NO", "113"),
])
def test_locales_give_the_number_for_an_ambulance(locale, number):
    assert load_emergency_numbers().for_locale(locale).number == number
    assert load_responses().emergency_number(locale) == number  # the skill's way in


@pytest.mark.parametrize("territory", EU)
def test_every_eu_country_gives_112(territory):
    assert load_emergency_numbers().territories[territory].number == "112"


def test_locale_territory():
    assert locale_territory("en_GB.UTF-8") == "GB"
    assert locale_territory("sr_RS@latin") == "RS"
    assert locale_territory("zh-Hant-TW") == "TW"
    assert locale_territory("C.UTF-8") == locale_territory("POSIX") == locale_territory(None) == ""


@pytest.mark.parametrize("mutate, key, problem", [
    (lambda d: d["territories"]["GB"].__setitem__("number", "99x"), "territories.GB.number",
     "'99x' is not a number to dial"),
    (lambda d: d["territories"]["JP"].__setitem__("number", 119), "territories.JP.number",
     "must be a string"),
    (lambda d: d["territories"].__setitem__("gb", d["territories"]["GB"]), "territories.gb",
     "'gb' is not a territory"),
    (lambda d: d["territories"]["SG"].pop("source"), "territories.SG.source", "is missing"),
    (lambda d: d["territories"]["SG"]["source"].__setitem__("url", "http://example.org"),
     "territories.SG.source.url", "'http://example.org' is not an https address"),
    (lambda d: d.pop("default"), "default", "is missing"),
    (lambda d: d["territories"]["US"].__setitem__("numbr", "911"), "territories.US.numbr",
     "not a known key"),
])
def test_broken_table_names_file_key_and_value(raw, mutate, key, problem):
    data = copy.deepcopy(raw)
    mutate(data)
    with pytest.raises(DataFileError) as caught:
        emergency_numbers_from_dict("voice/data/emergency_numbers.toml", data)
    message = str(caught.value)
    assert "voice/data/emergency_numbers.toml" in message and key in message and problem in message


def test_the_choice_and_where_it_came_from():
    table = load_emergency_numbers()
    assert choose_emergency_number("000", "999", "en_GB", table).explained() == \
        "000 (set with --emergency-number)"
    assert choose_emergency_number(None, "999", "en_US", table).explained() == \
        "999 (set in your settings file)"
    assert choose_emergency_number(None, None, "en_GB.UTF-8", table).explained() == \
        "999 (from your locale en_GB)"
    assert choose_emergency_number(None, None, "C.UTF-8", table).explained() == \
        "112 (the default, as your locale C names no country)"
    assert choose_emergency_number(None, None, "en_ZZ", table).explained() == \
        "112 (the default, as no number is listed for your locale en_ZZ)"
    shown = describe(Settings(), Path("settings.toml"), emergency_option="000",
                     env={"LANG": "en_GB.UTF-8"})
    assert shown[-1] == "Emergency number: 000 (set with --emergency-number)"


def _settings_output(tmp_path, lang, saved=""):
    config = tmp_path / "settings.toml"
    config.write_text(saved, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG")}
    env.update(NUMB_LEGS_CONFIG=str(config), LANG=lang)
    result = subprocess.run([sys.executable, "-m", "voice", "settings"], capture_output=True,
                            text=True, cwd=ROOT, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line.startswith("Emergency number:")]


@pytest.mark.parametrize("lang, line", [
    ("en_GB.UTF-8", "Emergency number: 999 (from your locale en_GB)"),
    ("en_PH.UTF-8", "Emergency number: 911 (from your locale en_PH)"),
    ("ja_JP.UTF-8", "Emergency number: 119 (from your locale ja_JP)"),
    ("C", "Emergency number: 112 (the default, as your locale C names no country)"),
])
def test_settings_command_shows_the_number_in_effect(tmp_path, lang, line):
    """The real CLI in a subprocess, its locale from LANG."""
    assert _settings_output(tmp_path, lang) == [line]


def test_settings_command_shows_a_saved_number(tmp_path):
    assert _settings_output(tmp_path, "en_GB.UTF-8", 'emergency_number = "000"\n') == \
        ["Emergency number: 000 (set in your settings file)"]

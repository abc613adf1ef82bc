"""Responses (voice/dialogue/responses.py): typed fields, checked keys and placeholders."""

import copy
import tomllib
from importlib.resources import files

import pytest

from knowledge import DataFileError
from voice.dialogue.responses import (
    PLACEHOLDER,
    JournalTexts,
    Responses,
    Template,
    load_responses,
    response_texts,
    responses_from_dict,
)

LABEL = "responses-under-test.toml"


@pytest.fixture(scope="module")
def shipped() -> dict:
    return tomllib.loads(files("voice").joinpath("data", "responses.toml").read_text(encoding="utf-8"))


@pytest.fixture
def data(shipped) -> dict:
    return copy.deepcopy(shipped)


def _refused(data: dict) -> DataFileError:
    with pytest.raises(DataFileError) as err:
        responses_from_dict(LABEL, data)
    assert err.value.file == LABEL
    return err.value


def test_the_shipped_file_loads_into_typed_fields():
    r = load_responses()
    assert isinstance(r.too_long, str)
    assert isinstance(r.emergency_generic, Template)
    assert isinstance(r.journal, JournalTexts)
    assert not hasattr(Responses, "__getattr__")  # no key is made up on the fly


def test_a_misspelt_response_is_not_an_attribute():
    with pytest.raises(AttributeError):
        load_responses().too_lnog  # noqa: B018 - the attribute access is what is tested


def test_a_misspelt_key_is_refused_naming_the_file_and_the_key(data):
    data["too_lnog"] = data.pop("too_long")
    assert "too_lnog" in str(_refused(data))


def test_a_missing_key_is_refused_naming_the_file_and_the_key(data):
    del data["too_long"]
    err = _refused(data)
    assert err.key == "too_long"
    assert "missing" in err.problem


def test_a_misspelt_diary_key_is_refused(data):
    data["journal"]["read_bak"] = data["journal"].pop("read_back")
    assert "journal.read_bak" in str(_refused(data))


def test_a_missing_diary_key_is_refused(data):
    del data["journal"]["summary_more"]
    assert _refused(data).key == "journal.summary_more"


def test_a_missing_more_text_is_refused(data):
    del data["more"]["again_action"]
    assert _refused(data).key == "more.again_action"


def test_an_unknown_placeholder_is_refused_naming_the_key_and_the_placeholder(data):
    data["emergency_generic"] = "Call {numbr} now."
    err = _refused(data)
    assert err.key == "emergency_generic"
    assert "{numbr}" in err.problem and "{number}" in err.problem


def test_a_placeholder_in_a_plain_response_is_refused(data):
    data["too_long"] = "That was too long, {name}."
    err = _refused(data)
    assert err.key == "too_long"
    assert "{name}" in err.problem


def test_a_placeholder_another_diary_sentence_fills_is_refused(data):
    data["journal"]["summary_none_before"] = "More than the {previous} in {before}."
    err = _refused(data)
    assert err.key == "journal.summary_none_before"
    assert "{previous}" in err.problem


def test_names_and_confirm_fill_only_their_own_placeholders(data):
    data["names"]["see_doctor"] = "when to see a doctor about {topic}"
    assert _refused(data).key == "names.see_doctor"
    data = copy.deepcopy(data)
    data["names"]["see_doctor"] = "when to see a doctor"
    data["confirm"]["default"] = "Did you mean {cause}?"
    assert _refused(data).key == "confirm.default"


def test_a_menu_entry_must_be_a_named_intent(data):
    data["menu"] = ["causes_overview", "relief_now", "see_the_doctor"]
    assert "see_the_doctor" in str(_refused(data))


def test_fill_replaces_every_placeholder_and_refuses_a_wrong_or_missing_value():
    template = Template("k", "{before}: the {previous} in {before}.", frozenset({"previous", "before"}))
    assert template.fill(previous="two", before="last week") == "last week: the two in last week."
    with pytest.raises(ValueError, match="'k'"):
        template.fill(previous="two")
    with pytest.raises(ValueError, match="numbr"):
        template.fill(previous="two", before="last week", numbr="999")


def test_fill_may_leave_out_a_placeholder_the_text_does_not_use():
    # "There were none in {before}." is filled like its siblings, which also say {previous}.
    template = Template("k", "There were none {before}.", frozenset({"before"}))
    assert template.fill(before="last week") == "There were none last week."


def test_every_shipped_response_says_only_what_its_code_fills():
    r = load_responses()
    for texts in (r, r.more.texts, r.journal):
        for key, text in response_texts(texts).items():
            value = getattr(texts, key)
            allowed = value.placeholders if isinstance(value, Template) else frozenset()
            assert set(PLACEHOLDER.findall(text)) <= allowed, key


def test_mypy_refuses_a_misspelt_response_and_an_unfilled_template(tmp_path):
    # What the typed fields are for: a typo, or a Template said without filling it, is a type
    # error before anything runs (make test runs mypy over voice/).
    from tests.typecheck import mypy_errors

    errors = mypy_errors("from voice.dialogue.responses import load_responses\n"
                         "r = load_responses()\n"
                         "a: str = r.too_lnog\n"
                         "b: str = r.emergency_generic\n"
                         "c: str = r.emergency_generic.fill(number='999')\n", tmp_path)
    assert any('"Responses" has no attribute "too_lnog"' in line for line in errors), errors
    assert any('expression has type "Template", variable has type "str"' in line
               for line in errors), errors
    assert len(errors) == 2, errors  # the filled one is fine


def test_fill_refuses_a_hand_built_template_saying_more_than_it_declares():
    with pytest.raises(ValueError, match="numbr"):
        Template("k", "Call {numbr}.", frozenset({"number"})).fill(number="999")

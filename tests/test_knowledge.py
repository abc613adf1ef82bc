import copy

import pytest

from knowledge import CAUSE_IDS, RED_FLAG_IDS, DataFileError, knowledge_from_dict, load_knowledge, rank_causes
from knowledge.datafile import Node, read_package_toml


@pytest.fixture(scope="module")
def raw():
    return read_package_toml("knowledge", "knowledge.toml")[1]


@pytest.fixture(scope="module")
def flags():
    return read_package_toml("knowledge", "red_flags.toml")[1]


def test_shipped_knowledge_has_the_contract():
    kb = load_knowledge()
    assert [c.id for c in kb.causes] == list(CAUSE_IDS)
    assert {f.id for f in kb.red_flags} == set(RED_FLAG_IDS)
    for cause in kb.causes:
        assert len(cause.aliases) >= 3 and cause.explanation and cause.action
    for flag in kb.red_flags:
        assert flag.source.url.startswith("https://") and flag.source.name
        assert "{number}" not in flag.advice_for("112") and "112" in flag.advice_for("112")
    assert [s.id for s in kb.relief.steps][0] == "change_position"
    # The seed article's examinations are all described.
    tests = " ".join(kb.diagnosis.parts)
    for examination in ("X-ray", "CT scan", "ultrasound", "Electroneuromyography"):
        assert examination in tests, examination


def test_spoken_text_is_short_and_plain():
    kb = load_knowledge()
    texts = [kb.disclaimer, *(part.replace("{number}", "112") for answer in kb.answers().values()
                              for part in answer.parts),
             *(s.say for s in kb.relief.steps), *(f.advice_for("112") for f in kb.red_flags)]
    for text in texts:
        for sentence in text.replace("!", ".").replace("?", ".").split(". "):
            assert len(sentence.split()) <= 25, sentence
        assert not set(text) & set("()[]{}<>*#/"), text


def _cause(data, cause_id):
    return next(c for c in data["causes"] if c["id"] == cause_id)


@pytest.mark.parametrize("mutate, key, problem", [
    (lambda d: d["causes"].remove(_cause(d, "neuropathy")), "causes", "'neuropathy' is missing"),
    (lambda d: d["causes"][2].__setitem__("prior", 9), "causes[2].prior", "outside 1..5"),
    (lambda d: d["causes"][0]["indicators"].__setitem__("headache", 1), "causes[0].indicators.headache",
     "not a feature id"),
    (lambda d: d.__setitem__("overview", 42), "overview", "must be a table"),
    (lambda d: d["overview"].__setitem__("first", "Numb. " * 41), "overview.first",
     "has 41 words; a part said in one go may have at most 40"),
    (lambda d: d["causes"][1].__setitem__("summary", "One. Two. Three."), "causes[1].summary",
     "has 3 sentences; the first part of an answer may have at most 2"),
    (lambda d: d["diagnosis"]["more"].append("Tests. " * 41), "diagnosis.more[6]", "has 41 words"),
    (lambda d: d["relief"].__setitem__("intro", "Wake up. " * 16), "relief.intro",
     "has 56 words; a part said in one go may have at most 40"),
    (lambda d: _cause(d, "raynaud")["aliases"].append("slipped disc"), "].aliases[",
     "'slipped disc' already belongs"),
    (lambda d: d.__setitem__("colour", "red"), "colour", "not a known key"),
])
def test_broken_data_names_file_key_and_problem(raw, flags, mutate, key, problem):
    data = copy.deepcopy(raw)
    mutate(data)
    message = _refusal(data, flags)
    assert "knowledge.toml" in message and key in message and problem in message


def _refusal(knowledge, flags) -> str:
    """The message of the error loading KNOWLEDGE and FLAGS raises."""
    with pytest.raises(DataFileError) as caught:
        knowledge_from_dict("knowledge.toml", knowledge, Node("red_flags.toml", flags))
    return str(caught.value)


@pytest.mark.parametrize("mutate, key, problem", [
    (lambda d: d["red_flags"][0]["source"].pop("url"), "red_flags[0].source.url", "missing"),
    (lambda d: d["red_flags"][1].__setitem__("advice", "Rest."), "red_flags[1].advice", "{number}"),
    (lambda d: d["red_flags"][0]["rules"][0]["all"].append("sudenly"), "red_flags[0].rules[0].all",
     "'sudenly' is not a concept"),
    (lambda d: d["red_flags"][0]["rules"][0].__setitem__("unless", ["lifing"]),
     "red_flags[0].rules[0].unless", "'lifing' is not a concept"),
    (lambda d: d["concepts"]["face"].__setitem__("kind", "limb"), "concepts.face.kind",
     "not one of"),
    (lambda d: d["concepts"]["face"]["words"].append("Face!"), "concepts.face.words",
     "lower-case words"),
    (lambda d: d["words"].pop("negation"), "words.negation", "missing"),
    (lambda d: d["forms"].__setitem__("Cannae", "cannot"), "forms", "lower-case words"),
])
def test_broken_red_flags_name_file_key_and_problem(raw, flags, mutate, key, problem):
    data = copy.deepcopy(flags)
    mutate(data)
    message = _refusal(raw, data)
    assert "red_flags.toml" in message and key in message and problem in message


def test_ranking_follows_the_described_features():
    kb = load_knowledge()
    assert rank_causes(kb, ["diabetes", "burning_feet"])[0].cause.id == "neuropathy"
    assert rank_causes(kb, ["cold_pale_toes"])[0].cause.id == "raynaud"
    assert rank_causes(kb, ["after_sitting"])[0].cause.id == "poor_circulation"
    # Nothing known: the most common cause first.
    assert rank_causes(kb, [])[0].cause.id == "poor_circulation"


def test_the_content_faults_of_the_safety_audit_stay_fixed():
    """Issue 11's content audit: each fault, checked in the shipped text."""
    kb = load_knowledge()
    assert not kb.see_doctor_soon.answer.first.lower().startswith(
        "this does not sound like an emergency")
    tia = kb.cause("microstroke")
    assert "emergency" in tia.action.lower() and "even if it is passing" in tia.action
    assert "rare" not in kb.cause("raynaud").explanation.replace("call it rare", "").lower()
    assert "arthritis" not in kb.cause("rheumatoid_arthritis").aliases
    assert {"spondylosis", "degenerative disc disease"} & set(kb.cause("osteochondrosis").aliases)
    assert "Blood tests" in kb.diagnosis.parts[1] and "MRI" in kb.diagnosis.parts[2]
    vessels = [part for part in kb.prevention.parts if "cool water" in part or "contrast" in part]
    assert len(vessels) == 2
    for tip in vessels:
        assert "Raynaud's" in tip and "diabetes" in tip, tip
    assert "clot" in kb.cause("atherosclerosis").action + kb.cause("atherosclerosis").signs
    assert "feet every day" in kb.cause("neuropathy").action


def test_help_says_to_call():
    from voice.dialogue.responses import load_responses

    assert "call {number} at once" in load_responses().help.first

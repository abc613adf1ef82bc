"""Printed text is written for reading, spoken text for speaking, from one source: the synthesiser's
spellings (voice/data/pronunciations.toml) are applied on the way to it and never printed."""

from __future__ import annotations

import re

import pytest

from knowledge import load_knowledge
from voice.dialogue.responses import load_responses, response_texts
from voice.tts.spellings import respell, synthesiser_spellings
from voice.tts.synthesizer import Synthesizer, speakable


def _printed_texts() -> list[str]:
    """Everything the assistant prints and says from its data, except the red-flag advice
    (red_flags.toml; see the test at the end)."""
    kb = load_knowledge()
    r = load_responses()
    relief = kb.relief
    return [
        kb.disclaimer, *(part for answer in kb.answers().values() for part in answer.parts),
        *(cause.name for cause in kb.causes),
        *(text for feature in kb.features for text in (feature.label, feature.question)),
        relief.intro, relief.check, relief.better, relief.not_enough,
        *(step.say for step in relief.steps), *(flag.question for flag in kb.red_flags),
        *response_texts(r).values(), *(name.text for name in r.names.values()), r.confirm.text,
        *r.offer_questions.values(), *r.help.parts, r.help.offer, *response_texts(r.more.texts).values(),
        *response_texts(r.journal).values(),
        *r.journal_words.values(),
    ]


def _holds(text: str, phrase: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text, re.IGNORECASE) is not None


def test_no_printed_text_holds_a_synthesiser_spelling():
    texts = _printed_texts()
    assert len(texts) > 150
    for written, spoken in synthesiser_spellings():
        for text in texts:
            assert not _holds(text, spoken), f"{spoken!r} (for {written!r}) is printed in: {text}"


def test_the_spoken_form_uses_the_table():
    texts = _printed_texts()
    used = set()
    for written, spoken in synthesiser_spellings():
        for text in texts:
            if _holds(text, written):
                said = speakable(text)
                assert _holds(said, spoken) and not _holds(said, written), (written, said)
                used.add(written)
    # The hard words the data really uses are all spoken from the table.
    assert {"Raynaud's", "MRI", "CT", "B12", "electroneuromyography", "osteochondrosis"} <= used


@pytest.mark.parametrize("text, said", [
    ("In Raynaud's disease", "In Raynoh's disease"),
    ("Raynaud and MRI", "Raynoh and M R I"),
    ("Electroneuromyography tests how", "Electro neuro myography tests how"),
    ("low vitamin B12.", "low vitamin B twelve."),
    ("an X-ray or a CT scan", "an X-ray or a C T scan"),
    ("exact act", "exact act"),  # whole words only
    ("Guillain-Barré syndrome", "Ghee yan Bar ray syndrome"),
    ("cauda equina syndrome", "cauda equeena syndrome"),
])
def test_respell(text, said):
    assert respell(text) == said


@pytest.mark.parametrize("text, said", [
    ("Call 999 now.", "Call 9 9 9 now."),
    ("today at 8:05 in the evening", "today at 8 oh 5 in the evening"),
    ("today at 8:30 in the evening", "today at 8:30 in the evening"),
    ("on 2 November at 11 o'clock", "on the 2nd of November at 11 o'clock"),
    ("on 11 May, 21 June, 3 July", "on the 11th of May, the 21st of June, the 3rd of July"),
    ("It lasted 120 minutes.", "It lasted 120 minutes."),
])
def test_numbers_times_and_dates_are_said_as_people_say_them(text, said):
    assert speakable(text) == said


class _Recording(Synthesizer):
    """The real synthesiser, noting the text it is handed (espeak-ng's output varies by a few
    samples from run to run, so the audio itself cannot be compared)."""

    def __init__(self) -> None:
        super().__init__()
        self.rendered: list[str] = []

    def _render(self, text: str, path: str) -> None:
        self.rendered.append(text)
        super()._render(text, path)


def test_the_synthesiser_is_handed_the_spelling_and_the_screen_the_word():
    synth = _Recording()
    text = load_knowledge().cause("raynaud").summary
    assert "Raynaud's" in text  # what is printed
    audio = synth.synthesize(text)
    assert audio.duration > 2.0
    assert synth.rendered == [text.replace("Raynaud's", "Raynoh's")]


def test_no_red_flag_text_holds_a_synthesiser_spelling():
    kb = load_knowledge()
    texts = [text for flag in kb.red_flags for text in (flag.advice, flag.condition)]
    for _, spoken in synthesiser_spellings():
        for text in texts:
            assert not _holds(text, spoken), text

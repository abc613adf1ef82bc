"""The domain language model's sentences: what PocketSphinx is told people may say."""

from __future__ import annotations

from collections import Counter

from intents.normalize import normalize
from intents.templates import expand
from knowledge.loader import load_knowledge
from voice.asr.domain_tuning import _BUILDERS, dialogue_words, domain_sentences
from voice.dialogue.responses import load_responses


def test_contractions_are_kept_as_said_and_expanded():
    sentences = set(domain_sentences())
    assert "can't control my bladder" in sentences
    assert "cannot control my bladder" in sentences
    # The matcher reads both alike.
    assert normalize("can't control my bladder") == normalize("cannot control my bladder")


def test_a_word_without_an_apostrophe_is_not_contracted_again():
    assert normalize("i cant feel my legs", expand_contractions=False) == "i cant feel my leg"
    assert not any(" cant " in f" {s} " for s in domain_sentences())


def test_red_flags_weigh_as_a_group_not_as_single_sentences():
    kb = load_knowledge()
    flags = {normalize(p, keep_fillers=True, stem=False)
             for flag in kb.red_flags for t in flag.patterns for p in expand(t)}
    counts = Counter(domain_sentences(balanced=True))
    # Weighed as single sentences, each would appear once among 40,000 and a spoken red flag
    # would lose to any common question that sounds a little alike.
    assert min(counts[s] for s in flags) >= 2
    assert sum(counts[s] for s in flags) >= max(counts.values())


def test_the_recogniser_hears_the_words_the_dialogue_listens_for():
    responses = load_responses()
    said = (*responses.menu_words, responses.more.words, responses.more.action_words)
    assert dialogue_words() == tuple(word for words in said for word in words)
    sentences = set(domain_sentences())
    assert {normalize(w, keep_fillers=True, stem=False) for w in dialogue_words()} - {""} <= sentences


def test_the_domain_cache_is_keyed_on_files_that_exist():
    # A file missing from the key would leave a stale model in the cache when it changes.
    from importlib import resources

    for package, name in _BUILDERS:
        assert resources.files(package).joinpath(*name.split("/")).is_file(), name


def test_the_vosk_phrase_list_is_kept_and_read_back_the_same(tmp_path, monkeypatch):
    """Working the phrases out takes most of a second: a later start reads them from disk."""
    from voice.asr.domain_tuning import vosk_grammar, vosk_grammar_cached

    monkeypatch.setenv("NUMB_LEGS_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("NUMB_LEGS_NO_CACHE", raising=False)
    extra = ("hey numb legs",)
    assert not vosk_grammar_cached(extra)
    built = vosk_grammar(extra, limit=50)
    assert built == [*domain_sentences(extra)[:50], "[unk]"]
    assert vosk_grammar_cached(extra, limit=50)
    assert not vosk_grammar_cached(("okay legs",), limit=50)  # another wake phrase, another list
    assert vosk_grammar(extra, limit=50) == built

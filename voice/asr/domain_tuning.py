"""The recognisers' view of the domain, built from the same data the matcher uses.

No second word list: sentences come from the intent templates (sampled, slots filled with the
knowledge base's cause aliases and symptom phrases), red-flag patterns, symptom phrases, the
menu words and the words that ask for more of an answer. From them: a trigram language model and
a pronunciation dictionary for PocketSphinx, a phrase list (grammar) for Vosk. What is costly is
cached on disk, keyed by the data.
"""

from __future__ import annotations

import hashlib
import logging
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from intents.cache import cache_dir, cached, files_intact, fingerprint, is_cached, write_sealed
from intents.loader import load_templates
from intents.normalize import normalize
from intents.templates import cover, expand, sample, widest
from knowledge.datafile import Node, read_package_toml
from knowledge.loader import load_knowledge

from .language_model import arpa_trigram
from .phones import pronunciations, read_dictionary

_LOGGER = logging.getLogger(__name__)

SAMPLES_PER_TEMPLATE = 60
_BUILDERS = (("voice", "asr/domain_tuning.py"), ("voice", "asr/language_model.py"),
             ("voice", "asr/phones.py"), ("voice", "data/ipa_arpabet.toml"),
             ("voice", "data/responses.toml"))
_SEED = 20261124  # fixed: the same data always gives the same model (and cache hit)


@lru_cache(maxsize=16384)  # sampling repeats sentences: 19,500 calls for 7,600 distinct ones
def _speakable(text: str) -> str:
    return normalize(text, keep_fillers=True, stem=False)


@lru_cache(maxsize=65536)  # each sentence comes back once more, as its intent's sentences are added
def _spoken_forms(text: str) -> tuple[str, ...]:
    """TEXT as a recogniser may write it: with contractions expanded, and as written.

    The matcher reads "can't" and "cannot" alike, but they sound different: a model that has
    only "cannot" hears a spoken "can't" as something else ("i have control my bladder").
    """
    forms = [_speakable(text)]
    if "'" in text or "’" in text:  # only a written contraction has a second form
        forms.append(normalize(text, keep_fillers=True, stem=False, expand_contractions=False))
    return tuple(form for form in dict.fromkeys(forms) if form)


@lru_cache(maxsize=1)
def dialogue_words() -> tuple[str, ...]:
    """What the dialogue listens for besides the intents: menu numbers, "tell me more", "what
    should I do" (voice/data/responses.toml: menu_words, more.words, more.action_words).

    Read from the data file, not through the dialogue's loader, which sits above the
    recognisers; that loader checks the file, and a test checks that both read the same words.
    """
    label, data = read_package_toml("voice", "responses.toml")
    root = Node(label, data)
    more = root.get("more")
    groups = (*(group.texts() for group in root.get("menu_words").list()),
              more.get("words").texts(), more.get("action_words").texts())
    return tuple(word for words in groups for word in words)


def domain_sentences(extra: tuple[str, ...] = (), *, balanced: bool = False) -> list[str]:
    """Sentences a person may say to the assistant, normalised as a recogniser writes them.

    BALANCED repeats each intent's sentences so every intent weighs about the same in a
    language model: otherwise "help" or "goodbye", one line each, drown among thousands of
    question variants and the recogniser hardly ever hears them. The red-flag phrases weigh as
    one more intent, for the same reason. Weighed as single sentences, 33 of the 50 red-flag
    lines of the development and held-out sets, read aloud, were caught; as a group, and with
    contractions kept (`_spoken_forms`), 38 (tests/test_spoken.py).
    """
    rng = random.Random(_SEED)
    kb = load_knowledge()
    aliases = [alias for cause in kb.causes for alias in cause.names]
    symptoms = [p for feature in kb.features for t in feature.phrases for p in expand(t)]

    def fill(slot: str) -> str:
        return rng.choice(aliases if slot == "cause" else symptoms)

    sentences: dict[str, None] = {}

    def add(text: str) -> None:
        for spoken in _spoken_forms(text):
            sentences.setdefault(spoken, None)

    per_intent: list[list[str]] = []
    for _, templates in load_templates():
        own: dict[str, None] = {}
        for template in templates:
            made = [cover(template, k, fill) for k in range(widest(template))]
            made += [sample(template, rng, fill) for _ in range(SAMPLES_PER_TEMPLATE)]
            for text in made:
                for spoken in _spoken_forms(text):
                    own.setdefault(spoken, None)
        per_intent.append(list(own))
        for sentence in own:
            add(sentence)
    red_flags: dict[str, None] = {}
    for flag in kb.red_flags:
        for template in flag.patterns:
            for phrase in expand(template):
                for spoken in _spoken_forms(phrase):
                    red_flags.setdefault(spoken, None)
    per_intent.append(list(red_flags))
    for sentence in red_flags:
        add(sentence)
    for sign in kb.see_doctor_soon.signs:
        for template in sign.patterns:
            for phrase in expand(template):
                add(phrase)
    for phrase in (*symptoms, *aliases):
        add(phrase)
    for word in dialogue_words():
        add(word)
    for text in extra:
        add(text)
    if not balanced:
        return list(sentences)
    largest = max(len(group) for group in per_intent)
    weighted = list(sentences)
    for group in per_intent:
        weighted.extend(group * (largest // len(group) - 1))
    for text in extra:
        weighted.extend([_speakable(text)] * max(1, largest // 4))
    return weighted


@dataclass(frozen=True)
class SphinxDomain:
    """Files PocketSphinx loads for the domain-tuned mode."""

    lm: Path
    dictionary: Path
    words: int


def _domain_files(extra: tuple[str, ...], where: Path | None) -> tuple[Path, Path]:
    key = fingerprint(_BUILDERS) + "-" + hashlib.sha256("\n".join(extra).encode()).hexdigest()[:8]
    folder = (where or cache_dir()) / f"sphinx-{key}"
    return folder / "domain.arpa", folder / "domain.dict"


def sphinx_domain_cached(extra: tuple[str, ...] = (), where: Path | None = None) -> bool:
    """Is the domain model for EXTRA already built, whole (so loading it is quick)?"""
    lm, dictionary = _domain_files(extra, where)
    return files_intact(lm.parent, (lm.name, dictionary.name))


def build_sphinx_domain(base_dictionary: Path, extra: tuple[str, ...] = (),
                        where: Path | None = None) -> SphinxDomain:
    """The domain language model and dictionary, from the cache when the data has not changed
    and the files are whole; otherwise (first start, or a damaged cache) built again."""
    lm, dictionary = _domain_files(extra, where)
    folder = lm.parent
    if files_intact(folder, (lm.name, dictionary.name)):
        return SphinxDomain(lm, dictionary, dictionary.read_bytes().count(b"\n"))
    if folder.exists() or folder.is_symlink():
        # Damaged or half written (random bytes, cut short, a file gone): PocketSphinx would
        # fail on it, or worse, load it. Rebuilding costs seconds, and nobody needs telling.
        _LOGGER.debug("The PocketSphinx domain model in %s is damaged or incomplete; rebuilding",
                      folder)
        if not folder.is_dir():
            folder.unlink()
    sentences = domain_sentences(extra, balanced=True)
    words = {word for sentence in sentences for word in sentence.split()}
    phones = pronunciations(words, read_dictionary(base_dictionary))
    # Sentences with a word nobody can pronounce would teach the model an unusable word.
    usable = [s for s in sentences if all(word in phones for word in s.split())]
    write_sealed(folder, {lm.name: arpa_trigram(usable),
                          dictionary.name: "".join(f"{w} {p}\n" for w, p in sorted(phones.items()))})
    _LOGGER.info("Built the domain language model: %d sentences, %d words", len(usable), len(phones))
    return SphinxDomain(lm, dictionary, len(phones))


def vosk_grammar(extra: tuple[str, ...] = (), limit: int = 3000) -> list[str]:
    """Phrases for a Vosk runtime grammar, with "[unk]" so other speech is not forced in; kept
    on disk, as working them out takes most of a second at every start."""
    def build() -> list[str]:
        return [*domain_sentences(extra)[:limit], "[unk]"]

    return cached(_grammar_name(extra, limit), build, _BUILDERS)


def vosk_grammar_cached(extra: tuple[str, ...] = (), limit: int = 3000) -> bool:
    """Is vosk_grammar(EXTRA, LIMIT) on disk, whole (so start-up need not work it out)?"""
    return is_cached(_grammar_name(extra, limit), _BUILDERS)


def _grammar_name(extra: tuple[str, ...], limit: int) -> str:
    phrases = hashlib.sha256("\n".join(extra).encode()).hexdigest()[:8]
    return f"vosk-grammar-{limit}-{phrases}"


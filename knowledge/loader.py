"""Load and validate the knowledge base from its TOML data file."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

from .datafile import Node, read_package_toml, read_toml_path
from .model import (
    CAUSE_IDS,
    CONCEPT_KINDS,
    FIRST_MAX_SENTENCES,
    PART_MAX_WORDS,
    RED_FLAG_IDS,
    SAFETY_WORD_LISTS,
    Answer,
    Cause,
    Concept,
    Feature,
    KnowledgeBase,
    RedFlag,
    Relief,
    Rule,
    SafetyLexicon,
    SeeDoctorSoon,
    SoonSign,
    Source,
    Step,
    sentence_count,
    word_count,
)

_LOGGER = logging.getLogger(__name__)
_ALIAS = re.compile(r"^[a-z0-9' ]+$")
_LEXICON_WORD = re.compile(r"^-?[a-z0-9']+\*?$")
_FORM = re.compile(r"^[a-z]+( [a-z]+)*$")


@lru_cache(maxsize=1)
def load_knowledge() -> KnowledgeBase:
    """The shipped knowledge base (parsed once per process)."""
    label, data = read_package_toml("knowledge", "knowledge.toml")
    flags_label, flags = read_package_toml("knowledge", "red_flags.toml")
    return knowledge_from_dict(label, data, Node(flags_label, flags))


def knowledge_from_file(path: str, red_flags_path: str | None = None) -> KnowledgeBase:
    """The knowledge base in PATH, with the red flags in RED_FLAGS_PATH (default: the shipped)."""
    if red_flags_path is None:
        flags_label, flags = read_package_toml("knowledge", "red_flags.toml")
    else:
        flags_label, flags = red_flags_path, read_toml_path(red_flags_path)
    return knowledge_from_dict(path, read_toml_path(path), Node(flags_label, flags))


def knowledge_from_dict(label: str, data: dict[str, Any], flags: Node) -> KnowledgeBase:
    """Validate DATA (read from LABEL) and FLAGS (red_flags.toml) and build the knowledge base."""
    root = Node(label, data)
    root.reject_unknown({"schema_version", "disclaimer", "overview", "features", "causes", "relief",
                         "diagnosis", "prevention", "see_doctor_soon"})
    flags.reject_unknown({"schema_version", "forms", "words", "concepts", "red_flags"})
    root.require_version(1)
    flags.require_version(1)
    features = _features(root.get("features"))
    feature_ids = {feature.id for feature in features}
    lexicon = _lexicon(flags)
    kb = KnowledgeBase(
        disclaimer=root.get("disclaimer").text(),
        overview=answer_from(root.get("overview")),
        features=features,
        causes=_causes(root.get("causes"), feature_ids),
        relief=_relief(root.get("relief")),
        diagnosis=answer_from(root.get("diagnosis")),
        prevention=answer_from(root.get("prevention")),
        red_flags=_red_flags(flags.get("red_flags"), feature_ids, lexicon),
        see_doctor_soon=_soon(root.get("see_doctor_soon")),
        safety=lexicon,
    )
    _LOGGER.debug("Loaded %s: %d causes, %d red flags", label, len(kb.causes), len(kb.red_flags))
    return kb


def answer_part(node: Node, max_sentences: int | None = None) -> str:
    """The text at NODE, refused when it is too long to be said in one go."""
    text = node.text()
    words = word_count(text)
    if words > PART_MAX_WORDS:
        raise node.fail(f"has {words} words; a part said in one go may have at most "
                        f"{PART_MAX_WORDS} (about 12 seconds): move the rest to another part")
    sentences = sentence_count(text)
    if max_sentences is not None and sentences > max_sentences:
        raise node.fail(f"has {sentences} sentences; the first part of an answer may have at most "
                        f"{max_sentences}")
    return text


def answer_from(node: Node, extra_keys: frozenset[str] = frozenset()) -> Answer:
    """An answer table: ``first``, and optionally ``more`` (parts in order), ``action`` (what
    "what should I do?" goes to) and ``offer``. EXTRA_KEYS are the section's own other keys."""
    node.reject_unknown({"first", "more", "action", "offer", *extra_keys})
    return Answer(
        first=answer_part(node.get("first"), FIRST_MAX_SENTENCES),
        more=tuple(answer_part(part) for part in node.optional("more", []).list()),
        action=answer_part(node.get("action")) if node.has("action") else "",
        offer=node.get("offer").text() if node.has("offer") else "",
    )


def _unique(nodes: list[Node], what: str) -> list[str]:
    seen: list[str] = []
    for node in nodes:
        value = node.get("id").ident()
        if value in seen:
            raise node.get("id").fail(f"{what} id {value!r} appears twice")
        seen.append(value)
    return seen


def _features(node: Node) -> tuple[Feature, ...]:
    items = node.list(min_len=1)
    _unique(items, "feature")
    return tuple(
        Feature(id=item.get("id").ident(), label=item.get("label").text(),
                question=item.get("question").text(),
                phrases=item.get("phrases").texts())
        for item in items
    )


def _causes(node: Node, feature_ids: set[str]) -> tuple[Cause, ...]:
    items = node.list()
    ids = _unique(items, "cause")
    missing = [cid for cid in CAUSE_IDS if cid not in ids]
    if missing:
        raise node.fail(f"cause {missing[0]!r} is missing (the ten cause ids are a contract)")
    unknown = [cid for cid in ids if cid not in CAUSE_IDS]
    if unknown:
        raise node.fail(f"cause {unknown[0]!r} is not one of the ten contract ids")
    alias_owner: dict[str, str] = {}
    causes = []
    for item in items:
        item.reject_unknown({"id", "name", "aliases", "summary", "explanation", "signs", "affects",
                             "action", "prior", "indicators"})
        cause_id = item.get("id").ident()
        aliases_node = item.get("aliases")
        aliases = aliases_node.texts(min_len=3)
        for index, alias in enumerate(aliases):
            where = aliases_node.list()[index]
            if not _ALIAS.match(alias):
                raise where.fail(f"alias {alias!r} may hold only lower-case letters, digits, "
                                 "spaces and apostrophes")
            if alias in alias_owner and alias_owner[alias] != cause_id:
                raise where.fail(f"alias {alias!r} already belongs to {alias_owner[alias]!r}")
            alias_owner[alias] = cause_id
        indicators: dict[str, int] = {}
        for feature_id, weight in item.get("indicators").items():
            if feature_id not in feature_ids:
                raise weight.fail(f"{feature_id!r} is not a feature id")
            indicators[feature_id] = weight.integer(-3, 3)
        causes.append(Cause(
            id=cause_id,
            name=item.get("name").text(),
            aliases=aliases,
            summary=answer_part(item.get("summary"), FIRST_MAX_SENTENCES),
            explanation=answer_part(item.get("explanation")),
            signs=answer_part(item.get("signs")),
            affects=answer_part(item.get("affects")),
            action=answer_part(item.get("action")),
            prior=item.get("prior").integer(1, 5),
            indicators=indicators,
        ))
    # Keep the contract order so listings are stable whatever order the file uses.
    return tuple(sorted(causes, key=lambda cause: CAUSE_IDS.index(cause.id)))


def _relief(node: Node) -> Relief:
    steps = node.get("steps").list(min_len=3)
    _unique(steps, "step")
    intro = node.get("intro").text()
    relief = Relief(
        intro=intro,
        steps=tuple(Step(id=s.get("id").ident(), say=answer_part(s.get("say"), FIRST_MAX_SENTENCES),
                         seconds=s.get("seconds").integer(0, 3600)) for s in steps),
        check=node.get("check").text(),
        better=answer_part(node.get("better"), FIRST_MAX_SENTENCES),
        not_enough=answer_part(node.get("not_enough"), FIRST_MAX_SENTENCES),
    )
    # The routine's first words are the intro and the first step: together, one first part.
    answer_part(Node(node.file, f"{intro} {relief.steps[0].say}", f"{node.path}.intro"),
                FIRST_MAX_SENTENCES)
    return relief


def _red_flags(node: Node, feature_ids: set[str], lexicon: SafetyLexicon) -> tuple[RedFlag, ...]:
    items = node.list()
    ids = _unique(items, "red flag")
    missing = [fid for fid in RED_FLAG_IDS if fid not in ids]
    if missing:
        raise node.fail(f"red flag {missing[0]!r} is missing")
    concept_names = {concept.name for concept in lexicon.concepts}
    flags = []
    for item in items:
        item.reject_unknown({"id", "condition", "patterns", "question", "advice", "source", "rules",
                             "features", "routine"})
        source = item.get("source")
        url = source.get("url").text()
        if not url.startswith("https://"):
            raise source.get("url").fail(f"{url!r} is not an https address of a public source")
        advice = item.get("advice").text()
        if "{number}" not in advice:
            raise item.get("advice").fail("must contain {number}, the emergency number to call")
        routine = item.optional("routine", False).value
        if not isinstance(routine, bool):
            raise item.get("routine").fail("must be true or false")
        flags.append(RedFlag(
            id=item.get("id").ident(),
            condition=item.get("condition").text(),
            patterns=item.get("patterns").texts(min_len=3),
            question=item.get("question").text(),
            advice=advice,
            source=Source(name=source.get("name").text(), title=source.get("title").text(), url=url),
            rules=tuple(_rule(rule, concept_names) for rule in item.get("rules").list(min_len=1)),
            features=_feature_refs(item.optional("features", []), feature_ids),
            routine=routine,
        ))
    return tuple(flags)


def _rule(node: Node, concept_names: set[str]) -> Rule:
    node.reject_unknown({"all", "weak", "ask", "near", "unless"})
    named: dict[str, tuple[str, ...]] = {}
    for key in ("all", "unless"):
        names = node.get(key).texts(min_len=1) if key == "all" or node.has(key) else ()
        for index, name in enumerate(names):
            if name not in concept_names:
                raise node.get(key).list()[index].fail(f"{name!r} is not a concept in [concepts]")
        named[key] = names
    flags = {}
    for key in ("weak", "ask", "near"):
        value = node.optional(key, False).value
        if not isinstance(value, bool):
            raise node.get(key).fail("must be true or false")
        flags[key] = value
    return Rule(concepts=named["all"], unless=named["unless"], **flags)


def _lexicon(root: Node) -> SafetyLexicon:
    words_node = root.get("words")
    words_node.reject_unknown(set(SAFETY_WORD_LISTS))
    words = {name: tuple(w.lower() for w in words_node.get(name).texts(min_len=1))
             for name in SAFETY_WORD_LISTS}
    concepts = []
    for name, node in root.get("concepts").items():
        node.reject_unknown({"kind", "words"})
        kind = node.get("kind").text()
        if kind not in CONCEPT_KINDS:
            raise node.get("kind").fail(f"{kind!r} is not one of {', '.join(CONCEPT_KINDS)}")
        phrases = node.get("words").texts(min_len=1)
        for index, phrase in enumerate(phrases):
            if not all(_LEXICON_WORD.match(word) for word in phrase.split()) or \
                    phrase.split()[0].startswith("-"):
                raise node.get("words").list()[index].fail(
                    f"{phrase!r}: lower-case words, a word may end in * or start with - "
                    "(not the first)")
        concepts.append(Concept(name=name, kind=kind, words=phrases))
    forms = {}
    for form, node in root.optional("forms", {}).items():
        standard = node.text()
        if not _FORM.match(form) or not _FORM.match(standard):
            raise node.fail(f"{form!r} = {standard!r}: lower-case words on both sides")
        forms[form] = standard
    return SafetyLexicon(concepts=tuple(concepts), words=words, forms=forms)


def _feature_refs(node: Node, feature_ids: set[str]) -> tuple[str, ...]:
    refs = node.texts(min_len=0)
    for index, ref in enumerate(refs):
        if ref not in feature_ids:
            raise node.list()[index].fail(f"{ref!r} is not a feature id")
    return refs


def _soon(node: Node) -> SeeDoctorSoon:
    signs = node.get("signs").list(min_len=3)
    _unique(signs, "sign")
    for sign in signs:
        sign.reject_unknown({"id", "patterns"})
    return SeeDoctorSoon(
        answer=answer_from(node, frozenset({"signs"})),
        signs=tuple(SoonSign(id=s.get("id").ident(), patterns=s.get("patterns").texts(min_len=1))
                    for s in signs),
    )

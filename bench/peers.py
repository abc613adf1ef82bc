"""Peer intent engines fed numb-legs' own templates: hassil (strict, and strict then fuzzy),
padacioso, a keyword baseline and an embedding nearest-neighbour baseline.

Nothing here is written by hand for the peers: `convert()` turns intents/data/intents.toml and
the knowledge base (cause aliases, symptom phrases, red-flag patterns and word rules) into one
neutral form, and each peer gets that form in its own syntax:

* hassil: a YAML-style dict of intents (``(a|b)``, ``[x]``, ``{list}`` slots, wildcard lists);
  its fuzzy matcher gets n-gram models trained on the sentences those templates expand to;
* padacioso: intent lines and entities (its ``(a|b|)`` expansion, ``{entity}``, ``*``);
* keyword: each intent's words weighted by how few intents use them.

Fair feeding: peers see the same utterances numb-legs sees, through numb-legs' own normalise()
(lower case, punctuation, contractions, digits, stems, fillers), and every template word goes
through the same function, as numb-legs' loader does. Red flags become the intent "emergency",
as in numb-legs, where they are spotted anywhere in an utterance: each pattern is wrapped in
wildcards, and each word rule (a "cue": one word from each group, in any order) becomes a
wildcard template per order of its groups. What has no template form is counted in `notes`.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from intents.names import IntentName
from intents.normalize import language, normalize
from intents.templates import Alternative, Sequence, Slot, Word, parse

EMERGENCY = IntentName.EMERGENCY
UNKNOWN = IntentName.UNKNOWN


# -- the neutral form ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    """One template, normalised; ANYWHERE: it may stand anywhere in an utterance (red flags)."""

    tree: Sequence
    anywhere: bool = False


@dataclass(frozen=True)
class CueRule:
    """A red-flag word rule: one phrase from each group, anywhere, in any order."""

    groups: tuple[tuple[str, ...], ...]


@dataclass
class Converted:
    """Intents, slot lists and red flags in one neutral form every peer is built from."""

    intents: dict[str, list[Pattern]]
    cues: list[CueRule]
    causes: dict[str, str]                       # normalised alias -> cause id
    symptoms: list[tuple[Sequence, str]]         # normalised phrase tree -> feature id
    notes: list[str] = field(default_factory=list)


def peer_words(word: str) -> list[str]:
    """The words one template word stands for after normalise(), fillers dropped."""
    fillers = language().fillers
    return [w for w in normalize(word, keep_slots=True).split() if w not in fillers]


def prepare(text: str) -> str:
    """An utterance as every engine is given it: numb-legs' normalise()."""
    return normalize(text)


def normalised(node: Any) -> Any:
    """NODE with every word normalised; groups left with an empty choice become optional."""
    if isinstance(node, Word):
        return Sequence(tuple(Word(w) for w in peer_words(node.text)))
    if isinstance(node, Slot):
        return node
    if isinstance(node, Sequence):
        items: list[Any] = []
        for item in node.items:
            new = normalised(item)
            if isinstance(new, Sequence):
                items.extend(new.items)  # flatten words
            elif new is not None:
                items.append(new)
        return Sequence(tuple(items))
    options = [normalised(option) for option in node.options]
    optional = node.optional or any(not option.items for option in options)
    kept = list(dict.fromkeys(option for option in options if option.items))
    if not kept:
        return None
    if len(kept) == 1 and not optional:
        return kept[0]  # "(leg|legs)" became "(leg)": plain words (padacioso keeps the brackets)
    return Alternative(tuple(kept), optional)


def tree_of(template: str) -> Sequence:
    return normalised(parse(template))


PEER_CONCEPT_WORDS = 3


def convert(intent_set=None, kb=None) -> Converted:
    """The shipped intents and knowledge base (or the given ones) in the neutral form."""
    from intents.loader import load_intents
    from knowledge.loader import load_knowledge

    intent_set = intent_set or load_intents()
    kb = kb or load_knowledge()
    intents: dict[str, list[Pattern]] = {}
    for intent in intent_set.intents:
        intents[intent.name] = [Pattern(tree_of(t)) for t in intent.templates]
    intents.setdefault(EMERGENCY, [])
    notes = []
    cues = []
    words_of = {concept.name: concept.words for concept in kb.safety.concepts}
    weak = 0
    for flag in kb.red_flags:
        intents[EMERGENCY].extend(Pattern(tree_of(p), anywhere=True) for p in flag.patterns)
        for rule in flag.rules:
            if rule.ask:
                continue
            # A concept rule is a word rule whose groups are the concepts' lay words (prefix
            # marks and "not followed by" marks dropped: no peer syntax says them).
            # Each concept gives its first PEER_CONCEPT_WORDS words (the data lists the most
            # usual first): with all of them, padacioso's regular expressions grow past 7 GB.
            groups = tuple(tuple(dict.fromkeys(
                " ".join(peer_words(" ".join(w.rstrip("*") for w in phrase.split()
                                             if not w.startswith("-"))))
                for phrase in words_of[name][:PEER_CONCEPT_WORDS])) for name in rule.concepts)
            cues.append(CueRule(groups))
            weak += rule.weak or rule.near
    notes.append(f"each red-flag concept gives the peers its first {PEER_CONCEPT_WORDS} lay words "
                 "of the ones numb-legs knows (more make padacioso's patterns too large to build)")
    notes.append(f"{weak} of {len(cues)} red-flag concept rules need words close together or stay "
                 "quiet when numbness is explained as harmless; no peer syntax can say that: "
                 "converted without it, so peers may raise more false alarms")
    notes.append(f"negation (\"no slurred speech\") applies to all {len(kb.red_flags)} red flags "
                 "in numb-legs; no peer syntax can say it: peers match negated red flags too")
    causes: dict[str, str] = {}
    for cause in kb.causes:
        for alias in (*cause.aliases, cause.name):
            causes.setdefault(" ".join(peer_words(alias)), cause.id)
    symptoms = [(tree_of(phrase), feature.id) for feature in kb.features for phrase in feature.phrases]
    return Converted(intents, cues, causes, symptoms, notes)


# -- rendering -----------------------------------------------------------------------------------


def render_hassil(tree: Sequence, slot_names: Callable[[str], str] | None = None) -> str:
    """A normalised tree in hassil's template syntax; SLOT_NAMES renames repeated slots."""
    def walk(node: Any) -> str:
        if isinstance(node, Word):
            return node.text
        if isinstance(node, Slot):
            return "{" + (slot_names(node.name) if slot_names else node.name) + "}"
        if isinstance(node, Sequence):
            return " ".join(walk(item) for item in node.items)
        inner = "|".join(walk(option) for option in node.options)
        return f"[{inner}]" if node.optional else f"({inner})"
    return walk(tree)


def render_padacioso(tree: Sequence, slot_names: Callable[[str], str] | None = None,
                     strip: bool = True) -> str:
    """A normalised tree in padacioso's syntax.

    padacioso expands ``(a|b|)`` character by character, so a space outside a group would be
    doubled when the group is empty: every piece carries its own trailing space instead.
    """
    def walk(node: Any) -> str:
        if isinstance(node, Word):
            return node.text + " "
        if isinstance(node, Slot):
            return "{" + (slot_names(node.name) if slot_names else node.name) + "} "
        if isinstance(node, Sequence):
            return "".join(walk(item) for item in node.items)
        inner = "|".join(walk(option) for option in node.options)
        return f"({inner}|)" if node.optional else f"({inner})"
    return walk(tree).strip() if strip else walk(tree)


def _renamer() -> Callable[[str], str]:
    """Repeated slots get their own names: {symptom}, {symptom_2}, ..."""
    seen: dict[str, int] = {}

    def name(slot: str) -> str:
        seen[slot] = seen.get(slot, 0) + 1
        return slot if seen[slot] == 1 else f"{slot}_{seen[slot]}"
    return name


def _cue_orders(cue: CueRule) -> list[list[str]]:
    """Each order of the cue's groups, as a list of group texts ``(a|b)``."""
    groups = [f"({'|'.join(group)})" for group in cue.groups]
    return [list(order) for order in itertools.permutations(groups)]


# -- hassil --------------------------------------------------------------------------------------


def hassil_dict(conv: Converted) -> dict[str, Any]:
    """The converted intents as hassil's YAML structure (a dict, as `Intents.from_dict` takes)."""
    intents: dict[str, Any] = {}
    for name, patterns in conv.intents.items():
        sentences = []
        for pattern in patterns:
            text = render_hassil(pattern.tree, _renamer())
            sentences.append(f"[{{before}}] {text} [{{after}}]" if pattern.anywhere else text)
        if name == EMERGENCY:
            for cue in conv.cues:
                for order in _cue_orders(cue):
                    sentences.append("[{before}] " + " [{between}] ".join(order) + " [{after}]")
        intents[name] = {"data": [{"sentences": sentences}]}
    lists: dict[str, Any] = {
        "before": {"wildcard": True}, "after": {"wildcard": True}, "between": {"wildcard": True},
        "cause": {"values": [{"in": alias, "out": cause} for alias, cause in conv.causes.items()]},
        "symptom": {"values": [{"in": render_hassil(tree), "out": feature}
                               for tree, feature in conv.symptoms]},
    }
    for extra in range(2, 5):  # repeated slots draw on the same list
        lists[f"symptom_{extra}"] = lists["symptom"]
        lists[f"cause_{extra}"] = lists["cause"]
    return {"language": "en", "intents": intents, "lists": lists}


class HassilPeer:
    name = "hassil"

    def __init__(self, conv: Converted) -> None:
        from hassil import Intents

        self._intents = Intents.from_dict(hassil_dict(conv))

    def recognize(self, text: str) -> tuple[str, dict[str, list[str]]]:
        from hassil import recognize_best

        result = recognize_best(text, self._intents)
        if result is None:
            return UNKNOWN, {}
        values: dict[str, list[str]] = {}
        for key, entity in result.entities.items():
            base = key.split("_")[0]
            if base in ("cause", "symptom"):
                values.setdefault(base, []).append(str(entity.value))
        return result.intent.name, values


# -- hassil, fuzzy -------------------------------------------------------------------------------

# hassil's fuzzy matcher names each n-gram model "<domain>_<Intent>" and splits the name at its
# last "_": intents are given it without underscores (cause_info -> CauseInfo), under one domain.
FUZZY_DOMAIN = "legs"


def _fuzzy_intent(intent: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in intent.split("_"))


def fuzzy_sentences(intents) -> dict[str, list[str]]:
    """Per intent, every sentence its converted hassil templates expand to, slot lists kept as
    ``{slot}`` words (hassil's fuzzy models are trained that way, the values filled in at
    matching time). Wildcards (``{before}`` ...) are dropped: a red flag's own words remain, with
    nothing around them; n-gram scoring tolerates the words a speaker adds around them."""
    from hassil.intents import WildcardSlotList
    from hassil.sample import sample_expression

    wildcards = {name for name, slot_list in intents.slot_lists.items()
                 if isinstance(slot_list, WildcardSlotList)}
    out: dict[str, list[str]] = {}
    for name, intent in intents.intents.items():
        sentences = out.setdefault(name, [])
        for data in intent.data:
            for sentence in data.sentences:
                for text in sample_expression(sentence.expression, intents.slot_lists,
                                              intents.expansion_rules, expand_lists=False):
                    words = [w for w in text.split() if w[1:-1] not in wildcards]
                    if words:
                        sentences.append(" ".join(words))
    return out


def sqlite_ngram_model(arpa: str, path) -> Any:
    """An ARPA model as the Sqlite3NgramModel hassil's fuzzy matcher reads (table ``ngrams``:
    space-separated word ids, log10 probability, back-off). hassil's MemoryNgramModel reads ARPA
    itself but does not fit the matcher: it has no vocabulary (``words``) and takes the unknown
    word's penalty as a number where the matcher passes a function."""
    import io
    import sqlite3

    from hassil.ngram import MemoryNgramModel, Sqlite3NgramModel

    memory = MemoryNgramModel.from_arpa(io.StringIO(arpa))
    words: dict[str, str] = {}
    for gram in memory.probs:
        for word in gram:
            words.setdefault(word, str(len(words)))
    db = sqlite3.connect(path)
    try:
        db.execute("CREATE TABLE ngrams (word_ids TEXT PRIMARY KEY, log_prob REAL, backoff REAL)")
        db.executemany("INSERT INTO ngrams VALUES (?, ?, ?)",
                       ((" ".join(words[w] for w in gram), log_prob, backoff)
                        for gram, (log_prob, backoff) in memory.probs.items()))
        db.commit()
    finally:
        db.close()
    return Sqlite3NgramModel(order=memory.order, words=words, database_path=path)


class HassilFuzzyPeer:
    """hassil as Home Assistant runs it: strict `recognize_best()` first and, when that finds
    nothing, its fuzzy n-gram matcher (hassil 3.1 to 3.8.1, `hassil.fuzzy.FuzzyNgramMatcher`).

    Its inputs are made from the same converted templates the strict peer gets: one trigram
    model per intent (numb-legs' exact Witten-Bell ARPA writer, `voice/language_model.py`, over
    every sentence the intent's templates expand to, slots kept as ``{cause}`` / ``{symptom}``
    words; Home Assistant trains order-4 Kneser-Ney models, which no package here writes), the
    cause and symptom lists the strict peer has, the slot combinations each intent's sentences
    use, numb-legs' stopwords as its stop words (Home Assistant gives it a stop-word list per
    language), no domain keywords. What the fuzzy matcher rejects (below its minimum score, or
    two intents too close) is unknown."""

    name = "hassil (fuzzy)"

    def __init__(self, conv: Converted) -> None:
        import tempfile
        from pathlib import Path

        from hassil import Intents
        from hassil.fuzzy import FuzzyNgramMatcher, SlotCombinationInfo

        from voice.asr.language_model import arpa_trigram

        self._strict = HassilPeer(conv)
        intents = Intents.from_dict(hassil_dict(conv))
        self._tmp = tempfile.TemporaryDirectory(prefix="numb-legs-hassil-fuzzy-")
        self._intent_of: dict[str, str] = {}
        models: dict[str, Any] = {}
        combos: dict[str, dict[tuple[str, ...], Any]] = {}
        slot_names: dict[str, set[str]] = {}
        for name, sentences in fuzzy_sentences(intents).items():
            if not sentences:
                continue
            fuzzy = _fuzzy_intent(name)
            self._intent_of[fuzzy] = name
            path = Path(self._tmp.name) / f"{FUZZY_DOMAIN}_{fuzzy}.db"
            models[f"{FUZZY_DOMAIN}_{fuzzy}"] = sqlite_ngram_model(arpa_trigram(sentences), path)
            combos[fuzzy] = {}
            for sentence in set(sentences):
                slots = tuple(sorted(w[1:-1] for w in sentence.split() if w.startswith("{")))
                combos[fuzzy].setdefault(slots, SlotCombinationInfo(context_area=False))
                for slot in slots:
                    slot_names.setdefault(slot, {slot})  # list {symptom_2} fills slot symptom_2
        self._matcher = FuzzyNgramMatcher(
            intents=intents, intent_models=models, intent_slot_list_names=slot_names,
            slot_combinations=combos, domain_keywords={}, stop_words=language().stopwords)
        # Its first match builds its keyword scores from every model: part of building it.
        self._matcher.match("stop")

    def recognize(self, text: str) -> tuple[str, dict[str, list[str]]]:
        intent, values = self._strict.recognize(text)
        if intent != UNKNOWN:
            return intent, values
        result = self._matcher.match(text)
        if result is None:
            return UNKNOWN, {}
        values = {}
        for key, slot in result.slots.items():
            base = key.split("_")[0]
            if base in ("cause", "symptom"):
                values.setdefault(base, []).append(str(slot.value))
        return self._intent_of[result.intent_name], values


# -- padacioso -----------------------------------------------------------------------------------


def padacioso_lines(conv: Converted) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(intent -> lines, entity -> samples) in padacioso's syntax."""
    lines: dict[str, list[str]] = {}
    for name, patterns in conv.intents.items():
        out = []
        for pattern in patterns:
            text = render_padacioso(pattern.tree, _renamer(), strip=False)  # ends with a space
            out.append(text.strip())
            if pattern.anywhere:
                out += [f"* {text.strip()}", f"{text}*", f"* {text}*"]
        if name == EMERGENCY:
            for cue in conv.cues:
                for order in _cue_orders(cue):
                    body = " * ".join(order)
                    out += [body, f"* {body}", f"{body} *", f"* {body} *"]
        lines[name] = list(dict.fromkeys(out))
    entities = {"cause": list(conv.causes),
                "symptom": [render_padacioso(tree) for tree, _ in conv.symptoms]}
    for extra in range(2, 5):
        entities[f"symptom_{extra}"] = entities["symptom"]
        entities[f"cause_{extra}"] = entities["cause"]
    return lines, entities


class PadaciosoPeer:
    """padacioso's IntentContainer, asked intent by intent in this process.

    Its calc_intent() starts a process pool for every query (four workers, each sent the whole
    container); the per-intent matching and the choice of the most confident result are the
    same here, run one after another, so the time measured is its matching, not process start.

    padacioso's entities are open: ``{cause}`` captures any words, and a value that is not
    among the entity's samples only costs 0.1 confidence, so a bare ``{cause}`` line accepts
    every utterance. With KNOWN_VALUES_ONLY such a parse is skipped and the next line tried
    (what hassil does by default): the same regexes and confidences, stricter entities.
    """

    def __init__(self, conv: Converted, known_values_only: bool = False,
                 container: Any = None) -> None:
        from padacioso import IntentContainer

        self.name = "padacioso (known values)" if known_values_only else "padacioso"
        self.known_values_only = known_values_only
        if container is None:  # building takes seconds: the two variants may share one
            container = IntentContainer(fuzz=False)
            lines, entities = padacioso_lines(conv)
            for entity, samples in entities.items():
                container.add_entity(entity, samples)
            for intent, intent_lines in lines.items():
                container.add_intent(intent, intent_lines)
        self.container = container
        self._samples = {name: {" ".join(s.split()) for s in samples}
                         for name, samples in self.container.entity_samples.items()}
        self._symptom_of = {" ".join(sentence.split()): feature for tree, feature in conv.symptoms
                            for sentence in _expand_padacioso(render_padacioso(tree))}
        self._cause_of = dict(conv.causes)

    def recognize(self, text: str) -> tuple[str, dict[str, list[str]]]:
        best = None
        match = self._match_known if self.known_values_only else self.container._match  # noqa: SLF001 - padacioso has no public one
        for intent, regexes in self.container.intent_samples.items():
            found = match(text, intent, regexes)
            if found and (best is None or found["conf"] > best["conf"]):
                best = found
        if best is None:
            return UNKNOWN, {}
        values: dict[str, list[str]] = {}
        for key, value in best["entities"].items():
            base = key.lower().split("_")[0]
            value = " ".join(str(value).split())
            if base == "cause" and value in self._cause_of:
                values.setdefault("cause", []).append(self._cause_of[value])
            elif base == "symptom" and value in self._symptom_of:
                values.setdefault("symptom", []).append(self._symptom_of[value])
        return best["name"], values

    def _match_known(self, query: str, intent: str, regexes: list[str]) -> dict | None:
        """padacioso's _match (same order, same penalties), skipping unknown entity values."""
        container = self.container
        for regex in regexes:
            penalty = 0.15 if "*" in regex else 0.0
            for matchers, case_penalty in ((container._cased_matchers, 0.0),  # noqa: SLF001 - as padacioso does
                                           (container._uncased_matchers, 0.05)):  # noqa: SLF001 - as padacioso does
                entities = matchers[regex].match(query)
                if entities is None:
                    continue
                if all(" ".join(str(v).split()) in self._samples.get(k.lower(), ())
                       for k, v in entities.items()):
                    return {"entities": entities or {}, "conf": 1 - penalty - case_penalty,
                            "name": intent}
                break
        return None


def _expand_padacioso(text: str) -> list[str]:
    from padacioso.bracket_expansion import expand_parentheses

    return expand_parentheses(text)


# -- keyword baseline ----------------------------------------------------------------------------


# The keyword baseline's one setting, chosen on the development set (as numb-legs' were).
KEYWORD_THRESHOLD = 1.0


class KeywordPeer:
    """Spot keywords: each intent scores the words it shares with the utterance, a word
    weighing 1/(number of intents using it); stopwords ignored; below KEYWORD_THRESHOLD points, unknown.
    Causes and symptoms are found as exact phrases and stand for the {cause}/{symptom} words."""

    name = "keyword"

    def __init__(self, conv: Converted, threshold: float = KEYWORD_THRESHOLD) -> None:
        self.threshold = threshold
        stop = language().stopwords
        words: dict[str, set[str]] = {}
        for name, patterns in conv.intents.items():
            bag = words.setdefault(name, set())
            for pattern in patterns:
                bag.update(w for w in _tree_words(pattern.tree) if w not in stop)
            if name == EMERGENCY:
                bag.update(w for cue in conv.cues for g in cue.groups for p in g for w in p.split()
                           if w not in stop)
        users: dict[str, int] = {}
        for bag in words.values():
            for word in bag:
                users[word] = users.get(word, 0) + 1
        self._weights = {name: {w: 1.0 / users[w] for w in bag} for name, bag in words.items()}
        self._causes = sorted(conv.causes.items(), key=lambda item: -len(item[0]))
        self._symptoms = sorted({(" ".join(s.split()), f) for tree, f in conv.symptoms
                                 for s in _expand_padacioso(render_padacioso(tree))},
                                key=lambda item: -len(item[0]))

    def recognize(self, text: str) -> tuple[str, dict[str, list[str]]]:
        padded = f" {text} "
        values: dict[str, list[str]] = {}
        tokens = set(text.split())
        for phrase, cause in self._causes:
            if f" {phrase} " in padded:
                values.setdefault("cause", []).append(cause)
                tokens.add("{cause}")
        for phrase, feature in self._symptoms:
            if phrase and f" {phrase} " in padded:
                values.setdefault("symptom", []).append(feature)
                tokens.add("{symptom}")
        scores = {name: sum(weights.get(t, 0.0) for t in tokens)
                  for name, weights in self._weights.items()}
        best = max(scores, key=lambda name: scores[name])
        if scores[best] < self.threshold:
            return UNKNOWN, {}
        return best, values


def _tree_words(node: Any) -> Iterable[str]:
    if isinstance(node, Word):
        yield node.text
    elif isinstance(node, Slot):
        yield "{" + node.name + "}"
    elif isinstance(node, Sequence):
        for item in node.items:
            yield from _tree_words(item)
    else:
        for option in node.options:
            yield from _tree_words(option)


# -- scoring -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeerMatch:
    """Quacks like intents.model.Match for tests/devset.correct()."""

    intent: str
    slots: dict[str, Any]


def as_match(intent: str, values: dict[str, list[str]], kb) -> PeerMatch:
    """A peer's answer with slots filled as numb-legs fills them (same symptom ranking)."""
    from knowledge.queries import rank_causes

    slots: dict[str, Any] = {}
    if intent == IntentName.CAUSE_INFO and values.get("cause"):
        slots["cause"] = values["cause"][0]
    if intent == IntentName.SYMPTOM_CHECK:
        present = list(dict.fromkeys(values.get("symptom", [])))
        mentioned = list(dict.fromkeys(values.get("cause", [])))
        slots["causes"] = [item.cause.id for item in rank_causes(kb, present, boost=mentioned)[:3]]
    return PeerMatch(intent, slots)


def evaluate(engines: dict[str, Callable[[str], Any]], lines) -> dict[str, dict[str, Any]]:
    """Per engine: per-category accuracy, out-of-domain rejection, red-flag recall, times."""
    from tests import devset

    out: dict[str, dict[str, Any]] = {}
    for name, match in engines.items():
        right: dict[str, list[bool]] = {}
        times = []
        misses = []
        wrong = 0
        answered = 0
        for line in lines:
            start = time.perf_counter()
            result = match(line.text)
            times.append(time.perf_counter() - start)
            ok = devset.correct(line, result)  # a red-flag line: right when "emergency"
            answered += result.intent != UNKNOWN and not getattr(result, "needs_confirmation",
                                                                 False)
            right.setdefault(line.category, []).append(ok)
            if not ok:
                misses.append((line.category, line.text, result.intent))
                # Confidently wrong: answered as something it is not, without asking first.
                wrong += result.intent != UNKNOWN and not getattr(result, "needs_confirmation",
                                                                  False)
        in_domain = [ok for line, ok in zip(lines, _flatten_in_order(lines, right))
                     if line.intent != UNKNOWN]
        times.sort()
        out[name] = {
            "categories": {cat: sum(v) / len(v) for cat, v in right.items()},
            "counts": {cat: len(v) for cat, v in right.items()},
            "in_domain": sum(in_domain) / len(in_domain),
            "ood_rejected": _rate(right.get("ood", [])),
            "red_flags": _rate(right.get("red_flag", [])),
            "median_ms": times[len(times) // 2] * 1000,
            "p95_ms": times[min(len(times) - 1, int(len(times) * 0.95))] * 1000,
            "misses": misses,
            "wrong": wrong / len(lines),
            # Of the lines it answered at once, the share it answered wrongly: an engine that
            # answers little can have few wrong answers among all lines and many among its own.
            "wrong_of_answered": wrong / answered if answered else 0.0,
        }
    return out


def _rate(values: list[bool]) -> float:
    return sum(values) / len(values) if values else float("nan")


def _flatten_in_order(lines, right: dict[str, list[bool]]) -> list[bool]:
    cursors = {cat: 0 for cat in right}
    flat = []
    for line in lines:
        flat.append(right[line.category][cursors[line.category]])
        cursors[line.category] += 1
    return flat


def build_engines(conv: Converted | None = None, kb=None, only: Iterable[str] | None = None
                  ) -> tuple[dict[str, Callable[[str], Any]], dict[str, float]]:
    """(name -> utterance -> match, name -> seconds to build) for numb-legs and every peer."""
    from intents.meaning import default_matcher
    from intents.safety import default_safety
    from intents.understand import Understanding
    from knowledge.loader import load_knowledge

    kb = kb or load_knowledge()
    conv = conv or convert(kb=kb)
    engines: dict[str, Callable[[str], Any]] = {}
    built: dict[str, float] = {}
    start = time.perf_counter()
    # numb-legs as the skill first sees an utterance: its safety stage, then its matcher.
    understanding = Understanding(default_matcher(), default_safety())
    understanding.safety.has_backstop  # noqa: B018 - wait for the backstop: part of building it
    built["numb-legs"] = time.perf_counter() - start
    engines["numb-legs"] = understanding.match
    shared: list[PadaciosoPeer] = []

    def padacioso(known: bool) -> PadaciosoPeer:
        peer = PadaciosoPeer(conv, known, shared[0].container if shared else None)
        shared.append(peer)
        return peer

    makers: dict[str, Callable[[], Any]] = {
        "hassil": lambda: HassilPeer(conv),
        "hassil (fuzzy)": lambda: HassilFuzzyPeer(conv),
        "padacioso": lambda: padacioso(False),
        "padacioso (known values)": lambda: padacioso(True),
        "keyword": lambda: KeywordPeer(conv),
        "embedding 1-NN": lambda: NearestNeighbourPeer(),
    }
    for name, make in makers.items():
        if only is not None and name not in only:
            continue
        start = time.perf_counter()
        peer = make()
        built[name] = time.perf_counter() - start
        engines[name] = _peer_matcher(peer, kb)
    return engines, built


class NearestNeighbourPeer:
    """A plain embedding baseline: the label of the one nearest sentence of numb-legs' own
    example bank (the same bank and model its meaning matcher uses), out of domain when that
    sentence is an out-of-domain example. No word view, no calibration."""

    def __init__(self) -> None:
        from intents.meaning import load_semantic

        self.semantic = load_semantic(1)

    def recognize(self, text: str) -> tuple[str, dict[str, list[str]]]:
        from intents.meaning import OUT_OF_DOMAIN

        index = self.semantic.index
        sims = index.similarities(self.semantic.encoder.encode_one(text))
        label, detail, _ = index.rows[int(sims.argmax())]
        if label == OUT_OF_DOMAIN:
            return UNKNOWN, {}
        return label, {"cause": [detail]} if detail else {}


def _peer_matcher(peer, kb) -> Callable[[str], PeerMatch]:
    raw = isinstance(peer, NearestNeighbourPeer)  # sentence models read text as written

    def match(text: str) -> PeerMatch:
        intent, values = peer.recognize(text if raw else prepare(text))
        return as_match(intent, values, kb)
    return match


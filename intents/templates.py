"""A small template syntax: ``(a|b)`` alternatives, ``[x]`` optional words, ``{slot}`` slots.

One line covers many phrasings: ``why (are|do) my legs [feel] numb`` expands to four sentences.
Expansion is used by the matcher and, later, by the recognisers' grammars, so the same lines
drive both.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from itertools import product

from knowledge.errors import NumbLegsError

MAX_EXPANSIONS = 20000
_TOKEN = re.compile(r"\s*(\(|\)|\[|\]|\||\{[a-z_]+\}|[^\s()\[\]|{}]+)")


class TemplateError(NumbLegsError):
    """A template line that cannot be parsed or expands to too many sentences."""


@dataclass(frozen=True)
class Word:
    text: str


@dataclass(frozen=True)
class Slot:
    name: str


@dataclass(frozen=True)
class Sequence:
    items: tuple[Word | Slot | Alternative, ...]


@dataclass(frozen=True)
class Alternative:
    options: tuple[Sequence, ...]
    optional: bool


Node = Word | Slot | Sequence | Alternative


@lru_cache(maxsize=2048)
def parse(template: str) -> Sequence:
    """Parse a template line into a tree; raise TemplateError with the position on bad syntax.

    Cached: trees are immutable, and language-model building samples each line many times.
    """
    tokens = _tokenize(template)
    parser = _Parser(template, tokens)
    tree = parser.sequence(closing=None)
    return tree


def expand(template: str) -> list[str]:
    """Every sentence a template stands for, in order, without duplicates."""
    tree = parse(template)
    count = _count(tree)
    if count > MAX_EXPANSIONS:
        raise TemplateError(f"template {template!r} expands to {count} sentences "
                            f"(more than {MAX_EXPANSIONS}); split it")
    seen: dict[str, None] = {}
    for words in _expand(tree):
        sentence = " ".join(word for word in words if word)
        if sentence:
            seen.setdefault(sentence, None)
    return list(seen)


def expand_word_sets(template: str, words_of: Callable[[str], tuple[str, ...]]) -> set[frozenset[str]]:
    """The distinct *sets* of words a template stands for (word order and repeats dropped).

    Far fewer than its sentences: the matcher compares bags of words, and deduplicating at every
    level of the tree keeps ``(leg|legs) [go|goes] numb`` from multiplying out. WORDS_OF maps a
    template word to the normalised words it stands for (possibly none).
    """
    result = _sets(parse(template), words_of)
    if len(result) > MAX_EXPANSIONS:
        raise TemplateError(f"template {template!r} stands for {len(result)} word sets "
                            f"(more than {MAX_EXPANSIONS}); split it")
    return result


def _sets(node: Node, words_of: Callable[[str], tuple[str, ...]]) -> set[frozenset[str]]:
    if isinstance(node, Word):
        return {frozenset(words_of(node.text))}
    if isinstance(node, Slot):
        return {frozenset({"{" + node.name + "}"})}
    if isinstance(node, Sequence):
        combined: set[frozenset[str]] = {frozenset()}
        for item in node.items:
            part = _sets(item, words_of)
            combined = {left | right for left in combined for right in part}
            if len(combined) > MAX_EXPANSIONS:
                raise TemplateError(f"a template stands for more than {MAX_EXPANSIONS} word sets; "
                                    "split it")
        return combined
    options: set[frozenset[str]] = {frozenset()} if node.optional else set()
    for option in node.options:
        options |= _sets(option, words_of)
    return options


def sample(template: str, rng: random.Random, fill: Callable[[str], str]) -> str:
    """One sentence the template stands for, chosen at random; FILL(slot) gives a slot's words.

    Used to build language models from templates whose full expansion would be too large.
    """
    return " ".join(word for word in _sample(parse(template), rng, fill) if word)


def cover(template: str, k: int, fill: Callable[[str], str]) -> str:
    """The K-th covering sentence: every group takes option K modulo its size.

    K from 0 to widest() - 1 uses every option of every group at least once, so a language
    model built from these knows every word the template can say.
    """
    return " ".join(word for word in _sample(parse(template), None, fill, k) if word)


def widest(template: str) -> int:
    """The largest number of choices any group of the template offers."""
    return max((len(n.options) + (1 if n.optional else 0) for n in _walk(parse(template))
                if isinstance(n, Alternative)), default=1)


def _sample(node: Node, rng: random.Random | None, fill: Callable[[str], str],
            k: int = 0) -> list[str]:
    if isinstance(node, Word):
        return [node.text]
    if isinstance(node, Slot):
        return [fill(node.name)]
    if isinstance(node, Sequence):
        return [word for item in node.items for word in _sample(item, rng, fill, k)]
    choices = len(node.options) + (1 if node.optional else 0)
    pick = rng.randrange(choices) if rng is not None else k % choices
    return [] if pick == len(node.options) else _sample(node.options[pick], rng, fill, k)


def slots_in(template: str) -> set[str]:
    """Names of the slots a template uses."""
    return {item.name for item in _walk(parse(template)) if isinstance(item, Slot)}


def _tokenize(template: str) -> list[tuple[int, str]]:
    tokens = []
    pos = 0
    text = template.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise TemplateError(f"template {template!r}: unexpected {text[pos:].strip()[:10]!r} "
                                f"at character {pos + 1}")
        tokens.append((match.start(1), match.group(1)))
        pos = match.end()
    return tokens


class _Parser:
    _CLOSER = {"(": ")", "[": "]"}

    def __init__(self, template: str, tokens: list[tuple[int, str]]) -> None:
        self.template = template
        self.tokens = tokens
        self.index = 0

    def _error(self, problem: str, pos: int | None = None) -> TemplateError:
        where = f" at character {pos + 1}" if pos is not None else ""
        return TemplateError(f"template {self.template!r}: {problem}{where}")

    def sequence(self, closing: str | None) -> Sequence:
        items: list[Word | Slot | Alternative] = []
        while self.index < len(self.tokens):
            pos, token = self.tokens[self.index]
            if token in (")", "]", "|"):
                if closing is None:
                    raise self._error(f"unexpected {token!r}", pos)
                break
            self.index += 1
            if token in self._CLOSER:
                items.append(self.group(token, pos))
            elif token.startswith("{"):
                items.append(Slot(token[1:-1]))
            else:
                items.append(Word(token))
        return Sequence(tuple(items))

    def group(self, opener: str, start: int) -> Alternative:
        closer = self._CLOSER[opener]
        options = [self.sequence(closing=closer)]
        while self.index < len(self.tokens):
            pos, token = self.tokens[self.index]
            self.index += 1
            if token == "|":
                options.append(self.sequence(closing=closer))
            elif token == closer:
                if opener == "(" and any(not option.items for option in options):
                    raise self._error("empty alternative inside ( ); use [ ] for optional words", pos)
                return Alternative(tuple(options), optional=opener == "[")
            else:
                raise self._error(f"{token!r} closes {opener!r}", pos)
        raise self._error(f"{opener!r} opened at character {start + 1} is never closed")


def _walk(node: Node):
    yield node
    if isinstance(node, Sequence):
        for item in node.items:
            yield from _walk(item)
    elif isinstance(node, Alternative):
        for option in node.options:
            yield from _walk(option)


def _count(node: Node) -> int:
    if isinstance(node, (Word, Slot)):
        return 1
    if isinstance(node, Sequence):
        total = 1
        for item in node.items:
            total *= _count(item)
        return total
    return sum(_count(option) for option in node.options) + (1 if node.optional else 0)


def _expand(node: Node):
    if isinstance(node, Word):
        yield (node.text,)
    elif isinstance(node, Slot):
        yield ("{" + node.name + "}",)
    elif isinstance(node, Sequence):
        parts = [list(_expand(item)) for item in node.items]
        for combo in product(*parts):
            yield tuple(word for part in combo for word in part)
    else:
        for option in node.options:
            yield from _expand(option)
        if node.optional:
            yield ()

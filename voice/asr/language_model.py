"""Write an ARPA trigram language model from sentences (Witten-Bell discounting, back-off).

PocketSphinx's own builder leaves probabilities that do not sum to one; this one is small and
exact: every history's probabilities plus its back-off mass sum to one.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable

Gram = tuple[str, ...]
START, END = "<s>", "</s>"


def arpa_trigram(sentences: Iterable[str]) -> str:
    counts: dict[int, dict[Gram, int]] = {n: defaultdict(int) for n in (1, 2, 3)}
    # A sentence repeated (to weigh it) is counted once, times its repeats: same model, faster.
    for sentence, times in Counter(sentences).items():
        words = [START, *sentence.split(), END]
        for n in (1, 2, 3):
            for i in range(len(words) - n + 1):
                counts[n][tuple(words[i:i + n])] += times
    followers: dict[Gram, dict[str, int]] = defaultdict(dict)
    for n in (2, 3):
        for gram, count in counts[n].items():
            followers[gram[:-1]][gram[-1]] = count

    total = sum(count for gram, count in counts[1].items() if gram != (START,))
    prob: dict[Gram, float] = {gram: (0.0 if gram == (START,) else count / total)
                               for gram, count in counts[1].items()}
    for history, seen in followers.items():
        mass, kinds = sum(seen.values()), len(seen)
        for word, count in seen.items():
            prob[history + (word,)] = count / (mass + kinds)

    def backed_off(gram: Gram) -> float:
        while gram not in prob:
            gram = gram[1:]
        return prob[gram]

    backoff: dict[Gram, float] = {}
    for history, seen in followers.items():
        mass, kinds = sum(seen.values()), len(seen)
        left = kinds / (mass + kinds)
        lower = 1.0 - sum(backed_off(history[1:] + (word,)) for word in seen)
        backoff[history] = left / max(lower, 1e-9)

    def log10(p: float) -> str:
        return "-99.0000" if p <= 0 else f"{math.log10(p):.4f}"

    grams = {n: sorted(g for g in prob if len(g) == n) for n in (1, 2, 3)}
    lines = ["\\data\\", *(f"ngram {n}={len(grams[n])}" for n in (1, 2, 3))]
    for n in (1, 2, 3):
        lines += ["", f"\\{n}-grams:"]
        for gram in grams[n]:
            line = f"{log10(prob[gram])} {' '.join(gram)}"
            if n < 3 and gram in backoff:
                line += f" {math.log10(max(backoff[gram], 1e-12)):.4f}"
            lines.append(line)
    lines += ["", "\\end\\", ""]
    return "\n".join(lines)

"""The benchmark report's plots (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the Agg backend

CATEGORY_ORDER = ("clean", "paraphrase", "lay", "asr", "command", "ood", "red_flag")
CATEGORY_LABEL = {"ood": "out-of-domain\nrejected", "red_flag": "red flags\ncaught",
                  "asr": "recognition\nerrors"}


def peers_accuracy(results: dict[str, dict], path: Path) -> Path:
    """Grouped bars: per development-set category, each engine's top-1 accuracy."""
    engines = list(results)
    cats = [c for c in CATEGORY_ORDER if any(c in r["categories"] for r in results.values())]
    fig, ax = plt.subplots(figsize=(10, 4.8), dpi=100)
    width = 0.8 / len(engines)
    for i, name in enumerate(engines):
        values = [results[name]["categories"].get(c, 0.0) * 100 for c in cats]
        ax.bar([x + (i - (len(engines) - 1) / 2) * width for x in range(len(cats))], values,
               width, label=name)
    ax.set_xticks(range(len(cats)), [CATEGORY_LABEL.get(c, c) for c in cats])
    ax.set_ylabel("top-1 accuracy, %")
    ax.set_ylim(0, 105)
    ax.set_title("Development set: numb-legs and peer engines fed the same templates")
    ax.legend(fontsize=8, ncols=min(5, len(engines)), loc="upper center",
              bbox_to_anchor=(0.5, -0.22))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def spoken_snr(results: dict[str, dict[str, dict[str, float]]], path: Path) -> Path:
    """Intent accuracy against SNR (clean drawn at the right), one line per engine and mode."""
    fig, ax = plt.subplots(figsize=(6.5, 4), dpi=100)
    order = ["5 dB", "10 dB", "20 dB", "clean"]
    for name, per in results.items():
        points = [(i, per[c]["accuracy"] * 100) for i, c in enumerate(order)
                  if c in per and "accuracy" in per[c]]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=name)
    ax.set_xticks(range(len(order)), order)
    ax.set_xlabel("signal-to-noise ratio (pink noise)")
    ax.set_ylabel("intent accuracy, %")
    ax.set_ylim(0, 105)
    ax.set_title("Spoken questions (espeak-ng) in noise")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def latency_budget(budget: dict, path: Path) -> Path:
    """Stacked bars: median and p95 of each stage of a spoken turn."""
    stages = list(budget["stages"])
    fig, ax = plt.subplots(figsize=(8, 3.2), dpi=100)
    for row, key in enumerate(("median_ms", "p95_ms")):
        left = 0.0
        for i, stage in enumerate(stages):
            value = budget["stages"][stage][key]
            ax.barh(row, value, left=left, color=f"C{i}", label=stage if row == 0 else None)
            left += value
    ax.set_yticks([0, 1], ["median", "p95 (per stage)"])
    ax.invert_yaxis()
    ax.set_xlabel("ms from the end of the question to the first sound of the answer")
    ax.set_title(f"One spoken turn, stage by stage ({budget['turns']} turns, PocketSphinx, "
                 "virtual ALSA devices)", fontsize=9)
    ax.legend(fontsize=7, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.3))
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path

"""The report to take to the doctor: one printable, accessible HTML page.

Large text, real headings, a summary list, a bar chart of episodes per week drawn as inline SVG
(with a title, a description and the same figures in words), and a table of every episode. No
scripts, no external files: it opens the same anywhere, offline, and prints on plain paper.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from html import escape

from .store import Episode
from .summary import FREQUENT, LENGTHENING, ONE_SIDED, RED_FLAGS, Summary

MAX_WEEKS = 52
_REASONS = {
    FREQUENT: "it happens often",
    LENGTHENING: "the episodes are getting longer",
    ONE_SIDED: "it is mostly on one side",
    RED_FLAGS: "warning signs were reported",
}
_STYLE = """
body { font-family: system-ui, sans-serif; font-size: 1.3rem; line-height: 1.5; color: #111;
       background: #fff; max-width: 62rem; margin: 1.5rem auto; padding: 0 1rem; }
h1 { font-size: 2.2rem; margin-bottom: .2em; } h2 { font-size: 1.7rem; margin-top: 1.6em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #444; padding: .35em .5em; text-align: left; vertical-align: top; }
th { background: #e8e8e8; } caption { text-align: left; font-weight: bold; padding: .3em 0; }
.advice { border: 3px solid #111; padding: .5em .8em; }
svg { max-width: 100%; height: auto; } svg text { font-size: 14px; font-family: sans-serif; }
@media print { body { font-size: 13pt; margin: 0; max-width: none; }
               tr, figure { break-inside: avoid; } }
"""


def _day(moment: datetime) -> str:
    return f"{moment.strftime('%a')} {moment.day} {moment.strftime('%b %Y')}"


def _minutes(seconds: int | None) -> str:
    if seconds is None:
        return "not said"
    minutes = round(seconds / 60)
    if seconds < 60:
        return f"{seconds} s"
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def weekly_counts(episodes: list[Episode], today: datetime) -> list[tuple[datetime, int]]:
    """(Monday of the week, episodes that week) from the first episode's week to this week."""
    if not episodes:
        return []
    def monday(moment: datetime) -> datetime:
        day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return day - timedelta(days=day.weekday())
    counts = Counter(monday(e.started_at) for e in episodes)
    last = max(monday(today), max(counts))
    first = max(min(counts), last - timedelta(weeks=MAX_WEEKS - 1))
    weeks = []
    week = first
    while week <= last:
        weeks.append((week, counts.get(week, 0)))
        week += timedelta(weeks=1)
    return weeks


def _chart(weeks: list[tuple[datetime, int]]) -> tuple[str, str]:
    """(SVG markup, the same figures in words)."""
    if not weeks:
        return "", "No episodes have been recorded, so there is no chart."
    top = max(count for _, count in weeks) or 1
    bar, gap, height, left, bottom = 46, 14, 220, 40, 50
    width = left + len(weeks) * (bar + gap) + gap
    busiest = max(weeks, key=lambda w: w[1])
    words = (f"Bar chart of episodes per week, {len(weeks)} week{'s' if len(weeks) != 1 else ''} "
             f"from the week starting "
             f"{_day(weeks[0][0])} to the week starting {_day(weeks[-1][0])}. The most in one week "
             f"was {busiest[1]}, in the week starting {_day(busiest[0])}.")
    if len(weeks) <= 16:
        words += " Week by week: " + "; ".join(
            f"{w.day} {w.strftime('%b')}: {c}" for w, c in weeks) + "."
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" '
             f'aria-labelledby="chart-title" aria-describedby="chart-desc" '
             f'viewBox="0 0 {width} {height + bottom}" '
             f'width="{width}" height="{height + bottom}">',
             '<title id="chart-title">Episodes per week</title>',
             f'<desc id="chart-desc">{escape(words)}</desc>',
             f'<line x1="{left}" y1="{height}" x2="{width}" y2="{height}" stroke="#111"/>',
             f'<text x="{left - 6}" y="{height}" text-anchor="end">0</text>',
             f'<text x="{left - 6}" y="{20}" text-anchor="end">{top}</text>']
    for index, (week, count) in enumerate(weeks):
        x = left + gap + index * (bar + gap)
        tall = round((height - 20) * count / top)
        parts.append(f'<rect x="{x}" y="{height - tall}" width="{bar}" height="{tall}" '
                     f'fill="#1f4e9c"/>')
        if count:
            parts.append(f'<text x="{x + bar / 2}" y="{height - tall - 4}" '
                         f'text-anchor="middle">{count}</text>')
        if index % max(1, len(weeks) // 12) == 0:
            parts.append(f'<text x="{x + bar / 2}" y="{height + 18}" text-anchor="middle">'
                         f'{week.day} {week.strftime("%b")}</text>')
    parts.append(f'<text x="{left}" y="{height + 42}">Week starting (Monday)</text></svg>')
    return "\n".join(parts), words


def _counts(values: list[str | None], names: dict[str, str]) -> str:
    counter = Counter(values)
    shown = [f"{label} {counter[key]}" for key, label in names.items() if counter.get(key)]
    if counter.get(None):
        shown.append(f"not said {counter[None]}")
    return ", ".join(shown) or "none"


def render_html(episodes: list[Episode], recent: Summary, made: datetime) -> str:
    """The whole page. RECENT summarises the last 30 days (for the advice and the trend)."""
    durations = [e.duration_s for e in episodes if e.duration_s is not None]
    flagged = sum(1 for e in episodes if e.red_flags)
    span = (f"{len(episodes)} episodes recorded from {_day(episodes[0].started_at)} to "
            f"{_day(episodes[-1].started_at)}." if episodes else "No episodes have been recorded.")
    ordered = sorted(durations)
    median = ordered[len(ordered) // 2] if ordered else None
    if ordered and len(ordered) % 2 == 0:
        median = round((ordered[len(ordered) // 2 - 1] + ordered[len(ordered) // 2]) / 2)
    trend = "" if recent.previous_count is None else \
        f" ({recent.previous_count} in the 30 days before)"
    items = [
        f"Episodes in the last 30 days: {recent.count}{trend}.",
        f"Typical (median) duration: {_minutes(median)}; longest: "
        f"{_minutes(max(durations)) if durations else 'not said'}.",
        "Which leg: " + _counts([e.legs for e in episodes],
                                {"left": "left", "right": "right", "both": "both"}) + ".",
        "Doing what: " + _counts([e.activity for e in episodes],
                                 {"sitting": "sitting", "lying": "lying", "walking": "walking",
                                  "other": "other"}) + ".",
        f"Episodes with warning signs reported: {flagged}.",
    ]
    if recent.reasons:
        advice = ("<p class=\"advice\"><strong>Worth showing a neurologist:</strong> "
                  + escape(", ".join(_REASONS[r] for r in recent.reasons)) + ".</p>")
    else:
        advice = "<p>Nothing in the pattern of the last 30 days needs a neurologist.</p>"
    svg, chart_words = _chart(weekly_counts(episodes, made))
    rows = []
    for e in episodes:
        rows.append(
            "<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in (
                e.id, f"{_day(e.started_at)}, {e.started_at.strftime('%H:%M')}",
                _minutes(e.duration_s), e.legs or "not said", e.activity or "not said",
                ", ".join(e.other_signs) or "none", "yes" if e.red_flags else "no", e.note))
            + "</tr>")
    heads = ("No.", "Started", "How long", "Leg", "Doing", "Other signs", "Warning signs", "Note")
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Numbness diary: report for the doctor</title>",
        f"<style>{_STYLE}</style>", "</head>", "<body>",
        "<header>", "<h1>Numbness diary</h1>",
        f"<p>Report made on {escape(_day(made))} by numb-legs. {escape(span)}</p>",
        "<p>This is what the person recorded, to help a doctor judge. It is not a diagnosis.</p>",
        "</header>", "<main>",
        '<section aria-labelledby="h-summary">', '<h2 id="h-summary">Summary</h2>',
        "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>", advice,
        "</section>",
        '<section aria-labelledby="h-weeks">', '<h2 id="h-weeks">Episodes per week</h2>',
        "<figure>", svg, f"<figcaption>{escape(chart_words)}</figcaption>", "</figure>",
        "</section>",
        '<section aria-labelledby="h-episodes">', '<h2 id="h-episodes">All episodes</h2>',
        "<table>", f"<caption>Every episode recorded, oldest first ({len(episodes)})</caption>",
        "<thead><tr>" + "".join(f'<th scope="col">{h}</th>' for h in heads) + "</tr></thead>",
        "<tbody>", *rows, "</tbody>", "</table>", "</section>",
        "</main>", "</body>", "</html>", ""])

"""The report to take to the doctor: one printable, accessible HTML page.

Large text, real headings, a summary list, a bar chart of episodes per week (per month for a long
diary) drawn in HTML so its text is body text, with the same figures in words, and a table of
every episode by its number in the diary, in that order (the order they were recorded, as
``numb-legs diary list`` shows them). Each episode shows what was recorded and the person's own
words; where an answer was corrected, the corrected value and what was first said. No scripts,
no external files: it opens the same anywhere, offline, and prints on plain paper. On a narrow
screen (or zoomed in) the table's rows become cards, so nothing scrolls sideways.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from html import escape

from .chart import WEEK, Chart, chart_of
from .store import Episode
from .summary import FREQUENT, LENGTHENING, ONE_SIDED, RED_FLAGS, Summary
from .timeparse import parse_activity, parse_duration, parse_legs
from .words import DiaryWords, load_words

_REASONS = {
    FREQUENT: "it happens often",
    LENGTHENING: "the episodes are getting longer",
    ONE_SIDED: "it is mostly on one side",
    RED_FLAGS: "warning signs were reported",
}
# What red_flags=True means: the safety check heard an emergency sign while this episode was
# being recorded and the person was told to get help at once. Which sign is not stored apart
# from the person's words, so the report says that much and no more.
WARNING_SIGNS = "Warning signs (emergency advice given)"
HEADS = ("No.", "Started", "How long", "Leg", "Doing", "Other signs", "In their words")
# Shown before a cell's value when the table is stacked into cards (hidden from screen readers,
# which announce the column header instead).
_CARD_LABELS = {"No.": "Episode"}
# Colours: text #111 on white (18.9:1), on the header grey #e8e8e8 (15.4:1); bars #1f4e9c on white
# (8.3:1, well over the 3:1 a graphic needs). Below 60em the seven columns stop fitting (found
# by tests/test_diary_report.py, which widens the page from 320 px), so the rows become cards.
_STYLE = """
body { font-family: system-ui, sans-serif; font-size: 1.3rem; line-height: 1.5; color: #111;
       background: #fff; max-width: 62rem; margin: 1.5rem auto; padding: 0 1rem; }
h1 { font-size: 2.2rem; margin-bottom: .2em; } h2 { font-size: 1.7rem; margin-top: 1.6em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #444; padding: .35em .5em; text-align: left; vertical-align: top; }
th { background: #e8e8e8; } caption { text-align: left; font-weight: bold; padding: .3em 0; }
td.words { overflow-wrap: anywhere; } .said { font-style: italic; }
.card-label { display: none; font-weight: bold; }
.advice { border: 3px solid #111; padding: .5em .8em; }
figure { margin: 0; } .key { margin: 0 0 .5em; } figcaption { margin-top: .6em; }
.bars { display: grid; grid-template-columns: max-content minmax(0, 1fr); column-gap: .75em;
        row-gap: .15em; align-items: center; line-height: 1.3; }
.amount { display: flex; align-items: center; gap: .4em; min-width: 0; }
.bar { flex: none; height: 1em; background: #1f4e9c; -webkit-print-color-adjust: exact;
       print-color-adjust: exact; }
@media (forced-colors: active) { .bar { forced-color-adjust: none; background: CanvasText; } }
@media screen and (max-width: 60em) {
  table, caption, tbody, tr, th, td { display: block; }
  thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%);
          white-space: nowrap; }
  tbody tr { border: 2px solid #444; margin: 0 0 .8em; }
  tbody th, tbody td { border: 0; border-top: 1px solid #999; }
  tbody th { border-top: 0; }
  .card-label { display: inline; }
}
@media print { body { font-size: 13pt; margin: 0; max-width: none; }
               th, td { padding: .25em .3em; } tr, figure { break-inside: avoid; } }
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


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def by_number(episodes: Sequence[Episode]) -> list[Episode]:
    """EPISODES by their number in the diary (the order they were recorded, as ``diary list``
    shows them), so the numbers read up the table, whatever order the caller gave; by start
    time, the numbers of an episode told late would jump back."""
    return sorted(episodes, key=lambda e: (e.number is None, e.number or 0, e.started_at))


def _corrected(value: str | None, first: str | None) -> str:
    """VALUE as HTML, with what was first said when that differs (the person corrected it)."""
    if first is None or first == value:
        return escape(value or "not said")
    if value is None:  # not from the dialogue (an import): nothing says it was corrected
        return f'not recorded <span class="said">(their words say {escape(first)})</span>'
    return f'{escape(value)} <span class="said">(corrected; first said {escape(first)})</span>'


def _cells(episode: Episode, lexicon: DiaryWords) -> list[str]:
    """The HTML of an episode's cells after its number, in HEADS order."""
    # The note is the sentence that began the entry; the dialogue reads the fields from it with
    # these same parsers, so a field that differs from its reading was corrected afterwards.
    note = episode.note
    said_seconds = parse_duration(note, lexicon) if note else None
    said_legs = parse_legs(note, lexicon) if note else None
    said_activity = parse_activity(note, lexicon) if note else None
    signs = [f"<strong>{WARNING_SIGNS}</strong>"] if episode.red_flags else []
    signs += [escape(sign) for sign in episode.other_signs]
    return [
        escape(f"{_day(episode.started_at)}, {episode.started_at.strftime('%H:%M')}"),
        _corrected(_minutes(episode.duration_s) if episode.duration_s is not None else None,
                   _minutes(said_seconds) if said_seconds is not None else None),
        _corrected(episode.legs, said_legs),
        _corrected(episode.activity, said_activity),
        "; ".join(signs) or "none recorded",
        escape(note) if note else "not recorded",
    ]


def _row(episode: Episode, lexicon: DiaryWords) -> str:
    def label(head: str) -> str:
        return f'<span class="card-label" aria-hidden="true">{_CARD_LABELS.get(head, head)}: </span>'
    number = "not saved" if episode.number is None else str(episode.number)
    cells = [f'<th scope="row">{label(HEADS[0])}{number}</th>']
    for head, cell in zip(HEADS[1:], _cells(episode, lexicon)):
        kind = ' class="words"' if head == HEADS[-1] else ""
        cells.append(f"<td{kind}>{label(head)}{cell}</td>")
    return "<tr>" + "".join(cells) + "</tr>"


def _chart(chart: Chart) -> str:
    """The bar chart as HTML rows (a label, a bar, the number), named and described for screen
    readers by the same figures in words, shown below it."""
    words = escape(chart.words())
    if not chart.bars:
        return f"<p>{words}</p>"
    top = max(bar.count for bar in chart.bars) or 1
    key = ("Each row is one week, starting on a Monday; " if chart.unit == WEEK else
           "Each row is one calendar month; ") + f"the bar and the number show that {chart.unit}'s episodes."
    rows = []
    for bar in chart.bars:
        # The bar leaves room for the number after it, however long the bar.
        drawn = (f'<span class="bar" style="width: calc((100% - 4em) * {bar.count / top:.4f})">'
                 "</span>" if bar.count else "")
        rows.append(f"<span>{escape(bar.label)}</span>"
                    f'<span class="amount">{drawn}{bar.count}</span>')
    return "\n".join([
        "<figure>", f'<p class="key">{escape(key)}</p>',
        f'<div class="bars" role="img" aria-label="{escape(chart.title)}" '
        'aria-describedby="chart-words">', *rows, "</div>",
        f'<figcaption id="chart-words">{words}</figcaption>', "</figure>"])


def _counts(values: list[str | None], names: dict[str, str]) -> str:
    counter = Counter(values)
    shown = [f"{label} {counter[key]}" for key, label in names.items() if counter.get(key)]
    if counter.get(None):
        shown.append(f"not said {counter[None]}")
    return ", ".join(shown) or "none"


def render_html(episodes: Sequence[Episode], recent: Summary, made: datetime,
                lexicon: DiaryWords | None = None) -> str:
    """The whole page. RECENT summarises the last 30 days (for the advice and the trend)."""
    lexicon = lexicon or load_words()
    ordered = by_number(episodes)
    durations = [e.duration_s for e in ordered if e.duration_s is not None]
    flagged = sum(1 for e in ordered if e.red_flags)
    starts = [e.started_at for e in ordered]
    span = (f"{_plural(len(ordered), 'episode')} recorded from {_day(min(starts))} to "
            f"{_day(max(starts))}." if ordered else "No episodes have been recorded.")
    by_length = sorted(durations)
    median = by_length[len(by_length) // 2] if by_length else None
    if by_length and len(by_length) % 2 == 0:
        median = round((by_length[len(by_length) // 2 - 1] + by_length[len(by_length) // 2]) / 2)
    trend = "" if recent.previous_count is None else \
        f" ({recent.previous_count} in the 30 days before)"
    items = [
        f"Episodes in the last 30 days: {recent.count}{trend}.",
        f"Typical (median) duration: {_minutes(median)}; longest: "
        f"{_minutes(max(durations)) if durations else 'not said'}.",
        "Which leg: " + _counts([e.legs for e in ordered],
                                {"left": "left", "right": "right", "both": "both"}) + ".",
        "Doing what: " + _counts([e.activity for e in ordered],
                                 {"sitting": "sitting", "lying": "lying", "walking": "walking",
                                  "other": "other"}) + ".",
        f"Episodes with warning signs reported: {flagged}.",
    ]
    if recent.reasons:
        advice = ("<p class=\"advice\"><strong>Worth showing a neurologist:</strong> "
                  + escape(", ".join(_REASONS[r] for r in recent.reasons)) + ".</p>")
    else:
        advice = "<p>Nothing in the pattern of the last 30 days needs a neurologist.</p>"
    chart = chart_of(ordered, made)
    rows = [_row(episode, lexicon) for episode in ordered]
    guide = ("<p>Each episode keeps the number the diary gave it when it was saved (the numbers "
             "<em>numb-legs diary list</em> shows), and they are listed in that order: an "
             "episode told later than it happened comes where it was told, and <em>Started</em> "
             "says when it happened. <em>In their words</em> is the "
             "sentence that began each entry, as the assistant heard it. Where an answer was "
             "corrected afterwards, the table shows the corrected answer and what was first said. "
             f"<strong>{WARNING_SIGNS}</strong> means something said while the episode was being "
             "recorded sounded like an emergency sign, and the person was told to get help at once."
             "</p>")
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
        '<section aria-labelledby="h-chart">', f'<h2 id="h-chart">{escape(chart.title)}</h2>',
        _chart(chart), "</section>",
        '<section aria-labelledby="h-episodes">', '<h2 id="h-episodes">All episodes</h2>',
        guide if ordered else "",
        "<table>", f"<caption>Every episode, in the order they were recorded ({len(ordered)})</caption>",
        "<thead><tr>" + "".join(f'<th scope="col">{h}</th>' for h in HEADS) + "</tr></thead>",
        "<tbody>", *rows, "</tbody>", "</table>", "</section>",
        "</main>", "</body>", "</html>", ""])

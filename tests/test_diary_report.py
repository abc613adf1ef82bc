"""The doctor's report: its episodes recorded through the real dialogue, the page read as a
browser reads it, then rendered in a real headless Chromium (Debian's), checked with axe-core and
the browser's own accessibility tree, measured at 320 CSS px, and photographed."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from intents.meaning import default_matcher
from knowledge import load_knowledge
from knowledge.diary.chart import weekly_counts
from knowledge.diary.report import render_html
from knowledge.diary.store import DiaryStore, Episode
from knowledge.diary.summary import Period, Summary, summarise
from voice.dialogue.responses import load_responses
from voice.dialogue.skill import Skill

NOW = datetime(2026, 11, 24, 20, 15)  # a Tuesday
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
EPISODES = 12


def _diary(folder: Path) -> DiaryStore:
    # Added newest first, so the diary's own ids run against the order of the episodes.
    store = DiaryStore(folder / "diary.db")
    store.add_many([Episode(NOW - timedelta(days=4 * n, hours=n), (5 + n) * 60,
                            ("left", "right", "both")[n % 3], "sitting",
                            ("tingling",) if n % 2 else (), note=f"note <{n}> & more",
                            red_flags=n == 3) for n in range(EPISODES)])
    return store


def _recent(store: DiaryStore) -> Summary:
    return summarise(store, Period("in the last 30 days", NOW - timedelta(days=30), NOW,
                                   inclusive=True))


def _page(store: DiaryStore) -> str:
    return render_html(store.episodes(), _recent(store), NOW)


class _Read(HTMLParser):
    """The page as assistive technology reads it: the episode table's rows of cell texts and the
    chart's words (its figcaption), leaving out what is aria-hidden."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.words = ""
        self._cell: list[str] | None = None
        self._in_caption = False
        self._stack: list[tuple[str, bool]] = []  # (tag, hidden)

    @property
    def _hidden(self) -> bool:
        return any(hidden for _, hidden in self._stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "meta", "img", "hr", "input", "link"):
            return
        self._stack.append((tag, dict(attrs).get("aria-hidden") == "true"))
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "figcaption":
            self._in_caption = True

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            if self._stack.pop()[0] == tag:
                break
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "figcaption":
            self._in_caption = False

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._cell is not None:
            self._cell.append(data)
        if self._in_caption:
            self.words += data


def _read(page: str) -> _Read:
    reader = _Read()
    reader.feed(page)
    return reader


def _table(page: str) -> list[dict[str, str]]:
    """The episode table as one dict per episode, keyed by column heading."""
    header, *rows = _read(page).rows
    return [dict(zip(header, row)) for row in rows]


HEADS_SHOWN = ("No.", "Started", "How long", "Leg", "Doing", "Other signs", "In their words")


def _column(header: list[str], *names: str) -> str:
    (found,) = [h for h in header if h in names]
    return found


@pytest.fixture()
def spoken(tmp_path):
    """A real diary and the real skill that records into it; say(...) speaks turns in order."""
    store = DiaryStore(tmp_path / "diary.db", clock=lambda: NOW)
    skill = Skill(default_matcher(), load_knowledge(), load_responses(), emergency_number="999",
                  diary=store, now=lambda: NOW)

    def say(*turns: str) -> str:
        return " ".join(skill.respond(turn).text for turn in turns)
    yield store, say
    store.close()


def test_report_html_without_a_browser(tmp_path):
    store = _diary(tmp_path)
    page = _page(store)
    assert page.count("<tr>") == EPISODES + 1
    assert "note &lt;3&gt; &amp; more" in page  # notes are escaped, never markup
    assert "<script" not in page and "http" not in page.replace("http://www.w3.org/2000/svg", "")
    weeks = weekly_counts(store.episodes(), NOW)
    assert sum(count for _, count in weeks) == EPISODES
    assert all(b[0] - a[0] == timedelta(weeks=1) for a, b in zip(weeks, weeks[1:]))


# -- 1. signs and warning signs, as recorded --------------------------------------------------


def test_signs_and_warning_signs_are_shown_as_recorded(spoken):
    store, say = spoken
    with_tingling = ("log that my right leg went numb for five minutes with tingling and my "
                     "speech is slurred")
    assert say(with_tingling).startswith("Call 999 now.")
    assert say("yes").startswith("Saved in your diary.")
    # A warning sign said after the entry began: the diary keeps that there was one.
    say("log it")
    assert say("my speech is slurred").startswith("Call 999 now.")
    assert say("yes").startswith("Saved in your diary.")
    assert [e.red_flags for e in store.episodes()] == [True, True]

    header, *rows = _read(_page(store)).rows
    signs = _column(header, "Other signs")
    assert "Warning signs" not in header  # one column, so "none" can never sit beside a "yes"
    first, second = (dict(zip(header, row)) for row in rows)
    assert first[signs].lower().startswith("warning signs")
    assert "tingling" in first[signs]
    assert second[signs].lower().startswith("warning signs")
    for row in (first, second):
        assert "none" not in row[signs].lower()
        assert "emergency advice" in row[signs]
    # The person's own words, exactly as heard, beside them: the warning sign said after the
    # entry began among them.
    assert with_tingling in first.values()
    assert "log it … my speech is slurred" in second.values()


def test_an_episode_without_other_signs_says_none_were_recorded(spoken):
    store, say = spoken
    say("my left leg went numb for ten minutes after sitting", "yes")
    (row,) = _table(_page(store))
    assert row["Other signs"] == "none recorded"


# -- 2. corrections ---------------------------------------------------------------------------


def test_a_corrected_episode_shows_what_was_first_said_and_what_it_became(spoken):
    store, say = spoken
    first = "my left leg went numb for ten minutes after sitting"
    read_back = say(first, "no, it was my right leg")
    assert "your right leg" in read_back
    say("yes")
    (episode,) = store.episodes()
    assert (episode.legs, episode.note) == ("right", first)  # the note keeps the first words

    (row,) = _table(_page(store))
    assert row["Leg"] == "right (corrected; first said left)"
    assert row["How long"] == "10 min" and row["Doing"] == "sitting"  # unchanged: no remark
    assert first in row.values()


def test_a_corrected_duration_and_activity_are_shown_too(tmp_path):
    store = DiaryStore(tmp_path / "diary.db")
    store.add(Episode(NOW, 300, "left", "lying",
                      note="my left leg went numb for ten minutes after sitting"))
    (row,) = _table(_page(store))
    assert row["How long"] == "5 min (corrected; first said 10 min)"
    assert row["Doing"] == "lying (corrected; first said sitting)"
    assert row["Leg"] == "left"


def test_a_value_the_words_give_but_the_record_lacks_is_not_called_a_correction(tmp_path):
    store = DiaryStore(tmp_path / "diary.db")
    store.add(Episode(NOW, None, None, None, note="my left leg went numb"))  # an import, say
    (row,) = _table(_page(store))
    assert row["Leg"] == "not recorded (their words say left)"
    assert row["How long"] == "not said" and row["Doing"] == "not said"


# -- 3. numbering -----------------------------------------------------------------------------


def test_episodes_keep_their_diary_numbers_listed_in_that_order_as_the_heading_says(tmp_path):
    store = _diary(tmp_path)  # saved newest first: numbers 1 to 12 run back in time
    store.add(Episode(NOW - timedelta(days=100), 60, "left", None, note="told late"))
    numbers = {e.note: e.number for e in store.episodes()}
    assert numbers["told late"] == EPISODES + 1
    store.delete(numbers["note <0> & more"])  # a gap stays a gap: nobody is renumbered
    page = _page(store)
    reader = _read(page)
    caption = re.search(r"<caption>(.*?)</caption>", page)
    assert caption and caption.group(1) == \
        f"Every episode, in the order they were recorded ({EPISODES})"
    rows = _table(page)
    assert [row["No."] for row in rows] == [str(n) for n in range(2, EPISODES + 2)]
    assert [row["No."] for row in rows] == [str(e.number) for e in sorted(
        store.episodes(), key=lambda e: e.number or 0)]
    assert "told late" in rows[-1].values()
    # The same numbers and order as `numb-legs diary list`, whatever order they come in.
    assert _read(render_html(store.episodes()[::-1], _recent(store), NOW)).rows == reader.rows
    assert "numb-legs diary list" in page


# -- 4 and 5. the chart, and the same figures in words, at every size ------------------------


def _spread(weeks: int, per_week: int) -> list[Episode]:
    """PER_WEEK episodes a week for WEEKS weeks up to NOW, with every kind of cell filled."""
    step = timedelta(days=7) / per_week
    return [Episode(NOW - step * n - timedelta(minutes=7 * n), (3 + n % 40) * 60,
                    ("left", "right", "both", None)[n % 4],
                    ("sitting", "lying", "walking", "other", None)[n % 5],
                    ("tingling", "pins and needles") if n % 3 == 0 else (),
                    note=("my left foot went numb and tingly for a few minutes while I sat at "
                          "the kitchen table reading the paper") if n % 2 else "",
                    red_flags=n % 17 == 5)
            for n in range(weeks * per_week)]


SIZES = {
    "empty": [],
    "1 episode": [Episode(NOW - timedelta(hours=3), 600, "left", "sitting", note="my left leg")],
    "1 week": _spread(1, 5),
    "16 weeks": _spread(16, 3),
    "20 weeks": _spread(20, 3),
    "60 weeks": _spread(60, 2),
}


def _store_of(folder: Path, episodes: list[Episode]) -> DiaryStore:
    store = DiaryStore(folder / "diary.db")
    store.add_many(episodes)
    return store


_FIGURE = re.compile(r"(\d{1,2} )?[A-Z][a-z]{2} \d{4}: (\d+)")


@pytest.mark.parametrize("size", [s for s in SIZES if s != "empty"])
def test_the_figures_in_words_count_every_episode_at_every_size(tmp_path, size):
    store = _store_of(tmp_path, SIZES[size])
    words = " ".join(_read(_page(store)).words.split())
    assert words.startswith("Bar chart of episodes per ")
    assert re.search(r"(Week by week|Month by month)( \([^)]*\))?: ", words), words
    figures = [int(found.group(2)) for found in _FIGURE.finditer(words.split(" by ", 1)[1])]
    assert sum(figures) == len(SIZES[size])  # nothing left out, however long the diary
    assert len(figures) <= 26  # a list a person can listen to


def test_the_empty_report_says_there_is_nothing_to_chart(tmp_path):
    store = _store_of(tmp_path, [])
    page = _page(store)
    assert _read(page).rows == [list(HEADS_SHOWN)]  # the header row only
    assert "No episodes have been recorded, so there is no chart." in page


# -- in Chromium ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium():
    # No skip: `make test` installs Debian's chromium, so its absence is a setup failure.
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: run make test (it installs it)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Debian's own Chromium: nothing is downloaded. No sandbox: tests may run as root.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def _open(chromium, tmp_path: Path, size: str, width: int):
    report = tmp_path / "report.html"
    if not report.exists():
        report.write_text(_page(_store_of(tmp_path, SIZES[size])), encoding="utf-8")
    page = chromium.new_page(viewport={"width": width, "height": 800})
    page.goto(report.as_uri())
    return page


# Every text in the chart: its effective size (an SVG's scale included), its box, and whether a
# box that clips it (overflow other than visible, up to the figure) or the page cuts it off.
_CHART_TEXT = """() => {
  const figure = document.querySelector('figure');
  if (!figure) return null;
  const body = parseFloat(getComputedStyle(document.body).fontSize);
  const page = document.documentElement.clientWidth;
  const texts = [];
  const walker = document.createTreeWalker(figure, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const element = node.parentElement;
    if (!node.data.trim() || element.closest('title, desc, figcaption')) continue;
    let size = parseFloat(getComputedStyle(element).fontSize);
    if (element instanceof SVGGraphicsElement) size *= Math.hypot(element.getScreenCTM().a,
                                                                  element.getScreenCTM().b);
    const range = document.createRange();
    range.selectNodeContents(node);
    const box = range.getBoundingClientRect();
    const cut = [];
    if (box.left < -0.5 || box.right > page + 0.5) cut.push('the page');
    for (let up = element; up && up !== figure.parentElement; up = up.parentElement) {
      if (getComputedStyle(up).overflow === 'visible') continue;
      const clip = up.getBoundingClientRect();
      if (box.left < clip.left - 0.5 || box.right > clip.right + 0.5 ||
          box.top < clip.top - 0.5 || box.bottom > clip.bottom + 0.5) cut.push(up.tagName);
    }
    texts.push({text: node.data.trim(), size, cut,
                box: [box.left, box.top, box.right, box.bottom]});
  }
  return {body, texts};
}"""


@pytest.mark.slow
@pytest.mark.parametrize("width", [1100, 320])
@pytest.mark.parametrize("size", [s for s in SIZES if s != "empty"])
def test_chart_text_is_body_sized_uncut_and_apart(chromium, tmp_path, size, width):
    page = _open(chromium, tmp_path, size, width)
    try:
        found = page.evaluate(_CHART_TEXT)
    finally:
        page.close()
    assert found is not None and found["texts"], "no chart text"
    body = found["body"]
    small = [(t["text"], round(t["size"], 1)) for t in found["texts"] if t["size"] < body - 0.01]
    assert not small, f"smaller than the body's {body}px: {small[:5]}"
    cut = [(t["text"], t["cut"]) for t in found["texts"] if t["cut"]]
    assert not cut, f"cut off: {cut[:5]}"
    boxes = [(t["text"], t["box"]) for t in found["texts"]]
    overlapping = [(a, b) for i, (a, p) in enumerate(boxes) for b, q in boxes[i + 1:]
                   if min(p[2], q[2]) - max(p[0], q[0]) > 0.5
                   and min(p[3], q[3]) - max(p[1], q[1]) > 0.5]
    assert not overlapping, f"overlapping: {overlapping[:5]}"


_STRUCTURE = """() => ({
  lang: document.documentElement.lang,
  title: document.title,
  headings: [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].map(h => +h.tagName[1]),
  unscoped: [...document.querySelectorAll('th')].filter(th => !th.scope).length,
  ths: document.querySelectorAll('th').length,
  scrollWidth: document.documentElement.scrollWidth,
})"""


@pytest.mark.slow
@pytest.mark.parametrize("width", [1100, 320])
@pytest.mark.parametrize("size", list(SIZES))
def test_axe_finds_nothing_serious_and_the_page_reflows_at_320px(chromium, tmp_path, size, width):
    from axe_playwright_python.sync_playwright import Axe

    page = _open(chromium, tmp_path, size, width)
    try:
        # Every rule axe-core has (WCAG 2.0 to 2.2 A and AA, and best practice).
        found = Axe().run(page).response
        violations = found["violations"]
        shape = page.evaluate(_STRUCTURE)
    finally:
        page.close()
    impacts = Counter(v["impact"] for v in violations)
    print(f"\naxe at {size}, {width}px: {dict(impacts) or 'no findings'}")
    serious = [(v["id"], v["impact"], len(v["nodes"]), v["nodes"][0]["target"])
               for v in violations if v["impact"] in ("serious", "critical")]
    assert not serious, serious
    # Contrast axe could not decide (text over an image, say) would pass unseen otherwise.
    assert "color-contrast" not in [check["id"] for check in found["incomplete"]]
    assert shape["lang"] == "en" and shape["title"] == "Numbness diary: report for the doctor"
    levels = shape["headings"]
    assert levels[0] == 1 and all(b - a <= 1 for a, b in zip(levels, levels[1:])), levels
    assert shape["ths"] >= 7 and shape["unscoped"] == 0
    assert shape["scrollWidth"] <= width, f"{shape['scrollWidth']} px wide at {width} px"


@pytest.mark.slow
@pytest.mark.parametrize("size", ["1 week", "60 weeks"])
def test_no_width_from_320px_up_scrolls_sideways_nor_does_a_printed_page(chromium, tmp_path, size):
    page = _open(chromium, tmp_path, size, 320)
    try:
        wide = []
        for width in range(320, 1401, 20):
            page.set_viewport_size({"width": width, "height": 800})
            scroll = page.evaluate("document.documentElement.scrollWidth")
            if scroll > width:
                wide.append((width, scroll))
        # A4 with the browser's default margins leaves about 718 CSS px.
        page.set_viewport_size({"width": 700, "height": 1000})
        page.emulate_media(media="print")
        printed = page.evaluate("document.documentElement.scrollWidth")
    finally:
        page.close()
    assert not wide, f"(width, scroll width): {wide}"
    assert printed <= 700


@pytest.mark.slow
def test_axe_here_does_catch_what_it_should(chromium, tmp_path):
    """The check above can fail: grey text and no language on the same page are found."""
    from axe_playwright_python.sync_playwright import Axe

    page = _open(chromium, tmp_path, "1 week", 1100)
    try:
        page.evaluate("""() => { document.documentElement.removeAttribute('lang');
                                document.body.style.color = '#999'; }""")
        found = {v["id"]: v["impact"] for v in Axe().run(page).response["violations"]}
    finally:
        page.close()
    assert found.get("color-contrast") == "serious" and found.get("html-has-lang") == "serious"


@pytest.mark.slow
def test_the_table_is_still_a_table_at_320px(chromium, tmp_path):
    """Stacked into cards for a narrow screen, the rows keep their headers for a screen reader."""
    page = _open(chromium, tmp_path, "1 week", 320)
    try:
        tree = page.context.new_cdp_session(page).send("Accessibility.getFullAXTree")
        stacked = page.evaluate("getComputedStyle(document.querySelector('td')).display")
    finally:
        page.close()
    nodes = [n for n in tree["nodes"] if not n.get("ignored")]
    roles = Counter(n.get("role", {}).get("value") for n in nodes)
    assert stacked == "block"
    assert roles["table"] == 1 and roles["row"] == len(SIZES["1 week"]) + 1
    assert roles["columnheader"] == 7 and roles["rowheader"] == len(SIZES["1 week"])


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.slow
def test_report_renders_and_is_accessible_in_chromium(chromium, tmp_path, monkeypatch):
    data = tmp_path / "data"
    _diary(data).close()
    monkeypatch.setenv("NUMB_LEGS_DATA_DIR", str(data))
    report = tmp_path / "report.html"
    made = subprocess.run([sys.executable, "-m", "voice", "diary", "report", str(report)],
                          capture_output=True, text=True, timeout=60, env=os.environ.copy())
    assert made.returncode == 0, made.stderr
    shot = tmp_path / "report.png"
    page = chromium.new_page(viewport={"width": 1100, "height": 900})
    try:
        page.goto(report.as_uri())
        assert page.title() == "Numbness diary: report for the doctor"
        tree = page.context.new_cdp_session(page).send("Accessibility.getFullAXTree")
        page.screenshot(path=str(shot), full_page=True)
    finally:
        page.close()
    nodes = [n for n in tree["nodes"] if not n.get("ignored")]

    def role(node):
        return node.get("role", {}).get("value")

    def name(node):
        return node.get("name", {}).get("value", "")

    headings = [(name(n), next((p["value"]["value"] for p in n.get("properties", [])
                                if p["name"] == "level"), None))
                for n in nodes if role(n) == "heading"]
    assert headings == [("Numbness diary", 1), ("Summary", 2), ("Episodes per week", 2),
                        ("All episodes", 2)]
    assert [name(n) for n in nodes if role(n) == "table"] == \
        [f"Every episode, in the order they were recorded ({EPISODES})"]
    rows = [n for n in nodes if role(n) == "row"]
    assert len(rows) == EPISODES + 1  # the header row and one per episode
    headers = [name(n) for n in nodes if role(n) == "columnheader"]
    assert headers[:4] == ["No.", "Started", "How long", "Leg"]
    (chart,) = [n for n in nodes if role(n) == "image" and name(n) == "Episodes per week"]
    description = chart.get("description", {}).get("value", "")
    assert description.startswith("Bar chart of episodes per week") and "The most in one week" in \
        description
    png = shot.read_bytes()
    width, height = _png_size(png)
    assert width >= 1000 and height > 900  # the whole page, longer than one screen
    assert len(png) > 30_000  # text, a chart and a table: far from a blank page

"""The doctor's report: rendered in a real headless Chromium (Debian's), checked through the
browser's own accessibility tree, and photographed."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from knowledge.diary.report import render_html, weekly_counts
from knowledge.diary.store import DiaryStore, Episode
from knowledge.diary.summary import Period, summarise

NOW = datetime(2026, 11, 24, 20, 15)
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
EPISODES = 12


def _diary(folder: Path) -> DiaryStore:
    store = DiaryStore(folder / "diary.db")
    store.add_many([Episode(NOW - timedelta(days=4 * n, hours=n), (5 + n) * 60,
                            ("left", "right", "both")[n % 3], "sitting",
                            ("tingling",) if n % 2 else (), note=f"note <{n}> & more",
                            red_flags=n == 3) for n in range(EPISODES)])
    return store


def test_report_html_without_a_browser(tmp_path):
    store = _diary(tmp_path)
    recent = summarise(store, Period("in the last 30 days", NOW - timedelta(days=30), NOW))
    page = render_html(store.episodes(), recent, NOW)
    assert page.count("<tr>") == EPISODES + 1
    assert "note &lt;3&gt; &amp; more" in page  # notes are escaped, never markup
    assert "<script" not in page and "http" not in page.replace("http://www.w3.org/2000/svg", "")
    weeks = weekly_counts(store.episodes(), NOW)
    assert sum(count for _, count in weeks) == EPISODES
    assert all(b[0] - a[0] == timedelta(weeks=1) for a, b in zip(weeks, weeks[1:]))


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.slow
def test_report_renders_and_is_accessible_in_chromium(tmp_path, monkeypatch):
    # No skip: `make test` installs Debian's chromium, so its absence is a setup failure.
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: run make test (it installs it)"
    from playwright.sync_api import sync_playwright

    data = tmp_path / "data"
    _diary(data).close()
    monkeypatch.setenv("NUMB_LEGS_DATA_DIR", str(data))
    report = tmp_path / "report.html"
    made = subprocess.run([sys.executable, "-m", "voice", "diary", "report", str(report)],
                          capture_output=True, text=True, timeout=60, env=os.environ.copy())
    assert made.returncode == 0, made.stderr
    shot = tmp_path / "report.png"
    with sync_playwright() as playwright:
        # Debian's own Chromium: nothing is downloaded. No sandbox: tests may run as root.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(report.as_uri())
            assert page.title() == "Numbness diary: report for the doctor"
            tree = page.context.new_cdp_session(page).send("Accessibility.getFullAXTree")
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
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
        [f"Every episode recorded, oldest first ({EPISODES})"]
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

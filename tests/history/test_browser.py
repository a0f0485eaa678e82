"""The pages in a real browser: headless Chromium renders them, with no console errors.

Skipped, with the reason printed in the summary, where Chromium is not installed (`.ci/run`
installs Debian's `chromium`).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from projections.history_source import load_report, load_timeline
from tests.history import browser
from tests.history.conftest import SKIPPED, at
from tests.history.pages import Elements
from tools.render import html

CHROMIUM = browser.find_chromium()


@pytest.fixture
def chromium() -> str:
    if CHROMIUM is None:
        reason = ("headless Chromium not found (install Debian's `chromium`, as .ci/run does): "
                  "the pages were not rendered in a browser")
        SKIPPED.append(reason)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture
def pages(sqlite_known, tmp_path) -> dict[str, Path]:
    ledger = sqlite_known.ledger
    history = tmp_path / "history.html"
    history.write_text(html.history_page(load_timeline(ledger, "prod/db")), encoding="utf-8")
    report = tmp_path / "report.html"
    report.write_text(html.report_page(load_report(ledger, at(17, 0, 0), at(19, 0, 0), [])),
                      encoding="utf-8")
    return {"history": history, "report": report}


@pytest.mark.parametrize("name", ["history", "report"])
def test_page_renders_to_a_non_blank_screenshot(chromium, pages, tmp_path, name):
    png = tmp_path / f"{name}.png"
    done = browser.screenshot(chromium, pages[name], png, tmp_path / f"profile-{name}")
    assert png.exists(), f"no screenshot; chromium said: {done.stderr[-2000:]}"
    picture = browser.read_png(png.read_bytes())
    assert (picture.width, picture.height) == (1400, 900)
    assert picture.colours > 50 and picture.inked > 0.05, picture


def test_history_dom_has_every_lane_band_and_marker_and_no_console_error(chromium, pages,
                                                                          tmp_path):
    dom, log = browser.dump_dom(chromium, pages["history"], tmp_path / "profile")
    doc = Elements(dom)
    classes = doc.classes()
    assert classes["lane-version"] == 4 and classes["lane-secret"] == 1
    assert classes["band"] == 9 and classes["move"] == 5 and classes["marker"] == 17
    assert doc.count("tr") == (1 + 4) + (1 + 27)
    assert doc.count("script") == 0
    assert browser.console_errors(log) == []


def test_report_dom_has_its_charts_and_tables_and_no_console_error(chromium, pages, tmp_path):
    dom, log = browser.dump_dom(chromium, pages["report"], tmp_path / "profile")
    doc = Elements(dom)
    assert len(doc.with_class("chart", "svg")) == 3
    assert len(doc.with_class("denied", "tr")) == 1 and len(doc.with_class("read", "tr")) == 2
    assert doc.with_class("integrity")[0]["data-state"] == "valid"
    assert browser.console_errors(log) == []


def test_console_errors_are_caught_by_the_check(chromium, tmp_path):
    """The check itself: a page that throws and one that tries a fetch are both reported."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><meta http-equiv="Content-Security-Policy" '
                   "content=\"default-src 'none'; script-src 'unsafe-inline'\">"
                   "<script>throw new Error('boom')</script>", encoding="utf-8")
    _, log = browser.dump_dom(chromium, bad, tmp_path / "profile")
    assert any("boom" in line for line in browser.console_errors(log))

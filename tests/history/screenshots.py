"""Regenerate docs/history.png and docs/report.png from the tests' known history.

    python -m tests.history.screenshots [DOCS_DIR]
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from projections.history_source import load_report, load_timeline
from tests.conftest import Clock
from tests.history import browser
from tests.history.conftest import at, known_history, make
from tools.render import html


def main(docs: Path) -> int:
    chromium = browser.find_chromium()
    if chromium is None:
        print("headless Chromium not found (Debian's `chromium`)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        clock = Clock()
        ledger = known_history(make(work / "data", clock), clock).ledger
        pages = {"history": html.history_page(load_timeline(ledger, "prod/db")),
                 "report": html.report_page(load_report(ledger, at(17, 0, 0), at(19, 0, 0),
                                                        []))}
        for name, page in pages.items():
            source = work / f"{name}.html"
            source.write_text(page, encoding="utf-8")
            browser.screenshot(chromium, source, docs / f"{name}.png", work / f"profile-{name}",
                               size="1400,1000")
            print(f"wrote {docs / f'{name}.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")))

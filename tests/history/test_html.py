"""The history page: one self-contained file whose structure says what happened."""
from __future__ import annotations

import pytest

from projections.history_source import load_timeline
from tests.history.conftest import VALUES
from tests.history.pages import Elements, external_references, of_class, swimlane_svg
from tools.render import html

MARKERS = {"created": 1, "version": 4, "read": 2, "denied": 1, "failed": 1, "key": 1,
           "re-encrypted": 2, "description": 1, "tags": 1, "removed": 1, "deletion": 1,
           "restored": 1}


@pytest.fixture
def page(known) -> str:
    return html.history_page(load_timeline(known.ledger, "prod/db"))


def test_one_lane_per_version_plus_the_secret_lane(page, known):
    svg = swimlane_svg(page)
    lanes = of_class(svg, "lane-version")
    assert [lane.get("data-version") for lane in lanes] == known.versions
    assert len(of_class(svg, "lane-secret")) == 1
    assert [lane.get("class").split()[-1] for lane in lanes] == ["live", "shredded", "live",
                                                                 "live"]


def test_labels_are_bands_that_move_between_versions(page):
    svg = swimlane_svg(page)
    bands = of_class(svg, "band")
    by_label: dict[str, int] = {}
    for band in bands:
        by_label[band.get("data-label")] = by_label.get(band.get("data-label"), 0) + 1
    assert by_label == {"AWSCURRENT": 4, "AWSPREVIOUS": 3, "AWSPENDING": 1, "BLUE": 1}
    # AWSCURRENT v1->v2->v3->v4 and AWSPREVIOUS v1->v2->v3: five handovers drawn.
    assert len(of_class(svg, "move")) == 5
    assert all(band.find("title") is not None for band in bands)


def test_a_marker_per_fact_each_with_who_when_and_request(page, known):
    svg = swimlane_svg(page)
    counts = {kind: len(of_class(svg, f"marker-{kind}")) for kind in MARKERS}
    assert counts == MARKERS
    markers = of_class(svg, "marker")
    assert len(markers) == sum(MARKERS.values())
    (denied,) = of_class(svg, "marker-denied")
    title = denied.find("title").text
    assert "user/mallory" in title and "2026-03-17T03:56:00Z" in title
    assert f"request: {known.denied_request}" in title


def test_integrity_status_legend_and_tables(page):
    doc = Elements(page)
    (box,) = doc.with_class("integrity")
    assert box["data-state"] == "valid" and "valid" in box["class"].split()
    assert "log verified" in "".join(doc.text)
    assert len(doc.with_class("swatch")) >= 4 + 12  # every label and every marker kind
    (versions,) = doc.with_class("versions", "table")
    (timeline,) = doc.with_class("timeline", "table")
    rows = doc.count("tr")
    assert rows == (1 + 4) + (1 + 27)  # header + one row per version, per entry
    assert len(doc.with_class("denied", "tr")) == 1 and len(doc.with_class("shredded", "tr")) == 1


def test_self_contained_no_script_no_fetch(page):
    doc = Elements(page)
    assert doc.count("script") == 0 and doc.count("link") == 0 and doc.count("img") == 0
    assert external_references(page) == []
    assert "<script src" not in page.lower()
    (csp,) = [attrs for tag, attrs in doc.tags if attrs.get("http-equiv")]
    assert csp["content"].startswith("default-src 'none'")


def test_no_value_no_ciphertext_no_fingerprint(page, known):
    for value in VALUES:
        assert value not in page
    assert "hmac-sha256:" not in page


def test_a_deleted_secret_draws_shredded_lanes(known):
    svg = swimlane_svg(html.history_page(load_timeline(known.ledger, "tmp/gone")))
    (lane,) = of_class(svg, "lane-version")
    assert "shredded" in lane.get("class").split()
    assert len(of_class(svg, "marker-deleted")) == 1

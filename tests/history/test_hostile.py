"""Names, descriptions, tags, labels, request ids and caller ARNs are chosen by whoever calls:
markup in them is shown as text, never run, and terminal escapes are shown, never obeyed."""
from __future__ import annotations

import io
import random

import pytest

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.context import Caller
from ledger.errors import LedgerError
from projections.history_source import load_report, load_timeline
from tests.grants import grant_full_access
from tests.history.pages import Elements, external_references, swimlane_svg
from tools.render import html, layout, terminal

DESCRIPTION = '</title><script>alert("d")</script>\x1b[31m[bold red]boom[/]\x1b]0;pwned\x07'
TAG_KEY = "<img src=x onerror=alert(1)>"
TAG_VALUE = '"><svg onload=alert(2)>'
LABEL = "<b>L</b>"
REQUEST = '"><script>alert(3)</script>'
INTRUDER = Caller(arn="arn:aws:iam::123456789012:user/<script>alert(4)</script>")
VALUE = "Hostile-value-<script>alert(5)</script>"


@pytest.fixture
def hostile(tmp_path, clock) -> SecretsLedger:
    ledger = SecretsLedger(LedgerConfig(data_dir=tmp_path / "data"), clock=clock,
                           rng=random.Random(9))
    grant_full_access(ledger, "user/alice")
    alice = Caller(arn="arn:aws:iam::123456789012:user/alice")
    ledger.call("CreateSecret", {"Name": "app/x", "SecretString": VALUE,
                                 "Description": DESCRIPTION,
                                 "Tags": [{"Key": TAG_KEY, "Value": TAG_VALUE},
                                          {"Key": "sensitivity", "Value": "high"}]},
                alice, request_id=REQUEST)
    version = ledger.call("PutSecretValue", {"SecretId": "app/x", "SecretString": VALUE + "2",
                                             "VersionStages": [LABEL]}, alice)["VersionId"]
    ledger.call("GetSecretValue", {"SecretId": "app/x", "VersionId": version}, alice)
    with pytest.raises(LedgerError):
        ledger.call("GetSecretValue", {"SecretId": "app/x"}, INTRUDER, request_id=REQUEST)
    return ledger


def assert_inert(page: str) -> None:
    doc = Elements(page)
    assert doc.count("script") == 0 and doc.count("img") == 0
    assert not [name for _, attrs in doc.tags for name in attrs if name.startswith("on")]
    assert external_references(page) == []
    assert "<script" not in page and "<img" not in page and LABEL not in page
    assert "\x1b" not in page and "\x07" not in page
    text = "".join(doc.text)
    assert "<script>alert(4)</script>" in text  # shown as text, in full


def test_history_page_shows_hostile_strings_as_text(hostile):
    page = html.history_page(load_timeline(hostile, "app/x"))
    assert_inert(page)
    svg = swimlane_svg(page)  # still well-formed XML
    assert {band.get("data-label") for band in svg.iter("rect") if band.get("data-label")} \
        == {"AWSCURRENT", LABEL}
    text = "".join(Elements(page).text)
    assert TAG_KEY in text and '</title><script>alert("d")</script>' in text
    assert "\\u001b[31m" in text  # the escape character made visible
    assert VALUE not in page


def test_report_page_shows_hostile_strings_as_text(hostile):
    page = html.report_page(load_report(hostile, None, None, []))
    assert_inert(page)
    assert VALUE not in page


def test_terminal_prints_escapes_and_markup_literally(hostile):
    blocks = layout.history_blocks(load_timeline(hostile, "app/x"))
    plain, rich = io.StringIO(), io.StringIO()
    terminal.write(blocks, plain, rich=False)
    terminal.write_rich(blocks, rich, width=600)  # wide: no cell is wrapped
    for text in (plain.getvalue(), rich.getvalue()):
        assert "\x1b]0;" not in text and "\x07" not in text  # no title-setting sequence
        assert "\x1b[31m[bold" not in text  # the recorded escape is not passed through
        assert "\\u001b[31m[bold red]boom[/]\\u001b]0;pwned\\u0007" in text  # markup not parsed
        assert LABEL in text and VALUE not in text
    assert "\x1b" not in plain.getvalue()

"""The audit report of a period: counts, failures, denials, changes, sensitive reads."""
from __future__ import annotations

import io

import pytest

from projections.history_source import load_report
from projections.sensitivity import DEFAULT_RULES, SensitiveRule
from tests.history.conftest import ALICE, BOB, CAROL, VALUES, at
from tests.history.pages import Elements, external_references, of_class
from tools.render import html, layout, terminal


@pytest.fixture
def report(known):
    return load_report(known.ledger, at(17, 0, 0), at(19, 0, 0), [])


def test_calls_per_operation_and_per_principal(report):
    assert report.by_operation["GetSecretValue"] == 4  # two reads, one denied, one failed
    assert report.by_operation["PutSecretValue"] == 3
    assert report.by_operation["UpdateSecretVersionStage"] == 3
    assert report.by_operation["CreateSecret"] == 2 and report.by_operation["DeleteSecret"] == 2
    assert report.by_principal[BOB.arn] == 4 and report.by_principal[CAROL.arn] == 1
    assert report.calls == sum(report.by_operation.values())
    assert report.service_events == 1  # the cleanup of prod/db's v2


def test_denied_and_failed_calls_are_listed_apart(report, known):
    (denied,) = report.denied
    assert denied.request_id == known.denied_request and "mallory" in denied.who
    assert denied.secret == "prod/db" and denied.error_code == "AccessDeniedException"
    (failed,) = report.failed
    assert failed.request_id == known.failed_request
    assert failed.error_code == "ResourceNotFoundException"
    assert report.errors_by_code == {"AccessDeniedException": 1, "ResourceNotFoundException": 1}


def test_secrets_and_keys_changed(report, known):
    changed = {c.name: c for c in report.secrets_changed}
    assert set(changed) == {"prod/db", "tmp/gone"}
    prod = changed["prod/db"]
    assert prod.operations["PutSecretValue"] == 3 and prod.operations["UpdateSecret"] == 1
    assert prod.operations["EndSecretVersionDelete"] == 1
    assert {ALICE.arn, BOB.arn, CAROL.arn} <= prod.principals
    changes = [(k.subject, k.change.split(" ")[0:2]) for k in report.keys_changed]
    assert (known.key_arn, ["key", "created"]) in changes
    secret_changes = [k for k in report.keys_changed if k.subject == "prod/db"]
    assert [k.change.split(" ")[0] for k in secret_changes] == ["secret", "version", "version"]
    assert all(k.who == CAROL.arn for k in secret_changes)


def test_reads_of_sensitive_secrets_by_default_rules(report):
    assert report.sensitive_secrets == ["prod/db"]
    assert [(r.who, r.version) for r in report.sensitive_reads] == [(BOB.arn, None),
                                                                    (BOB.arn, "AWSPREVIOUS")]
    assert report.rules == [str(rule) for rule in DEFAULT_RULES]


def test_sensitive_tag_option_replaces_the_defaults(known):
    none = load_report(known.ledger, None, None, [SensitiveRule.parse("team=other")])
    assert none.sensitive_secrets == [] and none.sensitive_reads == []
    by_key = load_report(known.ledger, None, None, [SensitiveRule.parse("sensitivity")])
    assert by_key.sensitive_secrets == ["prod/db"] and len(by_key.sensitive_reads) == 2
    assert SensitiveRule.parse("Sensitivity=HIGH").matches({"Sensitivity": "high"})
    with pytest.raises(ValueError):
        SensitiveRule.parse("=x")


def test_a_read_is_sensitive_by_the_tags_its_secret_had_when_it_was_read(known):
    """prod/db was tagged team=core at 04:00, after both of bob's reads: they were not reads
    of a team=core secret, though the secret is one now and counts as sensitive in periods
    that include the tagging."""
    team = [SensitiveRule.parse("team=core")]
    whole = load_report(known.ledger, None, None, team)
    assert whole.sensitive_secrets == ["prod/db"] and whole.sensitive_reads == []
    before = load_report(known.ledger, at(17, 3, 0), at(17, 3, 59), team)
    assert before.sensitive_secrets == [] and before.sensitive_reads == []
    after = load_report(known.ledger, at(17, 4, 1), None, team)
    assert after.sensitive_secrets == ["prod/db"]  # tagged before this period began


def test_removing_the_tag_later_does_not_hide_earlier_sensitive_reads(known, clock):
    clock.now = at(19, 9, 0)
    known.ledger.call("UntagResource", {"SecretId": "prod/db", "TagKeys": ["sensitivity"]},
                      ALICE)
    report = load_report(known.ledger, None, None, [])
    assert report.sensitive_secrets == ["prod/db"]
    assert [(r.who, r.version) for r in report.sensitive_reads] == [(BOB.arn, None),
                                                                    (BOB.arn, "AWSPREVIOUS")]
    later = load_report(known.ledger, at(19, 9, 1), None, [])
    assert later.sensitive_secrets == []


def test_the_period_bounds_what_is_counted(known):
    window = load_report(known.ledger, at(17, 3, 55), at(17, 3, 57), [])
    assert window.calls == 3 and window.by_operation == {"GetSecretValue": 3}
    assert len(window.denied) == 1 and len(window.failed) == 1
    assert window.secrets_changed == [] and window.keys_changed == []
    assert window.integrity.state == "valid"


def test_report_terminal_text(report):
    out = io.StringIO()
    terminal.write(layout.report_blocks(report), out)
    text = out.getvalue()
    assert "Denied calls (1)" in text and "Failed calls (1)" in text
    assert "Reads of sensitive secrets (2)" in text and "Secrets changed (2)" in text
    line = next(line for line in text.splitlines() if line.strip().startswith("GetSecretValue"))
    assert line.split()[1] == "4" and "#" in line
    for value in VALUES:
        assert value not in text


def test_report_page_charts_and_tables(report):
    page = html.report_page(report)
    doc = Elements(page)
    charts = doc.with_class("chart", "svg")
    assert [c["aria-label"] for c in charts] == ["Calls per operation", "Calls per principal",
                                                 "Errors by code"]
    assert len(doc.with_class("bar")) == (len(report.by_operation) + len(report.by_principal)
                                          + len(report.errors_by_code))
    assert len(doc.with_class("denied", "tr")) == 1 and len(doc.with_class("failed", "tr")) == 1
    assert len(doc.with_class("read", "tr")) == 2
    (box,) = doc.with_class("integrity")
    assert box["data-state"] == "valid"
    assert doc.count("script") == 0 and external_references(page) == []
    for value in VALUES:
        assert value not in page


def test_bar_chart_svg_is_well_formed_xml(report):
    import re
    import xml.etree.ElementTree as ET
    page = html.report_page(report)
    for chart in re.findall(r'<svg class="chart".*?</svg>', page, flags=re.S):
        root = ET.fromstring(chart)
        assert all(bar.find("title") is not None for bar in of_class(root, "bar-row"))

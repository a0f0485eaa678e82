"""`secrets-ledger history` and `secrets-ledger report` from the shell."""
from __future__ import annotations

from tests.history.conftest import VALUES
from tests.history.pages import Elements, swimlane_svg, of_class
from tools.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_history_prints_the_plain_timeline_when_piped(sqlite_known, tmp_path, capsys):
    status, out, _ = run(capsys, "history", "prod/db", "--data-dir", str(tmp_path / "data"))
    assert status == 0 and out.startswith("History of prod/db\n")
    assert "\x1b[" not in out and "Timeline (27 entries)" in out
    # the last events are from 2026-03-18, long past the digest interval, and no digest
    # covers them: intact, but nothing proves them
    assert "log intact but unproven (events " in out
    assert not any(value in out for value in VALUES)


def test_history_at_a_time(sqlite_known, tmp_path, capsys):
    status, out, _ = run(capsys, "history", "prod/db", "--data-dir", str(tmp_path / "data"),
                         "--at", "2026-03-17T03:35:00", "--no-verify")
    assert status == 0 and "Versions (2)" in out and "Integrity" not in out


def test_history_rich_on_request(sqlite_known, tmp_path, capsys):
    status, out, _ = run(capsys, "history", "prod/db", "--data-dir", str(tmp_path / "data"),
                         "--rich", "--no-verify")
    assert status == 0 and "\x1b[" in out


def test_history_html_writes_one_page(sqlite_known, tmp_path, capsys):
    target = tmp_path / "prod-db.html"
    status, out, _ = run(capsys, "history", "prod/db", "--data-dir", str(tmp_path / "data"),
                         "--html", str(target))
    assert status == 0 and out.strip() == f"wrote {target}"
    page = target.read_text(encoding="utf-8")
    assert len(of_class(swimlane_svg(page), "lane-version")) == 4
    assert not any(value in page for value in VALUES)


def test_history_of_an_unknown_secret_fails_with_the_aws_code(sqlite_known, tmp_path, capsys):
    status, out, err = run(capsys, "history", "no/such", "--data-dir", str(tmp_path / "data"))
    assert status == 1 and out == "" and err.startswith("ResourceNotFoundException")


def test_report_html_for_a_period(sqlite_known, tmp_path, capsys):
    target = tmp_path / "report.html"
    status, _, _ = run(capsys, "report", "--data-dir", str(tmp_path / "data"),
                       "--from", "2026-03-17T00:00:00Z", "--to", "2026-03-19T00:00:00Z",
                       "--sensitive-tag", "sensitivity", "--html", str(target))
    assert status == 0
    doc = Elements(target.read_text(encoding="utf-8"))
    assert len(doc.with_class("chart", "svg")) == 3
    assert "sensitivity" in "".join(doc.text) and "sensitivity=high" not in "".join(doc.text)
    assert len(doc.with_class("read", "tr")) == 2


def test_report_plain_and_bad_arguments(sqlite_known, tmp_path, capsys):
    status, out, _ = run(capsys, "report", "--data-dir", str(tmp_path / "data"), "--no-verify")
    assert status == 0 and out.startswith("Audit report\n") and "Denied calls (1)" in out
    status, _, err = run(capsys, "report", "--data-dir", str(tmp_path / "data"),
                         "--from", "2026-03-19T00:00:00", "--to", "2026-03-18T00:00:00")
    assert status == 2 and "--from is after --to" in err

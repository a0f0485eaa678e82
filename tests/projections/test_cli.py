"""The read-side commands: audit lookup/export/hash, inspect, rebuild and replay."""
from __future__ import annotations

import io
import json
import stat
import sys

import pytest

from tools.cli import main
from tests.projections.conftest import make_ledger


@pytest.fixture
def data_dir(tmp_path, clock, caller):
    ledger = make_ledger(tmp_path / "data", clock)
    ledger.call("CreateSecret", {"Name": "prod/db", "SecretString": "Cli-value-0001"}, caller)
    clock.advance(minutes=5)
    ledger.call("PutSecretValue", {"SecretId": "prod/db", "SecretString": "Cli-value-0002"},
                caller)
    ledger.call("CreateSecret", {"Name": "bin/key", "SecretBinary": b"\x01Cli-binary\x02"},
                caller)
    return str(tmp_path / "data")


def run(capsys, *argv: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of one command."""
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    try:
        status = main(list(argv))
    finally:
        sys.stdin = sys.__stdin__
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_audit_lookup_by_resource_name_pages_newest_first(data_dir, capsys):
    status, out, _ = run(capsys, "audit", "lookup", "--data-dir", data_dir,
                      "--resource-name", "prod/db", "--max-results", "1")
    page = json.loads(out)
    assert status == 0 and [e["EventName"] for e in page["Events"]] == ["PutSecretValue"]
    status, out, _ = run(capsys, "audit", "lookup", "--data-dir", data_dir, "--resource-name",
                      "prod/db", "--max-results", "1", "--next-token", page["NextToken"],
                      "--records")
    assert [r["eventName"] for r in json.loads(out)["Records"]] == ["CreateSecret"]


def test_audit_lookup_reports_bad_parameters(data_dir, capsys):
    status, _, err = run(capsys, "audit", "lookup", "--data-dir", data_dir, "--max-results",
                         "99")
    assert status == 1 and "InvalidMaxResultsException" in err


def test_audit_export_both_formats(data_dir, tmp_path, capsys):
    out_file = tmp_path / "trail.json"
    assert run(capsys, "audit", "export", "--data-dir", data_dir, "--format", "cloudtrail",
               "--output", str(out_file))[0] == 0
    records = json.loads(out_file.read_text())["Records"]
    assert [r["eventName"] for r in records] == ["CreateSecret", "PutSecretValue",
                                                 "CreateSecret"]
    status, out, _ = run(capsys, "audit", "export", "--data-dir", data_dir, "--format", "jsonl")
    assert [json.loads(line) for line in out.splitlines()] == records


def test_audit_export_over_a_world_readable_file_leaves_a_private_one(data_dir, tmp_path,
                                                                     capsys):
    """A file another user could read (or made readable in advance) does not keep its mode."""
    out_file = tmp_path / "trail.json"
    out_file.write_text("old")
    out_file.chmod(0o644)
    assert run(capsys, "audit", "export", "--data-dir", data_dir, "--output", str(out_file))[0] == 0
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600
    assert json.loads(out_file.read_text())["Records"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_audit_export_to_a_symbolic_link_is_refused_not_followed(data_dir, tmp_path, capsys):
    """A link planted at the output name would send the trail wherever it points."""
    target = tmp_path / "elsewhere"
    target.write_text("untouched")
    (tmp_path / "trail.json").symlink_to(target)
    status, _, err = run(capsys, "audit", "export", "--data-dir", data_dir,
                         "--output", str(tmp_path / "trail.json"))
    assert status == 2
    link = tmp_path / "trail.json"
    assert err.strip() == f"audit export: {link} is a symbolic link; not followed"
    assert target.read_text() == "untouched"


def test_audit_hash_finds_the_calls_that_stored_a_candidate(data_dir, capsys):
    status, out, _ = run(capsys, "audit", "hash", "--data-dir", data_dir, "--value-stdin",
                      stdin=b"Cli-value-0002\n")
    found = json.loads(out)
    assert status == 0 and [f.split(":")[0] for f in found["fingerprints"]] == [
        "hmac-sha256-secret"]
    assert [e["EventName"] for e in found["records"]] == ["PutSecretValue"]
    assert len(found["versions"]) == 1
    assert "Cli-value-0002" not in out
    _, out, _ = run(capsys, "audit", "hash", "--data-dir", data_dir, "--value-stdin",
                 "--keep-newline", stdin=b"Cli-value-0002\n")
    assert json.loads(out)["records"] == []


def test_audit_hash_of_a_binary_file(data_dir, tmp_path, capsys):
    candidate = tmp_path / "candidate.bin"
    candidate.write_bytes(b"\x01Cli-binary\x02")
    _, out, _ = run(capsys, "audit", "hash", "--data-dir", data_dir, "--binary-file",
                 str(candidate))
    assert [e["EventName"] for e in json.loads(out)["records"]] == ["CreateSecret"]


def test_inspect_prints_no_value_unless_asked(data_dir, capsys):
    status, out, _ = run(capsys, "inspect", "--data-dir", data_dir, "prod/db",
                      "--at", "2026-03-17T03:13:00Z")
    state = json.loads(out)
    assert status == 0 and len(state["versions"]) == 1 and "Cli-value" not in out
    status, out, _ = run(capsys, "inspect", "--data-dir", data_dir, "prod/db",
                      "--at", "2026-03-17T03:13:00", "--show-value")
    assert json.loads(out)["value"]["SecretString"] == "Cli-value-0001"


def test_inspect_the_whole_ledger_at_a_position(data_dir, capsys):
    status, out, _ = run(capsys, "inspect", "--data-dir", data_dir, "--position", "1000")
    assert status == 0
    assert [s["name"] for s in json.loads(out)["secrets"]] == ["prod/db", "bin/key"]
    assert run(capsys, "inspect", "--data-dir", data_dir, "--show-value")[0] == 2


def test_inspect_an_unknown_secret_fails(data_dir, capsys):
    assert run(capsys, "inspect", "--data-dir", data_dir, "nope", "--position", "3")[0] == 1


def test_rebuild_and_replay(data_dir, capsys):
    status, out, _ = run(capsys, "rebuild", "--data-dir", data_dir)
    assert status == 0 and json.loads(out)["eventsApplied"] > 0
    status, out, _ = run(capsys, "replay", "--data-dir", data_dir)
    report = json.loads(out)
    assert status == 0 and report["equal"] is True and len(report["views"]) == 2

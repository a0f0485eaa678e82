"""No secret value in anything the ledger writes or prints, through any interface.

One data directory takes a mixed workload through the library (`ledger.call`), the HTTP server
(boto3 and raw signed requests) and CLI subprocesses, including failing calls that carry values
(too long, SecretString with SecretBinary, a reused token with a different value, invalid
base64, a lone surrogate, an oversized body, a broken signature). Then every byte is scanned for
every value as plaintext (or any 12-character piece), hex, and base64/URL-safe base64 at each
alignment: the data directory (db, -wal, -shm, key files; also snapshots taken while writers
had it open), the server's stdout/stderr at debug level, every CLI output and export, the
messages, reprs and tracebacks of every error, and this test's captured output and log records.

Values legitimately returned by GetSecretValue are the API's answer and are not scanned.
"""
from __future__ import annotations

import base64
import json
import random
import string
import subprocess
import sys
import traceback
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.context import Caller
from ledger.errors import LedgerError
from tests.reliability.crash_checks import PROJECT
from tests.reliability.leak_scan import Hit, LeakScanner
from tests.server.conftest import ROOT_ENV, ServerProcess, make_client, signed_request

MAX_VALUE = 65536
CALLER = Caller.system()  # the embedding program's own identity: policies allow it all


class Values:
    """Distinctive random values, each watched by the scanner from the moment it exists."""

    def __init__(self, scanner: LeakScanner) -> None:
        self.scanner, self.rng = scanner, random.SystemRandom()

    def text(self) -> str:
        value = "".join(self.rng.choice(string.ascii_letters) for _ in range(24))
        self.scanner.watch(value.encode(), is_text=True)
        return value

    def binary(self) -> bytes:
        value = bytes(self.rng.getrandbits(8) for _ in range(24))
        self.scanner.watch(value, is_text=False)
        return value


class Evidence:
    """Everything to scan that is not a file: error texts, and data-dir snapshots."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []
        self.snapshots: list[tuple[str, bytes]] = []

    def error(self, where: str, error: BaseException) -> None:
        self.texts += [(f"{where}: str", str(error)), (f"{where}: repr", repr(error)),
                       (f"{where}: traceback", "".join(traceback.format_exception(error)))]
        if isinstance(error, LedgerError):
            self.texts.append((f"{where}: message", error.message))
        if isinstance(error, ClientError):
            self.texts.append((f"{where}: response", repr(error.response)))

    def snapshot(self, label: str, data_dir: Path) -> None:
        """The data directory as it is now, -wal, -shm and key files included, while writers
        have it."""
        for path in sorted(data_dir.rglob("*")):
            if path.is_file():
                name = path.relative_to(data_dir)
                self.snapshots.append((f"{label}:{name}", path.read_bytes()))


def _expect_error(evidence: Evidence, where: str, code: str, action: Any) -> None:
    try:
        action()
    except (LedgerError, ClientError) as error:
        found = error.code if isinstance(error, LedgerError) else error.response["Error"]["Code"]
        assert found == code, f"{where}: {found}"
        evidence.error(where, error)
    else:
        raise AssertionError(f"{where} did not fail")


# ---- the three interfaces -------------------------------------------------------------------
def library_workload(data_dir: Path, values: Values, evidence: Evidence) -> None:
    ledger = SecretsLedger(LedgerConfig(data_dir=data_dir))
    call = ledger.call
    token = uuid.uuid4().hex
    call("CreateSecret", {"Name": "lib/a", "SecretString": values.text(),
                          "ClientRequestToken": token}, CALLER)
    call("PutSecretValue", {"SecretId": "lib/a", "SecretString": values.text(),
                            "VersionStages": ["STAGED"]}, CALLER)
    call("UpdateSecret", {"SecretId": "lib/a", "SecretString": values.text(),
                          "Description": "rotated by hand"}, CALLER)
    call("CreateSecret", {"Name": "lib/bin", "SecretBinary": values.binary()}, CALLER)
    call("PutSecretValue", {"SecretId": "lib/bin", "SecretBinary": values.binary()}, CALLER)
    call("GetSecretValue", {"SecretId": "lib/a", "VersionStage": "AWSPREVIOUS"}, CALLER)
    call("BatchGetSecretValue", {"SecretIdList": ["lib/a", "lib/bin"]}, CALLER)
    call("DescribeSecret", {"SecretId": "lib/a"}, CALLER)
    call("ListSecretVersionIds", {"SecretId": "lib/a", "IncludeDeprecated": True}, CALLER)
    call("ListSecrets", {}, CALLER)
    evidence.snapshot("library, open", data_dir)

    failing = {
        "too long": ("ValidationException", "CreateSecret",
                     {"Name": "lib/long", "SecretString": values.text() + "x" * MAX_VALUE}),
        "both values": ("InvalidParameterException", "PutSecretValue",
                        {"SecretId": "lib/a", "SecretString": values.text(),
                         "SecretBinary": values.binary()}),
        "reused token": ("ResourceExistsException", "CreateSecret",
                         {"Name": "lib/a", "SecretString": values.text(),
                          "ClientRequestToken": token}),
        "invalid base64": ("InvalidParameterException", "CreateSecret",
                           {"Name": "lib/b64", "SecretBinary": values.text() + "!"}),
        "lone surrogate": ("ValidationException", "UpdateSecret",
                           {"SecretId": "lib/a", "SecretString": values.text() + "\ud800"}),
        "wrong type": ("ValidationException", "PutSecretValue",
                       {"SecretId": "lib/a", "SecretString": [values.text()]}),
        "missing secret": ("ResourceNotFoundException", "UpdateSecret",
                           {"SecretId": "lib/none", "SecretString": values.text()}),
    }
    for what, (code, operation, request) in failing.items():
        _expect_error(evidence, f"library {what}", code,
                      lambda: call(operation, request, CALLER))
    ledger.close()


def http_workload(server: ServerProcess, values: Values, evidence: Evidence) -> None:
    client = make_client(server.url)
    token = uuid.uuid4().hex
    client.create_secret(Name="http/a", SecretString=values.text(), ClientRequestToken=token)
    client.put_secret_value(SecretId="http/a", SecretString=values.text())
    client.update_secret(SecretId="http/a", SecretString=values.text())
    client.create_secret(Name="http/bin", SecretBinary=values.binary())
    client.put_secret_value(SecretId="http/bin", SecretBinary=values.binary(),
                            VersionStages=["STAGED"])
    client.get_secret_value(SecretId="http/a")
    client.batch_get_secret_value(SecretIdList=["http/a", "http/bin", "lib/a"])
    client.describe_secret(SecretId="http/a")
    evidence.snapshot("server, serving", server.data_dir)

    _expect_error(evidence, "boto3 too long", "ValidationException", lambda: client.create_secret(
        Name="http/long", SecretString=values.text() + "x" * MAX_VALUE))
    _expect_error(evidence, "boto3 both values", "InvalidParameterException",
                  lambda: client.put_secret_value(SecretId="http/a", SecretString=values.text(),
                                                  SecretBinary=values.binary()))
    _expect_error(evidence, "boto3 reused token", "ResourceExistsException",
                  lambda: client.create_secret(Name="http/a", SecretString=values.text(),
                                               ClientRequestToken=token))
    raw = {
        "invalid base64": ("CreateSecret", 400, json.dumps(
            {"Name": "http/b64", "SecretBinary": values.text() + "!",
             "ClientRequestToken": uuid.uuid4().hex})),
        "lone surrogate": ("PutSecretValue", 400, json.dumps(
            {"SecretId": "http/a", "SecretString": values.text() + "\ud800",
             "ClientRequestToken": uuid.uuid4().hex})),
        "oversized body": ("CreateSecret", 413, json.dumps(
            {"Name": "http/huge", "SecretString": values.text() * 50_000})),
        "truncated JSON": ("CreateSecret", 400, json.dumps(
            {"Name": "http/cut", "SecretString": values.text()})[:-3]),
    }
    for what, (operation, status, body) in raw.items():
        response = signed_request(server.url, f"secretsmanager.{operation}", body)
        assert response.status_code == status, (what, response.text)
        evidence.texts.append((f"raw HTTP {what}", response.text))
    broken = signed_request(server.url, "secretsmanager.CreateSecret",
                            json.dumps({"Name": "http/x", "SecretString": values.text()}),
                            secret="wrong-secret-access-key-0000000000000000")
    assert broken.status_code in (400, 403)
    evidence.texts.append(("raw HTTP broken signature", broken.text))


class Cli:
    """`secrets-ledger` subprocesses; each output is kept in a file under `directory`."""

    def __init__(self, data_dir: Path, directory: Path, env: dict[str, str]) -> None:
        self.data_dir, self.directory, self.env = data_dir, directory, env
        directory.mkdir()
        self.runs = 0

    def __call__(self, *args: str, stdin: str | None = None, status: int = 0) -> str:
        command = [sys.executable, "-m", "tools.cli", *args[:1], *self._with_dir(args)]
        result = subprocess.run(command, cwd=PROJECT, env=self.env, input=stdin,
                                capture_output=True, text=True, timeout=120)
        self.runs += 1
        name = "-".join(a.strip("-").replace("/", "_") for a in args[:2])
        (self.directory / f"{self.runs:02d}-{name}.out").write_text(result.stdout)
        (self.directory / f"{self.runs:02d}-{name}.err").write_text(result.stderr)
        assert result.returncode == status, (args, result.stdout[-500:], result.stderr[-2000:])
        return result.stdout + result.stderr

    def _with_dir(self, args: tuple[str, ...]) -> list[str]:
        # options go after the (sub)command words: `audit export --data-dir D ...`
        words = 2 if args[0] in ("audit", "keys", "principals") else 1
        return [*args[1:words], "--data-dir", str(self.data_dir), *args[words:]]


def cli_workload(cli: Cli, values: Values, outputs: Path) -> None:
    token = uuid.uuid4().hex
    request = {"Name": "cli/a", "SecretString": values.text(), "ClientRequestToken": token}
    cli("call", "CreateSecret", "-", stdin=json.dumps(request))
    cli("call", "PutSecretValue", "-",
        stdin=json.dumps({"SecretId": "cli/a", "SecretString": values.text()}))
    binary = base64.b64encode(values.binary()).decode()
    cli("call", "UpdateSecret", "-", stdin=json.dumps({"SecretId": "cli/a",
                                                       "SecretBinary": binary}))
    cli("call", "DescribeSecret", json.dumps({"SecretId": "cli/a"}))
    cli("call", "ListSecretVersionIds", json.dumps({"SecretId": "cli/a"}))
    failing = [
        {"Name": "cli/long", "SecretString": values.text() + "y" * MAX_VALUE},
        {"Name": "cli/both", "SecretString": values.text(),
         "SecretBinary": base64.b64encode(values.binary()).decode()},
        {"Name": "cli/a", "SecretString": values.text(), "ClientRequestToken": token},
        {"Name": "cli/b64", "SecretBinary": values.text() + "!"},
    ]
    for request in failing:
        cli("call", "CreateSecret", "-", stdin=json.dumps(request), status=1)
    cli("audit", "export", "--format", "cloudtrail", "--output", str(outputs / "trail.json"))
    cli("audit", "export", "--format", "jsonl")
    cli("audit", "lookup", "--records")
    cli("audit", "lookup", "--event-name", "PutSecretValue")
    cli("audit", "hash", "--value-stdin", stdin=values.text())
    cli("inspect")
    cli("inspect", "lib/a")
    cli("history", "cli/a", "--plain")
    cli("history", "lib/a", "--html", str(outputs / "history.html"))
    cli("report", "--plain")
    cli("report", "--html", str(outputs / "report.html"))
    cli("replay")
    cli("rebuild")
    cli("digest")
    cli("prove", "1")
    cli("purge")
    cli("keys", "list")
    cli("principals", "list")
    cli("verify")


# ---- the scan ---------------------------------------------------------------------------------
@pytest.fixture
def scanner() -> LeakScanner:
    return LeakScanner()


def _describe(hits: list[Hit]) -> str:
    return "\n".join(sorted({f"{h.where}: value {h.value} as {h.form}" for h in hits}))


def test_no_secret_value_in_any_file_log_output_or_error(tmp_path, scanner, capfd, caplog):
    values, evidence = Values(scanner), Evidence()
    data_dir = tmp_path / "data"
    library_workload(data_dir, values, evidence)
    server = ServerProcess(data_dir, ROOT_ENV, args=["--log-level", "debug"]).start()
    try:
        http_workload(server, values, evidence)
    finally:
        assert server.stop() == 0
    evidence.snapshot("after the server", data_dir)
    outputs = tmp_path / "exports"
    outputs.mkdir()
    cli = Cli(data_dir, tmp_path / "cli", server.env)
    cli_workload(cli, values, outputs)

    hits = scanner.scan_tree(tmp_path)  # data dir, server logs, CLI outputs, exports
    for where, text in evidence.texts:
        hits += scanner.scan(where, text)
    for where, data in evidence.snapshots:
        hits += scanner.scan(where, data)
    captured = capfd.readouterr()
    hits += scanner.scan("captured stdout", captured.out)
    hits += scanner.scan("captured stderr", captured.err)
    hits += scanner.scan("captured log records", caplog.text)
    assert not hits, f"secret values found:\n{_describe(hits)}"

    # A live control: the one output that must hold a value (GetSecretValue's) is found.
    answer = subprocess.run([sys.executable, "-m", "tools.cli", "call", "GetSecretValue",
                             json.dumps({"SecretId": "lib/bin"}), "--data-dir", str(data_dir)],
                            cwd=PROJECT, env=server.env, capture_output=True, timeout=120)
    assert scanner.scan("GetSecretValue output", answer.stdout), "the scanner missed a value"

    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    scanned = sum(p.stat().st_size for p in files) + sum(len(d) for _, d in evidence.snapshots)
    assert server.stderr() and (data_dir / "ledger.db").exists() and len(evidence.texts) > 40
    print(f"\nno leaks: {len(scanner.values)} values x their forms, {len(files)} files, "
          f"{len(evidence.snapshots)} snapshot files, {len(evidence.texts)} error texts, "
          f"{cli.runs} CLI runs, {scanned} bytes scanned: 0 hits")


def test_control_the_scanner_finds_a_planted_value_in_every_form_and_place(tmp_path, scanner,
                                                                          capfd):
    """Without this, zero hits could mean a blind scanner."""
    values = Values(scanner)
    text, binary = values.text().encode(), values.binary()
    plants = {
        "plain.txt": b"before " + text + b" after",
        "piece.txt": b"xx" + text[5:17] + b"xx",
        "hex.txt": b"key=" + binary.hex().encode(),
        "HEX.txt": binary.hex().upper().encode(),
        "b64-offset0.txt": base64.b64encode(text + b"tail"),
        "b64-offset1.txt": base64.b64encode(b"a" + binary + b"z"),
        "b64-offset2.txt": base64.b64encode(b'{"' + text + b'"}'),
        "urlsafe.txt": base64.urlsafe_b64encode(b"\xff" + binary),
        "raw.bin": bytes(range(256)) + binary + bytes(range(256)),
        "repr.txt": f"value={binary!r}".encode(),
    }
    for name, data in plants.items():
        (tmp_path / name).write_bytes(data)
    print("a log line with", text.decode(), "inside")
    hits = scanner.scan_tree(tmp_path)
    hits += scanner.scan("captured stdout", capfd.readouterr().out)
    found = {Path(h.where).name for h in hits}
    assert found == {*plants, "captured stdout"}, found
    forms = {h.form.split(" (")[0] for h in hits}
    assert {"plaintext", "hex", "HEX", "base64", "urlsafe base64", "python repr"} <= forms
    assert any(h.form.startswith("piece") for h in hits if h.where.endswith("piece.txt"))
    assert not scanner.scan("unrelated", b"x" * 10_000 + bytes(range(256)))

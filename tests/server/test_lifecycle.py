"""Starting and stopping the server: root credentials, SIGTERM under load, the access log."""
from __future__ import annotations

import base64
import stat
import threading
import time
import uuid

import botocore.exceptions
import pytest

from ledger.context import Caller
from tests.server.conftest import ROOT_ENV, AuditLog, ServerProcess, make_client


def root_key_from(stdout: str) -> tuple[str, str]:
    lines = dict(line.strip().split("=", 1) for line in stdout.splitlines() if "=" in line)
    return lines["AWS_ACCESS_KEY_ID"], lines["AWS_SECRET_ACCESS_KEY"]


def test_first_start_creates_prints_and_stores_a_root_key_once(tmp_path):
    data_dir = tmp_path / "data"
    server = ServerProcess(data_dir).start()
    try:
        key_id, secret = root_key_from(server.stdout())
        credentials = data_dir / "root-credentials"
        assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
        assert key_id in credentials.read_text() and secret in credentials.read_text()
        make_client(server.url, key_id=key_id, secret=secret).list_secrets()
    finally:
        assert server.stop() == 0
    again = ServerProcess(data_dir).start()
    try:
        assert again.stdout() == ""
        make_client(again.url, key_id=key_id, secret=secret).list_secrets()
    finally:
        again.stop()
    stored = b"".join(p.read_bytes() for p in data_dir.glob("ledger.db*"))
    assert secret.encode() not in stored


def test_the_account_id_setting_reaches_arns_and_the_root_principal(tmp_path):
    server = ServerProcess(tmp_path / "data", ROOT_ENV, ["--account-id", "210987654321"]).start()
    try:
        created = make_client(server.url).create_secret(Name="acct/s")
        request_id = created["ResponseMetadata"]["RequestId"]
    finally:
        server.stop()
    assert created["ARN"].startswith("arn:aws:secretsmanager:us-west-2:210987654321:secret:")
    audit = AuditLog(server.data_dir)
    try:
        assert audit.call_for(request_id).context["caller"]["arn"] == (
            "arn:aws:iam::210987654321:root")
    finally:
        audit.close()


def test_a_conflicting_configured_root_key_refuses_to_start(tmp_path):
    data_dir = tmp_path / "data"
    ServerProcess(data_dir, ROOT_ENV).start().stop()
    changed = {**ROOT_ENV, "LEDGER_ROOT_SECRET_ACCESS_KEY": "another-secret"}
    with pytest.raises(RuntimeError, match="exited with 2"):
        ServerProcess(data_dir, changed).start()


def test_half_a_configured_key_refuses_to_start(tmp_path):
    env = {"LEDGER_ROOT_ACCESS_KEY_ID": ROOT_ENV["LEDGER_ROOT_ACCESS_KEY_ID"]}
    with pytest.raises(RuntimeError, match="set both"):
        ServerProcess(tmp_path / "data", env).start()


CONNECTION_ERRORS = (botocore.exceptions.EndpointConnectionError,
                     botocore.exceptions.ConnectionClosedError,
                     botocore.exceptions.ReadTimeoutError)


def test_sigterm_under_load_finishes_in_flight_requests(tmp_path):
    server = ServerProcess(tmp_path / "data", ROOT_ENV).start()
    names = [f"load/{i}" for i in range(6)]
    setup = make_client(server.url)
    for name in names:
        setup.create_secret(Name=name, SecretString="0")
    successes: list[tuple[str, str | None]] = []  # (request id, version written)
    failures: list[BaseException] = []
    started = threading.Barrier(len(names) + 1)

    def work(name: str) -> None:
        client = make_client(server.url)
        started.wait()
        for i in range(10_000):
            try:
                if i % 2 and i < 150:
                    response = client.put_secret_value(SecretId=name, SecretString=str(i))
                    successes.append((response["ResponseMetadata"]["RequestId"],
                                      response["VersionId"]))
                else:
                    response = client.get_secret_value(SecretId=name)
                    successes.append((response["ResponseMetadata"]["RequestId"], None))
            except CONNECTION_ERRORS:
                return
            except BaseException as error:  # anything else breaks the guarantee
                failures.append(error)
                return

    threads = [threading.Thread(target=work, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    started.wait()
    deadline = time.monotonic() + 60
    while len(successes) <= 20 and not failures and time.monotonic() < deadline:
        time.sleep(0.01)  # stop under load, however slow the machine
    assert server.stop() == 0
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert len(successes) > 20
    audit = AuditLog(server.data_dir)
    try:
        recorded = {call.context["request_id"] for call in audit.calls()}
        assert {request_id for request_id, _ in successes} <= recorded
        versions = set()
        for name in names:
            listed = audit.ledger.call("ListSecretVersionIds",
                                       {"SecretId": name, "IncludeDeprecated": True},
                                       Caller.system())
            versions |= {v["VersionId"] for v in listed["Versions"]}
        assert {version for _, version in successes if version} <= versions
    finally:
        audit.close()


def test_access_log_lines_carry_the_request_and_never_a_value(tmp_path):
    server = ServerProcess(tmp_path / "data", ROOT_ENV).start()
    string_value, binary_value = f"pw-{uuid.uuid4().hex}", uuid.uuid4().bytes * 2
    try:
        client = make_client(server.url)
        created = client.create_secret(Name="log/s", SecretString=string_value)
        client.put_secret_value(SecretId="log/s", SecretBinary=binary_value)
        client.get_secret_value(SecretId="log/s")
        client.get_secret_value(SecretId="log/s", VersionId=created["VersionId"])
        with pytest.raises(botocore.exceptions.ClientError):
            make_client(server.url, secret=string_value).list_secrets()
    finally:
        server.stop()
    text = server.stderr() + server.stdout()
    for secret in (string_value, base64.b64encode(binary_value).decode(), binary_value.hex()):
        assert secret not in text
    lines = server.access_log()
    assert [line["operation"] for line in lines] == [
        "CreateSecret", "PutSecretValue", "GetSecretValue", "GetSecretValue", "ListSecrets"]
    assert lines[0]["request_id"] == created["ResponseMetadata"]["RequestId"]
    assert lines[0]["principal"] == "arn:aws:iam::123456789012:root"
    assert [line["status"] for line in lines] == [200, 200, 200, 200, 400]
    assert lines[-1]["error_code"] == "InvalidSignatureException"
    assert all(isinstance(line["duration_ms"], float) for line in lines)


def test_log_level_warning_silences_the_access_log(tmp_path):
    server = ServerProcess(tmp_path / "data", ROOT_ENV, ["--log-level", "warning"]).start()
    try:
        make_client(server.url).list_secrets()
    finally:
        server.stop()
    assert server.access_log() == []

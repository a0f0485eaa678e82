"""Refusals before authentication cannot grow the log one record each, and a client that keeps
failing is throttled without slowing anyone who signs correctly, all from the same 127.0.0.1."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import botocore.exceptions
import pytest
import requests

from ledger.calls import ApiCallRecorded
from tests.projections.cloudtrail_schema import check_record
from tests.reliability.rawhttp import send
from tests.server.conftest import (
    PROJECT, ROOT_ENV, ROOT_KEY_ID, AuditLog, ServerProcess, make_client, signed_request,
)

TARGET = "secretsmanager.ListSecrets"
UNKNOWN_KEY = "AKIANOBODY0000000001"


def unsigned(session: requests.Session, server: ServerProcess) -> requests.Response:
    return session.post(server.url + "/", data="{}", timeout=30,
                        headers={"X-Amz-Target": TARGET,
                                 "Content-Type": "application/x-amz-json-1.1"})


def lookup_records(data_dir, *attribute: str) -> list[dict[str, Any]]:
    """`audit lookup ... --records`, as an auditor runs it."""
    result = subprocess.run([sys.executable, "-m", "tools.cli", "audit", "lookup", *attribute,
                             "--records", "--data-dir", str(data_dir)], cwd=PROJECT,
                            capture_output=True, text=True, timeout=120, check=True)
    return json.loads(result.stdout)["Records"]


def log_events_after(data_dir, position: int) -> list[Any]:
    audit = AuditLog(data_dir)
    try:
        return audit.events_after(position)
    finally:
        audit.close()


def log_position(data_dir) -> int:
    audit = AuditLog(data_dir)
    try:
        return audit.position()
    finally:
        audit.close()


def test_a_thousand_unsigned_requests_append_one_counted_record(tmp_path):
    server = ServerProcess(tmp_path / "data", ROOT_ENV, ["--refusal-interval", "3600"]).start()
    try:
        make_client(server.url).list_secrets()  # the log exists, the server is warm
        before = log_position(server.data_dir)
        codes = set()
        with requests.Session() as session:
            for _ in range(1000):
                response = unsigned(session, server)
                assert response.status_code == 400
                codes.add(response.json()["__type"])
        assert codes <= {"MissingAuthenticationTokenException", "ThrottlingException"}
        assert log_events_after(server.data_dir, before) == []  # counted, not yet written
    finally:
        assert server.stop() == 0  # shutdown stores the open counts
    new = log_events_after(server.data_dir, before)
    assert len(new) <= 3, [type(event).__name__ for event in new]
    counted = [e for e in new if isinstance(e, ApiCallRecorded) and e.error_code]
    assert len(counted) == 1
    records = [r for r in lookup_records(server.data_dir, "--event-name", "ListSecrets")
               if r.get("errorCode") == "MissingAuthenticationTokenException"]
    assert len(records) == 1
    record = records[0]
    check_record(record)
    assert record["additionalEventData"]["count"] == 1000
    assert 0 <= record["additionalEventData"]["throttledCount"] <= 1000 - 50
    assert record["additionalEventData"]["intervalSeconds"] == 3600
    assert record["additionalEventData"]["firstEventTime"] <= (
        record["additionalEventData"]["lastEventTime"])
    assert record["eventTime"] == record["additionalEventData"]["firstEventTime"]
    assert record["sourceIPAddress"] == "127.0.0.1"
    assert record["userIdentity"] == {"type": "Unknown", "accountId": "123456789012"}
    assert record["errorMessage"] == "Missing Authentication Token"


def test_counted_refusals_are_recorded_when_their_interval_passes(tmp_path):
    server = ServerProcess(tmp_path / "data", ROOT_ENV, ["--refusal-interval", "1"]).start()
    try:
        make_client(server.url).list_secrets()
        request_ids = []
        for _ in range(3):
            response = signed_request(server.url, TARGET, "{}", key_id=UNKNOWN_KEY)
            assert response.json()["__type"] == "UnrecognizedClientException"
            request_ids.append(response.headers["x-amzn-RequestId"])
        oversized = send(server.port, "POST", "/", [
            ("Host", f"127.0.0.1:{server.port}"), ("X-Amz-Target", TARGET),
            ("Content-Length", str(8 << 20))], b"")
        assert oversized.status == 413
        deadline = time.monotonic() + 60
        while True:  # written by the server while it runs, within a second of the interval
            records = lookup_records(server.data_dir, "--access-key-id", UNKNOWN_KEY)
            if records or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert len(records) == 1, records
        assert records[0]["additionalEventData"]["count"] == 3
        assert records[0]["userIdentity"]["accessKeyId"] == UNKNOWN_KEY
        assert records[0]["errorCode"] == "UnrecognizedClientException"
        assert records[0]["requestID"] == request_ids[0]  # the first refusal stands for all
    finally:
        assert server.stop() == 0
    too_large = [r for r in lookup_records(server.data_dir, "--event-name", "ListSecrets")
                 if r.get("errorCode") == "RequestEntityTooLargeException"]
    assert [r["additionalEventData"]["count"] for r in too_large] == [1]


def test_a_flooder_is_throttled_while_a_signing_client_on_the_same_address_is_served(tmp_path):
    """Flooders without a signature, with the good client's own key id and a wrong secret, and
    with a key id of their own: each is throttled after its burst of 5 (no refill here); the
    client that signs correctly with that same key id never is, nor is another key id."""
    server = ServerProcess(tmp_path / "data", ROOT_ENV,
                           ["--refusal-burst", "5", "--refusal-rate", "0"]).start()
    try:
        good = make_client(server.url)
        forger = make_client(server.url, secret="not-the-root-secret", retries=0)
        answers: dict[str, list[str]] = {"anonymous": [], "forger": []}
        with requests.Session() as session:
            for _ in range(20):
                answers["anonymous"].append(unsigned(session, server).json()["__type"])
                with pytest.raises(botocore.exceptions.ClientError) as caught:
                    forger.list_secrets()
                answers["forger"].append(caught.value.response["Error"]["Code"])
                assert "SecretList" in good.list_secrets()  # never throttled by the others
        assert answers["anonymous"] == (["MissingAuthenticationTokenException"] * 5
                                        + ["ThrottlingException"] * 15)
        assert answers["forger"] == (["InvalidSignatureException"] * 5
                                     + ["ThrottlingException"] * 15)
        throttled = unsigned(requests.Session(), server)
        assert throttled.status_code == 400
        assert throttled.json() == {"__type": "ThrottlingException", "Message": "Rate exceeded"}
        stranger = signed_request(server.url, TARGET, "{}", key_id=UNKNOWN_KEY)
        assert stranger.json()["__type"] == "UnrecognizedClientException"
    finally:
        assert server.stop() == 0
    forged = lookup_records(server.data_dir, "--access-key-id", ROOT_KEY_ID)
    counted = [r for r in forged if r.get("errorCode") == "InvalidSignatureException"]
    assert [(r["additionalEventData"]["count"], r["additionalEventData"]["throttledCount"])
            for r in counted] == [(20, 15)]
    assert sum(1 for r in forged if "errorCode" not in r) == 20  # the good client's calls


def test_rotating_the_claimed_key_id_buys_neither_records_nor_an_escape_from_throttling(
        tmp_path):
    """200 requests, each naming a new unknown key id, from one address: past the first few
    key ids they share one group and one bucket, so they are throttled and counted in a
    handful of records; the client signing correctly from the same address is always served."""
    server = ServerProcess(tmp_path / "data", ROOT_ENV, [
        "--refusal-interval", "3600", "--refusal-burst", "5", "--refusal-rate", "0"]).start()
    try:
        good = make_client(server.url)
        good.list_secrets()
        before = log_position(server.data_dir)
        codes = []
        for number in range(200):
            key_id = f"AKIAROTATING{number:08d}"
            codes.append(signed_request(server.url, TARGET, "{}", key_id=key_id).json()["__type"])
            if number % 20 == 0:
                assert "SecretList" in good.list_secrets()
        assert codes.count("ThrottlingException") >= 150
        assert set(codes) == {"UnrecognizedClientException", "ThrottlingException"}
    finally:
        assert server.stop() == 0
    refused = [e for e in log_events_after(server.data_dir, before)
               if isinstance(e, ApiCallRecorded) and e.error_code]
    assert len(refused) <= 10


def test_refusals_after_authentication_stay_one_record_each(tmp_path):
    server = ServerProcess(tmp_path / "data", ROOT_ENV, ["--refusal-interval", "3600"]).start()
    audit = AuditLog(server.data_dir)
    try:
        client = make_client(server.url)
        for _ in range(3):
            with pytest.raises(botocore.exceptions.ClientError) as caught:
                client.describe_secret(SecretId="refusals/absent")
            request_id = caught.value.response["ResponseMetadata"]["RequestId"]
            record = audit.call_for(request_id)  # written before the answer, as always
            assert record.error_code == "ResourceNotFoundException"
            assert "refusals" not in record.context
    finally:
        audit.close()
        server.stop()


@pytest.mark.parametrize("option", [("--refusal-interval", "1e20"), ("--refusal-interval", "nan"),
                                    ("--refusal-burst", "0"), ("--refusal-rate", "-1")])
def test_an_impossible_refusal_setting_is_a_usage_error_not_a_traceback(tmp_path, option):
    result = subprocess.run([sys.executable, "-m", "tools.cli", "serve", *option,
                             "--data-dir", str(tmp_path / "data")], cwd=PROJECT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"argument {option[0]}: not a number from" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()

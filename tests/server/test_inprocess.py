"""The app in this process (uvicorn on a thread), for what a subprocess cannot show:
faults inside the ledger, the upkeep thread, and what shutdown does to the ledger."""
from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator

import botocore.exceptions
import pytest
import uvicorn

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.context import Caller
from ledger.errors import ResourceNotFoundException
from ledger.integrity.digest import Digest
from ledger.principals import Principals
from tests.conftest import Clock
from tests.server.conftest import ROOT_KEY_ID, ROOT_SECRET, AuditLog, free_port, make_client
from tools.server import UpkeepThread, create_app


class ThreadServer:
    def __init__(self, ledger: SecretsLedger, **options) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(ledger, **options)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def ledger_with_root(data_dir=None, clock=None) -> SecretsLedger:
    ledger = SecretsLedger(LedgerConfig(data_dir=data_dir), clock=clock, rng=random.Random(3))
    principals = Principals(ledger)
    principals.ensure_key(principals.ensure_root(), ROOT_KEY_ID, ROOT_SECRET)
    return ledger


@pytest.fixture
def sqlite_root_ledger(tmp_path) -> Iterator[SecretsLedger]:
    yield ledger_with_root(tmp_path / "data")


def test_a_fault_in_the_ledger_is_a_500_internal_service_error(sqlite_root_ledger, tmp_path,
                                                               caplog):
    ledger = sqlite_root_ledger

    def broken(*args, **kwargs):
        raise RuntimeError("failure quoting hunter2")
    ledger.call = broken
    with ThreadServer(ledger, purge_interval=None, close_ledger=False) as server:
        client = make_client(server.url)
        with caplog.at_level(logging.INFO, logger="secrets_ledger"):
            with pytest.raises(botocore.exceptions.ClientError) as caught:
                client.update_secret(SecretId="x", SecretString="hunter2")
    response = caught.value.response
    assert response["Error"]["Code"] == "InternalServiceError"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert "hunter2" not in response["Error"]["Message"]
    assert all("hunter2" not in str(record.msg) for record in caplog.records)
    assert any(record.msg.get("exception") == "RuntimeError" for record in caplog.records)
    audit = AuditLog(tmp_path / "data")
    try:
        record = audit.call_for(response["ResponseMetadata"]["RequestId"])
        assert record.error_code == "InternalServiceError"
        assert record.context["caller"]["access_key_id"] == ROOT_KEY_ID
    finally:
        audit.close()


def test_shutdown_stops_the_upkeep_thread_and_closes_the_ledger(sqlite_root_ledger):
    ledger = sqlite_root_ledger
    closed = threading.Event()
    original_close = ledger.close

    def close() -> None:
        closed.set()
        original_close()
    ledger.close = close
    with ThreadServer(ledger, purge_interval=0.05) as server:
        make_client(server.url).list_secrets()
        assert any(t.name == "ledger-upkeep" for t in threading.enumerate())
    assert closed.is_set()
    assert not any(t.name == "ledger-upkeep" for t in threading.enumerate())


def test_the_upkeep_thread_ends_passed_recovery_windows():
    clock = Clock()
    ledger = ledger_with_root(clock=clock)
    system = Caller.system()
    ledger.call("CreateSecret", {"Name": "purge/me", "SecretString": "v"}, system)
    ledger.call("DeleteSecret", {"SecretId": "purge/me", "RecoveryWindowInDays": 7}, system)
    purger = UpkeepThread(ledger, purge_interval=0.02)
    purger.start()
    try:
        ledger.call("DescribeSecret", {"SecretId": "purge/me"}, system)
        clock.advance(days=8)
        deadline = time.monotonic() + 10
        while True:
            try:
                ledger.call("DescribeSecret", {"SecretId": "purge/me"}, system)
            except ResourceNotFoundException:
                break
            assert time.monotonic() < deadline, "the secret was not purged"
            time.sleep(0.02)
    finally:
        purger.stop()
    assert not purger.is_alive()


def wait_for(condition, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_the_upkeep_thread_signs_digests_when_due_even_with_no_traffic():
    clock = Clock()
    ledger = ledger_with_root(clock=clock)  # digests every hour by default
    ledger.call("CreateSecret", {"Name": "quiet/one", "SecretString": "v"}, Caller.system())
    digests = ledger.integrity.store.digests
    upkeep = UpkeepThread(ledger, purge_interval=None)
    upkeep.start()
    try:
        clock.advance(minutes=61)
        wait_for(lambda: len(digests()) == 1, "no digest after the first interval")
        clock.advance(minutes=61)  # nothing logged since: the digest is still written
        wait_for(lambda: len(digests()) == 2, "no digest for a quiet interval")
    finally:
        upkeep.stop()
    quiet = Digest.of(digests()[-1])
    assert quiet.fields["event_count"] == 0
    assert ledger.integrity.verify().ok

"""Storage that cannot persist a write (disk full, read-only): the call fails with
InternalServiceError, nothing half-written stays behind, and the ledger works again once the
storage does.

The fault is injected as the OS error SQLite reports (`database or disk is full`, `attempt to
write a readonly database`) at the recorder, the one place every write passes through; a tiny
filesystem is not available to unprivileged test runs.
"""
from __future__ import annotations

import pytest
from eventsourcing.persistence import OperationalError

from ledger.errors import InternalServiceError

VALUE_BEFORE, VALUE_DURING, VALUE_AFTER = "Sf-before-qzkxv", "Sf-during-wplmr", "Sf-after-hyton"


def _log_size(ledger) -> int:
    return ledger.recorder.max_notification_id() or 0


@pytest.mark.parametrize("os_error", ["database or disk is full",
                                      "attempt to write a readonly database"])
def test_unpersistable_writes_fail_cleanly_and_the_ledger_recovers(sqlite_ledger, caller,
                                                                   monkeypatch, os_error):
    ledger = sqlite_ledger
    created = ledger.call("CreateSecret", {"Name": "faults/db", "SecretString": VALUE_BEFORE},
                          caller)
    log_before, keys_before = _log_size(ledger), ledger.recorder.key_store_rows()

    def storage_fails(*args, **kwargs):
        raise OperationalError(os_error)

    monkeypatch.setattr(ledger.recorder, "insert_events", storage_fails)
    with pytest.raises(InternalServiceError) as update_error:
        ledger.call("UpdateSecret", {"SecretId": "faults/db", "SecretString": VALUE_DURING},
                    caller)
    with pytest.raises(InternalServiceError):  # fail closed: no value without its audit record
        ledger.call("GetSecretValue", {"SecretId": "faults/db"}, caller)
    assert VALUE_DURING not in str(update_error.value) + repr(update_error.value)
    assert os_error not in str(update_error.value)  # the cause's own text is not passed on
    assert _log_size(ledger) == log_before
    assert ledger.recorder.key_store_rows() == keys_before

    monkeypatch.undo()  # space returns
    updated = ledger.call("UpdateSecret", {"SecretId": "faults/db", "SecretString": VALUE_AFTER},
                          caller)
    current = ledger.call("GetSecretValue", {"SecretId": "faults/db"}, caller)
    assert current["SecretString"] == VALUE_AFTER
    assert current["VersionId"] == updated["VersionId"]
    previous = ledger.call("GetSecretValue", {"SecretId": "faults/db",
                                              "VersionStage": "AWSPREVIOUS"}, caller)
    assert previous["VersionId"] == created["VersionId"]
    versions = ledger.call("ListSecretVersionIds", {"SecretId": "faults/db",
                                                    "IncludeDeprecated": True}, caller)
    assert len(versions["Versions"]) == 2  # the failed write left no version behind
    ledger.write_digest()
    assert ledger.integrity.verify().ok

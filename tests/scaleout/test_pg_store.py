"""The PostgreSQL recorder keeps the SQLite recorder's promises: a save's events, its key-store
rows and its hash-chain rows commit together or not at all; and nothing assumes that log
positions are contiguous, which on PostgreSQL they are not."""
from __future__ import annotations

from datetime import timedelta

import pytest
from eventsourcing.persistence import IntegrityError

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.context import Caller

from ledger.integrity.report import DELETED, MODIFIED
from ledger.keys.keystore import KeyStoreChanges
from ledger.name_index import SecretName
from projections.replay import replay
from tests.scaleout.pg import connect, schema_env

pytestmark = pytest.mark.postgres


def table_count(schema: str, table: str) -> int:
    with connect() as connection:
        return connection.execute(f'SELECT COUNT(*) FROM "{schema}".{table}').fetchone()[0]


def test_a_save_writes_its_events_key_rows_and_hash_rows_together(pg_ledger, pg_schema, caller):
    events_before = table_count(pg_schema, "secretsledger_events")
    pg_ledger.call("CreateSecret", {"Name": "db/main", "SecretString": "v1"}, caller)
    pg_ledger.call("PutSecretValue", {"SecretId": "db/main", "SecretString": "v2"}, caller)
    assert table_count(pg_schema, "data_keys") == pg_ledger.key_store.key_store_rows() == 2
    assert table_count(pg_schema, "event_hashes") == table_count(
        pg_schema, "secretsledger_events") > events_before


def test_a_save_whose_key_rows_clash_leaves_no_event_and_no_hash(pg_ledger, pg_schema, caller,
                                                                  clock):
    pg_ledger.call("CreateSecret", {"Name": "db/main", "SecretString": "v1"}, caller)
    existing = pg_ledger.key_store.put_material_if_absent("shared-material", b"wrapped-once")
    assert existing == b"wrapped-once"
    counts = [table_count(pg_schema, t) for t in ("secretsledger_events", "event_hashes",
                                                   "data_keys")]
    last = pg_ledger.recorder.max_notification_id()
    index = SecretName.register("other/name", clock(), {"request_id": "test"})
    with pytest.raises(IntegrityError):
        pg_ledger.save(index, key_changes=KeyStoreChanges(materials={"shared-material": b"x"}))
    assert [table_count(pg_schema, t) for t in ("secretsledger_events", "event_hashes",
                                                 "data_keys")] == counts
    assert pg_ledger.recorder.max_notification_id() == last
    assert pg_ledger.key_store.material("shared-material") == b"wrapped-once"


def test_positions_with_gaps_verify_clean_and_project_completely(pg_ledger, caller):
    """A failed insert consumes sequence numbers: the next save lands past a gap."""
    pg_ledger.call("CreateSecret", {"Name": "gap/s", "SecretString": "v1"}, caller)
    pg_ledger.write_digest()
    before = pg_ledger.recorder.max_notification_id()
    clash = pg_ledger.recorder.select_notifications(1, 1)[0]
    stored = pg_ledger.recorder.select_events(clash.originator_id, lte=1)
    with pytest.raises(IntegrityError):  # the same (originator, version) again
        pg_ledger.recorder.insert_events(stored)
    pg_ledger.call("PutSecretValue", {"SecretId": "gap/s", "SecretString": "v2"}, caller)
    positions = [n.id for n in pg_ledger.recorder.select_notifications(before, 100,
                                                                       inclusive_of_start=False)]
    assert positions[0] > before + 1  # the gap
    pg_ledger.write_digest()
    report = pg_ledger.integrity.verify()
    assert report.ok, "\n".join(report.lines())
    assert not [f for r in report.ranges for f in r.findings if f.kind == DELETED]
    described = pg_ledger.call("DescribeSecret", {"SecretId": "gap/s"}, caller)
    assert len(described["VersionIdsToStages"]) == 2
    audit_positions = [row[0] for row in pg_ledger.read_models.store.query(
        "SELECT position FROM audit_events ORDER BY position")]
    assert positions[-1] in audit_positions or max(audit_positions) > before
    assert replay(pg_ledger).equal


def test_scheduled_digests_start_even_when_position_one_is_a_gap(pg_schema, tmp_path, clock):
    config = LedgerConfig(data_dir=tmp_path / "d", store="postgres",
                          digest_interval=timedelta(hours=1))
    ledger = SecretsLedger(config, clock=clock, env=schema_env(pg_schema))
    try:
        with connect() as connection:  # as if the first insert had failed
            connection.execute(f"SELECT setval('\"{pg_schema}\"."
                               "secretsledger_events_notification_id_seq', 5)")
        system = Caller.system()
        ledger.call("CreateSecret", {"Name": "late/s", "SecretString": "v"}, system)
        assert ledger.recorder.select_notifications(0, 1)[0].id == 6
        assert ledger.integrity.store.digests() == []
        clock.advance(hours=2)
        ledger.call("DescribeSecret", {"SecretId": "late/s"}, system)
        assert len(ledger.integrity.store.digests()) == 1
    finally:
        ledger.close()


def test_an_edited_event_is_found_on_postgres_too(pg_ledger, pg_schema, caller):
    pg_ledger.call("CreateSecret", {"Name": "t/s", "SecretString": "v1"}, caller)
    pg_ledger.write_digest()
    target = pg_ledger.recorder.max_notification_id()
    with connect() as connection:
        connection.execute(f'UPDATE "{pg_schema}".secretsledger_events SET state = state || '
                           "'\\x00'::bytea WHERE notification_id = %s", (target,))
    report = pg_ledger.integrity.verify()
    assert not report.ok
    assert [(f.kind, f.position) for r in report.ranges for f in r.findings
            if f.kind == MODIFIED] == [(MODIFIED, target)]


def test_a_deleted_event_and_its_hash_break_the_digest_that_covered_it(pg_ledger, pg_schema,
                                                                      caller):
    pg_ledger.call("CreateSecret", {"Name": "t/s", "SecretString": "v1"}, caller)
    pg_ledger.call("GetSecretValue", {"SecretId": "t/s"}, caller)
    pg_ledger.write_digest()
    target = pg_ledger.recorder.max_notification_id()
    with connect() as connection:
        row = connection.execute(f'DELETE FROM "{pg_schema}".secretsledger_events WHERE '
                                 "notification_id = %s RETURNING originator_id",
                                 (target,)).fetchone()
        connection.execute(f'DELETE FROM "{pg_schema}".event_hashes WHERE originator_id = %s',
                           (row[0].hex,))
    assert not pg_ledger.integrity.verify().ok


def test_shredding_removes_the_key_rows_from_postgres(pg_ledger, pg_schema, caller):
    pg_ledger.call("CreateSecret", {"Name": "t/gone", "SecretString": "v1"}, caller)
    pg_ledger.call("PutSecretValue", {"SecretId": "t/gone", "SecretString": "v2"}, caller)
    assert table_count(pg_schema, "data_keys") == 2
    pg_ledger.call("DeleteSecret", {"SecretId": "t/gone", "ForceDeleteWithoutRecovery": True},
                   caller)
    assert table_count(pg_schema, "data_keys") == 0

"""kill -9 the process running the projections while writes stream in: another process takes
over and the read models converge, with no event skipped or applied twice."""
from __future__ import annotations

import threading

import pytest

from projections.replay import replay
from tests.scaleout.cluster import (
    Cluster, Permits, Workload, check_audit_records, check_versions_and_labels, create_secrets,
    run_clients,
)
from tests.scaleout.pg import fresh_schema

pytestmark = pytest.mark.postgres

# Writes granted in each phase: 10 secrets share 350 updates, far below the version quota.
BEFORE_KILL, KILL_AFTER, AFTER_TAKEOVER = 250, 40, 100


def test_the_projections_survive_kill_9_of_the_process_running_them(tmp_path):
    with fresh_schema() as schema:
        cluster = Cluster(tmp_path, schema, 3).start()
        try:
            names = [f"failover/{i}" for i in range(10)]
            initial = create_secrets(cluster.servers[0].url, names)
            leader = cluster.wait_for_leader()
            victim = next(s for s in cluster.servers if s.process.pid == leader)
            survivors = [s for s in cluster.servers if s is not victim]
            work, permits = Workload(), Permits()
            targets = [(s.url, i * 10 + j) for i, s in enumerate(survivors) for j in range(2)]
            writers = threading.Thread(target=run_clients, args=(
                targets, lambda url, seed: work.run_updates(url, names, 10_000, seed, permits)))
            permits.grant(BEFORE_KILL)
            writers.start()
            try:
                work.wait_until_answered(KILL_AFTER)  # the kill lands while writes stream in
                reader = cluster.reader()
                killed_at = reader.recorder.max_notification_id()
                victim.process.kill()  # SIGKILL: no cleanup, its session just ends
                victim.process.wait()
                successor = cluster.wait_for_leader(timeout=30, other_than=leader)
                assert successor in {s.process.pid for s in survivors}
                permits.grant(AFTER_TAKEOVER)  # more writes, now projected by the successor
                work.wait_until_answered(BEFORE_KILL + AFTER_TAKEOVER)
            finally:
                permits.close()
                writers.join()
            try:
                assert work.errors == []
                assert reader.recorder.max_notification_id() > killed_at
                check_versions_and_labels(reader, initial, work.acknowledged)
                check_audit_records(reader, work.request_ids)  # every position, once
                assert not reader.read_models.leadership.leading
                report = replay(reader)
                assert report.equal, report.as_json()
                end = reader.recorder.max_notification_id()
                assert set(reader.read_models.positions().values()) == {end}
            finally:
                reader.close()
        finally:
            cluster.stop()

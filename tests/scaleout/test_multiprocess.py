"""Several server processes over one PostgreSQL database are one consistent ledger.

boto3 clients update shared secrets through every server at once. Afterwards every
acknowledged UpdateSecret is exactly one version, the labels moved one version at a time on
every secret, each call left exactly one audit record (in the log and in the audit trail
view), the hash chains and a fresh digest verify, and the live views equal a rebuild.
"""
from __future__ import annotations

import pytest

from projections.replay import replay
from tests.scaleout.cluster import (
    Cluster, Workload, check_audit_records, check_versions_and_labels, create_secrets,
    run_clients,
)
from tests.scaleout.pg import fresh_schema

pytestmark = pytest.mark.postgres


def run_scenario(tmp_path, servers: int, clients_per_server: int, calls: int,
                 secrets: int) -> None:
    with fresh_schema() as schema:
        cluster = Cluster(tmp_path, schema, servers).start()
        try:
            names = [f"shared/secret-{i:02d}" for i in range(secrets)]
            initial = create_secrets(cluster.servers[0].url, names)
            work = Workload()
            targets = [(server.url, index * 100 + client)
                       for index, server in enumerate(cluster.servers)
                       for client in range(clients_per_server)]
            run_clients(targets, lambda url, seed: work.run_updates(url, names, calls, seed))
            assert work.errors == []
            assert sum(map(len, work.acknowledged.values())) == len(targets) * calls
            reader = cluster.reader()
            try:
                check_versions_and_labels(reader, initial, work.acknowledged)
                check_audit_records(reader, work.request_ids)
                reader.write_digest()
                report = reader.integrity.verify()
                assert report.ok, "\n".join(report.lines())
                replayed = replay(reader)
                assert replayed.equal, replayed.as_json()
                assert cluster.leader_pid() in {s.process.pid for s in cluster.servers}
            finally:
                reader.close()
        finally:
            cluster.stop()


def test_four_servers_with_four_boto3_clients_each_keep_one_consistent_ledger(tmp_path):
    run_scenario(tmp_path, servers=4, clients_per_server=4, calls=20, secrets=10)


@pytest.mark.slow
def test_a_longer_run_of_four_servers_with_four_clients_each_stays_consistent(tmp_path):
    run_scenario(tmp_path, servers=4, clients_per_server=4, calls=55, secrets=20)  # < 100 versions each

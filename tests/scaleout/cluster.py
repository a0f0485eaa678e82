"""Several `secrets-ledger serve` processes over one PostgreSQL schema, and what tests check
of the ledger they share."""
from __future__ import annotations

import random
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.config import Config
from eventsourcing.utils import get_topic

from ledger.application import SecretsLedger
from ledger.calls import ApiCallRecorded
from ledger.config import LedgerConfig
from ledger.events import LabelMoved, VersionCreated
from projections.leadership import lock_key
from tests.scaleout.pg import connect, schema_env
from tests.server.conftest import REGION, ROOT_ENV, ROOT_KEY_ID, ROOT_SECRET, ServerProcess

EVENTS_TABLE = "secretsledger_events"


class Cluster:
    """`count` servers on free loopback ports, one data directory (for the shared root key)
    and one PostgreSQL schema."""

    def __init__(self, tmp_path: Path, schema: str, count: int) -> None:
        self.schema, self.data_dir = schema, tmp_path / "data"
        self.env = {**ROOT_ENV, **schema_env(schema), "LEDGER_STORE": "postgres",
                    "POSTGRES_POOL_SIZE": "4", "POSTGRES_MAX_OVERFLOW": "12"}
        self.servers = [ServerProcess(self.data_dir, self.env) for _ in range(count)]

    def start(self) -> Cluster:
        self.servers[0].start(timeout=60)  # creates the tables and registers the root key
        for server in self.servers[1:]:
            server.spawn()
        for server in self.servers[1:]:
            server.wait_listening(timeout=60)
        return self

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def reader(self) -> SecretsLedger:
        """An in-process ledger on the same database, as another process would open it."""
        config = LedgerConfig(data_dir=self.data_dir, store="postgres", digest_interval=None)
        return SecretsLedger(config, env=self.env)

    def leader_pid(self) -> int | None:
        """The OS pid of the process holding the projection lock (None: nobody holds it)."""
        unsigned = lock_key(self.schema, EVENTS_TABLE) & 0xFFFFFFFFFFFFFFFF
        with connect() as connection:
            row = connection.execute(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a "
                "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
                "AND l.classid = %s AND l.objid = %s AND l.objsubid = 1",
                (unsigned >> 32, unsigned & 0xFFFFFFFF)).fetchone()
        return int(row[0].rsplit("pid=", 1)[1]) if row else None

    def wait_for_leader(self, timeout: float = 30, other_than: int | None = None) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = self.leader_pid()
            if pid is not None and pid != other_than:
                return pid
            time.sleep(0.05)
        raise AssertionError("no process took over the projections")


def client(url: str) -> Any:
    import boto3
    return boto3.session.Session().client(
        "secretsmanager", endpoint_url=url, region_name=REGION, aws_access_key_id=ROOT_KEY_ID,
        aws_secret_access_key=ROOT_SECRET,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=120,
                      max_pool_connections=2))


class Permits:
    """Calls the test lets writers make, granted in batches: how much is written depends on
    the test's phases, not on how fast the machine is (a fast one would otherwise reach the
    version quota)."""

    def __init__(self) -> None:
        self._granted = self._taken = 0
        self._closed = False
        self._changed = threading.Condition()

    def grant(self, count: int) -> None:
        with self._changed:
            self._granted += count
            self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def take(self) -> bool:
        """Wait for a permit; False once closed."""
        with self._changed:
            self._changed.wait_for(lambda: self._closed or self._taken < self._granted)
            if self._closed:
                return False
            self._taken += 1
            return True


@dataclass
class Workload:
    """What clients did: every acknowledged UpdateSecret, and every call's request id."""

    acknowledged: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    request_ids: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run_updates(self, url: str, names: list[str], calls: int, seed: int,
                    permits: Permits | None = None) -> None:
        rng, boto = random.Random(seed), client(url)
        for i in range(calls):
            if permits is not None and not permits.take():
                return
            name = rng.choice(names)
            try:
                response = boto.update_secret(SecretId=name, SecretString=f"value-{seed}-{i}")
            except Exception as error:
                with self.lock:
                    self.errors.append(f"{type(error).__name__}: {error}")
                continue
            with self.lock:
                self.acknowledged[name].append(response["VersionId"])
                self.request_ids.append(response["ResponseMetadata"]["RequestId"])

    def answered(self) -> int:
        with self.lock:
            return len(self.request_ids) + len(self.errors)

    def wait_until_answered(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.answered() < count:
            assert time.monotonic() < deadline, f"only {self.answered()} of {count} calls answered"
            time.sleep(0.01)


def run_clients(targets: list[tuple[str, int]], body: Any) -> None:
    """`body(url, seed)` in one thread per (url, seed); waits for all."""
    threads = [threading.Thread(target=body, args=(url, seed)) for url, seed in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def create_secrets(url: str, names: list[str]) -> dict[str, str]:
    """name -> the VersionId CreateSecret gave it."""
    boto = client(url)
    return {name: boto.create_secret(Name=name, SecretString="initial")["VersionId"]
            for name in names}


def log_events(ledger: SecretsLedger, classes: tuple[type, ...]) -> list[tuple[int, Any]]:
    """(position, event) of every event of these classes, in log order."""
    topics = [get_topic(cls) for cls in classes]
    found, start = [], 0
    while True:
        notes = ledger.recorder.select_notifications(start, 5000, topics=topics,
                                                     inclusive_of_start=False)
        if not notes:
            return found
        found += [(note.id, ledger.mapper.to_domain_event(note)) for note in notes]
        start = notes[-1].id


def check_versions_and_labels(ledger: SecretsLedger, initial: dict[str, str],
                              acknowledged: dict[str, list[str]]) -> None:
    """Every acknowledged UpdateSecret is exactly one version of its secret, and the labels
    moved version by version: AWSCURRENT to each new version from the one before it,
    AWSPREVIOUS following one step behind."""
    ids = {name: ledger.find_secret(name).id for name in initial}
    created: dict[Any, list[str]] = defaultdict(list)
    moves: dict[tuple[Any, str], list[tuple[str | None, str | None]]] = defaultdict(list)
    for _, event in log_events(ledger, (VersionCreated, LabelMoved)):
        if isinstance(event, VersionCreated):
            created[event.originator_id].append(event.version_id)
        else:
            moves[(event.originator_id, event.label)].append((event.from_version,
                                                              event.to_version))
    for name, secret_id in ids.items():
        versions = created[secret_id]
        assert len(versions) == len(set(versions))
        assert sorted(versions) == sorted([initial[name], *acknowledged.get(name, [])]), name
        current = moves[(secret_id, "AWSCURRENT")]
        assert [to for _, to in current] == versions
        assert [frm for frm, _ in current] == [None, *versions[:-1]]
        previous = moves[(secret_id, "AWSPREVIOUS")]
        assert [to for _, to in previous] == versions[:-1]
        secret = ledger.find_secret(name)
        expected = {"AWSCURRENT": versions[-1]}
        if len(versions) > 1:
            expected["AWSPREVIOUS"] = versions[-2]
        assert secret.labels == expected, name


def check_audit_records(ledger: SecretsLedger, request_ids: list[str]) -> None:
    """One audit record per call in the log, and the audit trail view holds exactly the
    log's records, one row per record position."""
    records = log_events(ledger, (ApiCallRecorded,))
    per_request = Counter(event.context["request_id"] for _, event in records)
    assert all(per_request[request_id] == 1 for request_id in request_ids)
    assert per_request.most_common(1)[0][1] == 1
    ledger.read_models.refresh(ledger.read_models.audit)
    rows = ledger.read_models.store.query("SELECT position FROM audit_events ORDER BY position")
    assert [row[0] for row in rows] == [position for position, _ in records]

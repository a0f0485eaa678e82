"""Read-side figures, each next to its baseline from the same run. Never prints a value.

1. Audit replay (every read model rebuilt from position 0 into fresh storage) in log positions
   per second, next to eventsourcing's raw decoded read of the same log (select_notifications +
   mapper.to_domain_event over every event).
2. As-of latency for one secret with 10 events and one with 10,000 events.
3. LookupEvents latency for one secret's records among 1,000,000 audit records.

    python -m tools.bench_replay [--calls 5000] [--deep 10000] [--records 1000000]
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.context import Caller
from ledger.secret import Limits
from projections import lookup
from projections.audit_trail import AuditTrailView
from projections.point_in_time import Bound, secret_as_of
from projections.replay import replay
from projections.store import open_store


def raw_read_rate(ledger: SecretsLedger) -> tuple[int, float]:
    started, count, start = time.perf_counter(), 0, 0
    while True:
        notes = ledger.recorder.select_notifications(start, 1000, inclusive_of_start=False)
        if not notes:
            break
        for note in notes:
            ledger.mapper.to_domain_event(note)
        count += len(notes)
        start = notes[-1].id
    return count, count / (time.perf_counter() - started)


def replay_rate(ledger: SecretsLedger, into: Path) -> tuple[float, bool]:
    """Positions/s of an audit replay into a fresh file (live views caught up beforehand)."""
    ledger.read_models.refresh_all()
    end = ledger.recorder.max_notification_id() or 0
    started = time.perf_counter()
    report = replay(ledger, into=into)
    return end / (time.perf_counter() - started), report.equal


def build_log(ledger: SecretsLedger, calls: int) -> None:
    caller = Caller.system(ledger.config.account_id)
    names = [f"bench/s{i:04d}" for i in range(max(1, calls // 20))]
    for name in names:
        ledger.call("CreateSecret", {"Name": name, "SecretString": "initial-value"}, caller)
    for i in range(calls - len(names)):
        name = names[i % len(names)]
        if i % 3 == 0:
            ledger.call("GetSecretValue", {"SecretId": name}, caller)
        else:
            ledger.call("PutSecretValue", {"SecretId": name, "SecretString": f"v{i}"}, caller)


def deep_secret(ledger: SecretsLedger, name: str, events: int) -> None:
    """A secret whose stream holds `events` events (description changes after its creation)."""
    caller = Caller.system(ledger.config.account_id)
    ledger.call("CreateSecret", {"Name": name, "SecretString": "deep-initial"}, caller)
    secret = ledger.find_secret(name)
    assert secret is not None
    context = {"request_id": "bench", "operation": "UpdateSecret"}
    while secret.version < events:
        secret.change_description(f"d{secret.version}", ledger.now(), context)
    ledger.save(secret)


def as_of_latency(ledger: SecretsLedger, name: str, rounds: int = 7) -> float:
    position = ledger.recorder.max_notification_id()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        secret_as_of(ledger, name, Bound(position=position))
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _record(position: int, arn: str) -> str:
    """A record shaped like the trail's own (fields LookupEvents reads), cheaply."""
    return json.dumps({
        "eventVersion": "1.11", "userIdentity": {
            "type": "IAMUser", "arn": f"arn:aws:iam::123456789012:user/user{position % 50}",
            "accountId": "123456789012", "accessKeyId": "AKIABENCH", "userName": "bench"},
        "eventTime": "2026-03-17T03:12:00Z", "eventSource": "secretsmanager.amazonaws.com",
        "eventName": "GetSecretValue", "requestParameters": {"secretId": arn},
        "responseElements": None, "eventID": f"id-{position}", "readOnly": True,
        "resources": [{"ARN": arn, "accountId": "123456789012",
                       "type": "AWS::SecretsManager::Secret"}]})


def lookup_latency(directory: Path, records: int, secrets: int = 10_000) -> tuple[float, str]:
    """Fill an audit view with synthetic records, then time one secret's first page."""
    view = AuditTrailView("123456789012")
    store = open_store(directory / "audit.db", view.ddl)
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench/s{:05d}-AbCdEf"
    with store.writing() as c:
        c.executemany("INSERT INTO audit_events VALUES (?, ?, ?, ?, ?)",
                      ((p, f"id-{p}", p * 1000, f"req-{p}", _record(p, arn.format(p % secrets)))
                       for p in range(1, records + 1)))
        c.executemany("INSERT INTO audit_lookup VALUES (?, ?, ?, ?)",
                      ((attribute, value, p * 1000, p) for p in range(1, records + 1)
                       for attribute, value in (
                           ("EventName", "GetSecretValue" if p % 3 else "PutSecretValue"),
                           ("ResourceName", arn.format(p % secrets)),
                           ("ResourceName", f"bench/s{p % secrets:05d}"),
                           ("Username", f"user{p % 50}"),
                           ("ReadOnly", "true" if p % 3 else "false"))))
    query = lookup.parse_query([{"AttributeKey": "ResourceName", "AttributeValue": "bench/s00042"}],
                               None, None)
    times = []
    with store.reading() as c:
        plan = lookup.explain(c, query)
        for _ in range(20):
            started = time.perf_counter()
            page = lookup.lookup(c, query, 50)
            times.append(time.perf_counter() - started)
    store.close()
    assert page["Events"] and "SCAN" not in plan
    return statistics.median(times), plan


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--deep", type=int, default=10_000)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        directory = Path(tmp)
        ledger = SecretsLedger(LedgerConfig(data_dir=directory / "ledger",
                                            limits=Limits(max_versions=100_000)))
        build_log(ledger, args.calls)
        deep_secret(ledger, "bench/deep", args.deep)
        deep_secret(ledger, "bench/shallow", 10)
        events, raw = raw_read_rate(ledger)
        rate, equal = replay_rate(ledger, directory / "replayed.db")
        print(f"log: {events} events")
        print(f"raw decoded read (eventsourcing): {raw:10.0f} events/s")
        print(f"audit replay, both read models:   {rate:10.0f} positions/s  "
              f"ratio {rate / raw:.2f}  (equal to live: {equal})")
        shallow = as_of_latency(ledger, "bench/shallow")
        deep = as_of_latency(ledger, "bench/deep")
        print(f"as-of, secret with 10 events:     {shallow * 1000:10.2f} ms")
        print(f"as-of, secret with {args.deep} events: {deep * 1000:8.2f} ms  "
              f"ratio {deep / shallow:.1f}")
        latency, plan = lookup_latency(directory, args.records)
        print(f"lookup of one secret among {args.records} records: {latency * 1000:.2f} ms "
              f"(first page of 50)")
        print(f"  plan: {plan}")


if __name__ == "__main__":
    main()

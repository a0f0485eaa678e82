"""Read-side figures, each next to its baseline measured in the same run. Never prints a value.

1. Audit replay (every read model rebuilt from position 0 into fresh storage, then compared
   with the live one) in log positions per second, next to eventsourcing's raw decoded read of
   the same log (`select_notifications` + `mapper.to_domain_event` over every event). Rounds
   alternate the two; the ratio of each round is taken within that round, and medians printed.
   The replay's own log reader alone is shown too, so the cost of the views themselves is seen.
2. As-of latency for one secret with 10 events and one with 10,000 events, from the history
   tables, next to the bounded replay of the aggregate that is its reference.
3. LookupEvents latency for one secret's records among 1,000,000 audit records (a log of that
   many ApiCallRecorded events, indexed by the audit view; records rendered from the log).

    python -m tools.bench_replay [--calls 5000] [--deep 10000] [--records 1000000] [--rounds 5]
"""
from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

from ledger.application import SecretsLedger
from ledger.calls import ApiCall
from ledger.config import LedgerConfig
from ledger.context import Caller
from ledger.secret import Limits
from projections import lookup
from projections.audit_records import TrailCursor
from projections.audit_trail import AuditTrailView
from projections.log_reader import LogReader
from projections.point_in_time import Bound, secret_as_of, secret_as_of_replayed
from projections.replay import replay
from projections.runner import catch_up
from projections.store import open_store

ACCOUNT = "123456789012"
SECRETS = 10_000  # in the synthetic trail: 100 records each among 1,000,000


def raw_read_rate(ledger: SecretsLedger) -> float:
    """eventsourcing's own decoded read of the whole log, events/s."""
    started, count, start = time.perf_counter(), 0, 0
    while True:
        notes = ledger.recorder.select_notifications(start, 1000, inclusive_of_start=False)
        if not notes:
            break
        for note in notes:
            ledger.mapper.to_domain_event(note)
        count += len(notes)
        start = notes[-1].id
    return count / (time.perf_counter() - started)


def reader_rate(ledger: SecretsLedger) -> float:
    """The replay's log reader alone over the whole log, events/s."""
    reader = LogReader(ledger.recorder, ledger.mapper)
    started, count, start = time.perf_counter(), 0, 0
    while events := reader.after(start, 1000):
        count += len(events)
        start = events[-1][0]
    return count / (time.perf_counter() - started)


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


def latency(run: Callable[[], Any], rounds: int) -> float:
    """Median seconds of `rounds` calls (after one warm-up call)."""
    run()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def as_of(ledger: SecretsLedger, name: str, replayed: bool) -> Callable[[], Any]:
    bound = Bound(position=ledger.recorder.max_notification_id())
    inspect = secret_as_of_replayed if replayed else secret_as_of
    return lambda: inspect(ledger, name, bound)


# ---- LookupEvents among many records --------------------------------------------------------

def synthetic_trail(ledger: SecretsLedger, path: Path, records: int,
                    secrets: int = SECRETS) -> SQLiteApplicationRecorder:
    """A log of `records` GetSecretValue records by 50 users over `secrets` secrets."""
    recorder = SQLiteApplicationRecorder(SQLiteDatastore(str(path)))
    recorder.create_table()
    arn = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:bench/s{{:05d}}-AbCdEf"
    moment = datetime(2026, 3, 17, tzinfo=timezone.utc)
    rng = random.Random(5)
    chunk = []
    for n in range(records):
        secret = arn.format(n % secrets)
        user = f"arn:aws:iam::{ACCOUNT}:user/user{n % 50}"
        context = {"request_id": f"req-{n}", "operation": "GetSecretValue",
                   "region": "us-east-1", "source_ip": "10.0.0.7", "user_agent": "bench",
                   "parameters": {"SecretId": secret},
                   "caller": {"arn": user, "access_key_id": f"AKIABENCH{n % 50:06d}",
                              "principal_type": "IAMUser", "principal_id": f"AIDA{n % 50}",
                              "account_id": ACCOUNT}}
        call = ApiCall.record(context=context, now=moment + timedelta(milliseconds=n),
                              read_only=True, resources=[secret],
                              response={"ARN": secret, "Name": f"bench/s{n % secrets:05d}",
                                        "VersionId": f"{rng.getrandbits(64):016x}"})
        chunk += [ledger.mapper.to_stored_event(e) for e in call.collect_events()]
        if len(chunk) >= 10_000:
            recorder.insert_events(chunk)
            chunk = []
    if chunk:
        recorder.insert_events(chunk)
    return recorder


def lookup_latency(ledger: SecretsLedger, directory: Path, records: int) -> dict[str, Any]:
    path = directory / "trail.db"
    started = time.perf_counter()
    recorder = synthetic_trail(ledger, path, records)
    built = time.perf_counter() - started
    view = AuditTrailView(ACCOUNT)
    store = open_store(path, view.ddl)
    started = time.perf_counter()
    catch_up(recorder, ledger.mapper, view, store, batch=5000)
    indexed = time.perf_counter() - started
    reader = LogReader(recorder, ledger.mapper)
    query = lookup.parse_query([{"AttributeKey": "ResourceName", "AttributeValue": "bench/s00042"}],
                               None, None)
    with store.reading() as cursor:
        trail = TrailCursor(cursor, reader, ACCOUNT)
        plan = lookup.explain(trail, query)
        page = lookup.lookup(trail, query, 50)
        median = latency(lambda: lookup.lookup(trail, query, 50), 20)
    store.close()
    assert len(page["Events"]) == min(50, records // SECRETS) and "SCAN" not in plan
    return {"median": median, "plan": plan, "built": built, "indexed": indexed}


# ---- main -----------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--deep", type=int, default=10_000)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        directory = Path(tmp)
        ledger = SecretsLedger(LedgerConfig(data_dir=directory / "ledger",
                                            limits=Limits(max_versions=100_000),
                                            authorization=False))
        build_log(ledger, args.calls)
        deep_secret(ledger, "bench/deep", args.deep)
        deep_secret(ledger, "bench/shallow", 10)
        events = ledger.recorder.max_notification_id()
        raw, lean, rates, ratios, equal = [], [], [], [], True
        for n in range(args.rounds):
            raw.append(raw_read_rate(ledger))
            lean.append(reader_rate(ledger))
            rate, same = replay_rate(ledger, directory / f"replayed-{n}.db")
            rates.append(rate)
            ratios.append(rate / raw[-1])
            equal = equal and same
        print(f"log: {events} events; medians of {args.rounds} rounds (each round: raw read, "
              f"reader, replay)")
        print(f"raw decoded read (eventsourcing):  {statistics.median(raw):9.0f} events/s   "
              f"rounds: {', '.join(f'{r:.0f}' for r in raw)}")
        print(f"replay's log reader alone:         {statistics.median(lean):9.0f} events/s   "
              f"rounds: {', '.join(f'{r:.0f}' for r in lean)}")
        print(f"audit replay, both read models:    {statistics.median(rates):9.0f} positions/s"
              f" rounds: {', '.join(f'{r:.0f}' for r in rates)}  (equal to live: {equal})")
        print(f"  replay / raw read, per round: {', '.join(f'{r:.2f}' for r in ratios)}  "
              f"median {statistics.median(ratios):.2f}")
        shallow, deep = as_of(ledger, "bench/shallow", False), as_of(ledger, "bench/deep", False)
        rounds = max(15, 3 * args.rounds)
        fast = [latency(shallow, rounds), latency(deep, rounds)]
        slow = [latency(as_of(ledger, "bench/shallow", True), args.rounds),
                latency(as_of(ledger, "bench/deep", True), args.rounds)]
        print(f"as-of from history tables: 10 events {fast[0] * 1000:7.2f} ms, {args.deep} "
              f"events {fast[1] * 1000:7.2f} ms  ratio {fast[1] / fast[0]:.2f}")
        print(f"as-of by bounded replay:   10 events {slow[0] * 1000:7.2f} ms, {args.deep} "
              f"events {slow[1] * 1000:7.2f} ms  ratio {slow[1] / slow[0]:.1f}  (reference)")
        found = lookup_latency(ledger, directory, args.records)
        print(f"lookup of one secret among {args.records} records: {found['median'] * 1000:.2f} "
              f"ms (first page of 50, rendered from the log; median of 20)")
        print(f"  log built in {found['built']:.0f} s, audit view over it in "
              f"{found['indexed']:.0f} s ({args.records / found['indexed']:.0f} records/s)")
        print(f"  plan: {found['plan']}")
        ledger.close()


if __name__ == "__main__":
    main()

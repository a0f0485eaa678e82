"""As-of from the history tables equals the bounded replay it replaced, at any instant, and
costs the same on a long history as on a short one."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.context import Caller
from ledger.errors import LedgerError
from ledger.secret import Limits
from projections import current_state, secret_history
from projections.point_in_time import (
    Bound, ledger_as_of, ledger_as_of_replayed, secret_as_of, secret_as_of_replayed,
)
from tests.conftest import Clock
from tests.grants import grant_full_access

NAMES = ["a", "b/c"]
CALLER = Caller(arn="arn:aws:iam::123456789012:user/ann", access_key_id="AKIAANN")
START = datetime(2026, 3, 17, 3, 12, tzinfo=timezone.utc)
OPERATIONS = (["create", "put_staged", "stage", "describe", "tag", "key", "get", "later",
               "restore"] * 2 + ["put"] * 4
              + ["untag", "delete", "force_delete", "earlier", "purge"])
step = st.tuples(st.sampled_from(OPERATIONS), st.integers(0, len(NAMES) - 1),
                 st.integers(0, 10**6))


def apply(ledger: SecretsLedger, clock: Clock, keys: list[str], operation: str, name: str,
          n: int) -> None:
    if operation == "later":
        clock.advance(hours=1 + n % 30)
        return
    if operation == "earlier":  # a clock that steps back: as-of T must still cut a prefix
        clock.now = clock.now - timedelta(minutes=1 + n % 90)
        return
    if operation == "purge":
        ledger.purge_expired()
        return
    requests = {
        "create": ("CreateSecret", {"Name": name, "SecretString": f"Asof-{n}",
                                    "Tags": [{"Key": f"k{n % 3}", "Value": str(n)}]}),
        "put": ("PutSecretValue", {"SecretId": name, "SecretString": f"Asof-{n}"}),
        "put_staged": ("PutSecretValue", {"SecretId": name, "SecretString": f"Asof-{n}",
                                          "VersionStages": [f"S{n % 3}"]}),
        "describe": ("UpdateSecret", {"SecretId": name, "Description": f"d{n % 5}"}),
        "tag": ("TagResource", {"SecretId": name, "Tags": [{"Key": f"k{n % 4}", "Value": "v"},
                                                          {"Key": "z", "Value": str(n)}]}),
        "untag": ("UntagResource", {"SecretId": name, "TagKeys": [f"k{n % 4}"]}),
        "key": ("UpdateSecret", {"SecretId": name, "KmsKeyId": keys[n % len(keys)]}),
        "delete": ("DeleteSecret", {"SecretId": name, "RecoveryWindowInDays": 7}),
        "force_delete": ("DeleteSecret", {"SecretId": name, "ForceDeleteWithoutRecovery": True}),
        "restore": ("RestoreSecret", {"SecretId": name}),
        "get": ("GetSecretValue", {"SecretId": name}),
    }
    if operation == "stage":
        secret = ledger.find_secret(name, missing_ok=True)
        if secret is None or not secret.versions:
            return
        target = sorted(secret.versions)[n % len(secret.versions)]
        requests["stage"] = ("UpdateSecretVersionStage", {
            "SecretId": name, "VersionStage": "AWSCURRENT", "MoveToVersionId": target,
            "RemoveFromVersionId": secret.labels.get("AWSCURRENT")})
    op, request = requests[operation]
    try:
        ledger.call(op, request, CALLER)
    except LedgerError:
        pass


def answer(inspect, ledger, secret_id, bound):
    try:
        return inspect(ledger, secret_id, bound)
    except LedgerError as error:
        return error.code


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=20, max_size=80), st.randoms(use_true_random=False))
def test_as_of_from_indexes_equals_the_bounded_replay_at_random_instants(steps, rnd):
    clock = Clock(START)
    ledger = SecretsLedger(LedgerConfig(limits=Limits(max_versions=3,
                                                      version_min_age=timedelta(hours=2))),
                           clock=clock, rng=random.Random(3))
    grant_full_access(ledger, "user/ann")
    keys = [ledger.kms.create_key(f"k{i}", clock(), {"request_id": "setup"}).arn
            for i in range(2)]
    with mock.patch.object(current_state, "CHECKPOINT_EVERY", 3):  # many checkpoints
        times = [clock()]
        for index, (operation, name_index, n) in enumerate(steps):
            apply(ledger, clock, keys, operation, NAMES[name_index], n)
            times.append(clock())
            if index % 5 == 0:
                ledger.read_models.refresh_all()  # the live view advances in uneven steps
        end = ledger.recorder.max_notification_id() or 0
        bounds = [Bound(position=rnd.randint(0, end)) for _ in range(6)]
        bounds += [Bound(at=rnd.choice(times) + timedelta(seconds=rnd.choice([-1, 0, 1])))
                   for _ in range(6)]
        arns = [s.arn for s in ledger.all_secrets()]
        for bound in bounds:
            for secret_id in [*NAMES, *arns]:
                indexed = answer(secret_as_of, ledger, secret_id, bound)
                assert indexed == answer(secret_as_of_replayed, ledger, secret_id, bound), \
                    (secret_id, bound)
            assert ledger_as_of(ledger, bound) == ledger_as_of_replayed(ledger, bound), bound


def deep(ledger: SecretsLedger, caller: Caller, name: str, events: int) -> None:
    """A secret whose stream holds `events` events (description changes)."""
    ledger.call("CreateSecret", {"Name": name, "SecretString": "Asof-deep-value"}, caller)
    secret = ledger.find_secret(name)
    context = {"request_id": "deep", "operation": "UpdateSecret"}
    while secret.version < events:
        secret.change_description(f"d{secret.version}", ledger.now(), context)
    ledger.save(secret)


class CountingCursor:
    """Counts the rows a query reads back."""

    def __init__(self, cursor) -> None:
        self.cursor, self.rows = cursor, 0

    def execute(self, sql, params=()):
        return self.cursor.execute(sql, params)

    def fetchone(self):
        row = self.cursor.fetchone()
        self.rows += row is not None
        return row

    def fetchall(self):
        rows = self.cursor.fetchall()
        self.rows += len(rows)
        return rows


@pytest.mark.parametrize("bound_kind", ["position", "time"])
def test_as_of_reads_as_many_rows_for_a_long_history_as_for_a_short_one(ledger, clock, caller,
                                                                         bound_kind):
    deep(ledger, caller, "short", 10)
    deep(ledger, caller, "long", 2000)
    ledger.call("PutSecretValue", {"SecretId": "long", "SecretString": "Asof-after-1"}, caller)
    ledger.read_models.refresh_all()
    bound = (Bound(position=ledger.recorder.max_notification_id()) if bound_kind == "position"
             else Bound(at=clock()))
    read = {}
    with ledger.read_models.store.reading() as raw:
        for name in ("short", "long"):
            [secret_id] = [s.id.hex for s in ledger.all_secrets() if s.name == name]
            cursor = CountingCursor(raw)
            state = secret_history.state_as_of(cursor, secret_id, bound)
            assert state is not None and state.version > 1
            read[name] = cursor.rows
    assert read["long"] <= read["short"] + current_state.CHECKPOINT_EVERY
    expected = secret_as_of_replayed(ledger, "long", bound)
    assert secret_as_of(ledger, "long", bound) == expected
    assert expected["eventsReplayed"] == 2000 + 3  # + the put: a version, two label moves


def test_as_of_a_time_stops_at_the_first_event_stamped_later_even_if_the_clock_stepped_back(
        ledger, clock, caller):
    clock.now = START
    ledger.call("CreateSecret", {"Name": "skew", "SecretString": "Asof-skew-1"}, caller)
    clock.now = START + timedelta(minutes=30)
    ledger.call("UpdateSecret", {"SecretId": "skew", "Description": "later"}, caller)
    clock.now = START + timedelta(minutes=10)  # the clock steps back
    ledger.call("UpdateSecret", {"SecretId": "skew", "Description": "stepped back"}, caller)
    ledger.call("TagResource", {"SecretId": "skew", "Tags": [{"Key": "t", "Value": "v"}]},
                caller)
    at = Bound(at=START + timedelta(minutes=20))
    state = secret_as_of(ledger, "skew", at)
    assert state == secret_as_of_replayed(ledger, "skew", at)
    assert state["description"] is None and state["tags"] is None  # neither later change
    assert state["eventsReplayed"] == 3  # created, its version, its label

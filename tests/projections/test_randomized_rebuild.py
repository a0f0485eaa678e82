"""After any history, the live views equal a rebuild from 0 and the aggregates they mirror."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.context import Caller
from ledger.errors import LedgerError
from ledger.secret import Limits
from ledger.shapes import secret_entry
from projections.replay import replay
from tests.conftest import Clock
from tests.grants import grant_full_access

NAMES = ["a", "b", "c/d"]
CALLERS = [Caller(arn=f"arn:aws:iam::123456789012:user/{n}", access_key_id=f"AKIA{n.upper()}")
           for n in ("ann", "ben")]
OPERATIONS = ["create", "put", "put_staged", "describe", "tag", "untag", "stage", "delete",
              "force_delete", "restore", "get", "later", "purge"]

step = st.tuples(st.sampled_from(OPERATIONS), st.integers(0, len(NAMES) - 1),
                 st.integers(0, 10**6))


def apply(ledger: SecretsLedger, clock: Clock, operation: str, name: str, n: int) -> None:
    caller = CALLERS[n % 2]
    requests = {
        "create": ("CreateSecret", {"Name": name, "SecretString": f"Rnd-{n}",
                                    "Tags": [{"Key": f"k{n % 3}", "Value": str(n)}]}),
        "put": ("PutSecretValue", {"SecretId": name, "SecretString": f"Rnd-{n}"}),
        "put_staged": ("PutSecretValue", {"SecretId": name, "SecretString": f"Rnd-{n}",
                                          "VersionStages": [f"S{n % 3}"]}),
        "describe": ("UpdateSecret", {"SecretId": name, "Description": f"d{n % 4}"}),
        "tag": ("TagResource", {"SecretId": name, "Tags": [{"Key": f"k{n % 4}", "Value": "v"}]}),
        "untag": ("UntagResource", {"SecretId": name, "TagKeys": [f"k{n % 4}"]}),
        "delete": ("DeleteSecret", {"SecretId": name, "RecoveryWindowInDays": 7}),
        "force_delete": ("DeleteSecret", {"SecretId": name, "ForceDeleteWithoutRecovery": True}),
        "restore": ("RestoreSecret", {"SecretId": name}),
        "get": ("GetSecretValue", {"SecretId": name}),
    }
    if operation == "later":
        clock.advance(hours=1 + n % 200)
        return
    if operation == "purge":
        ledger.purge_expired()
        return
    if operation == "stage":
        secret = ledger.find_secret(name, missing_ok=True)
        if secret is None or not secret.versions:
            return
        versions = sorted(secret.versions)
        target = versions[n % len(versions)]
        requests["stage"] = ("UpdateSecretVersionStage", {
            "SecretId": name, "VersionStage": "AWSCURRENT", "MoveToVersionId": target,
            "RemoveFromVersionId": secret.labels.get("AWSCURRENT")})
    op, request = requests[operation]
    try:
        ledger.call(op, request, caller)
    except LedgerError:
        pass


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=10, max_size=80))
def test_live_views_equal_a_rebuild_and_the_aggregates(steps):
    clock = Clock(datetime(2026, 3, 17, 3, 12, tzinfo=timezone.utc))
    ledger = SecretsLedger(LedgerConfig(limits=Limits(max_versions=4,
                                                      version_min_age=timedelta(hours=2))),
                           clock=clock, rng=random.Random(3))
    grant_full_access(ledger, "user/ann", "user/ben")
    for index, (operation, name_index, n) in enumerate(steps):
        apply(ledger, clock, operation, NAMES[name_index], n)
        if index % 7 == 0:
            ledger.read_models.refresh_all()  # the live views advance in uneven steps
    for secret in ledger.all_secrets():
        assert ledger.read_models.find_secret(secret.arn).versions.keys() == secret.versions.keys()
        described = ledger.call("DescribeSecret", {"SecretId": secret.arn}, CALLERS[0])
        assert described == secret_entry(secret)
    report = replay(ledger)
    assert report.equal, report.as_json()

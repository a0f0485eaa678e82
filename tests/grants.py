"""Identity policies for the callers the test suites use.

Ledgers enforce policies by default, and tests that are about something else still run every
call through the policy check: their callers get an allow-all identity policy, attached the way
an operator would attach one (events on the principal's stream).
"""
from __future__ import annotations

from ledger.application import SecretsLedger
from ledger.principals import PrincipalError, Principals

FULL_ACCESS = {"Version": "2012-10-17",
               "Statement": [{"Sid": "Tests", "Effect": "Allow", "Action": "*", "Resource": "*"}]}
TEST_PRINCIPALS = ("user/alice", "user/bob", "user/auditor", "role/rotator", "role/deployer")
"""`kind/name` of every principal the shared fixtures' callers act as."""


def grant_full_access(ledger: SecretsLedger, *principals: str) -> None:
    """Create each `user/<name>` or `role/<name>` if needed and attach FULL_ACCESS to it."""
    admin = Principals(ledger, user_agent="tests")
    for reference in principals or TEST_PRINCIPALS:
        kind, name = reference.split("/", 1)
        try:
            admin.find(admin.arn_for(name, role=kind == "role"))
        except PrincipalError:
            admin.create(name, role=kind == "role")
        admin.put_policy(admin.arn_for(name, role=kind == "role"), "full-access", FULL_ACCESS)


def deny_key_action(ledger: SecretsLedger, principal: str, action: str, key_arn: str) -> None:
    """Attach to `kind/name` an explicit Deny of one KMS action on one key."""
    kind, name = principal.split("/", 1)
    document = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": action, "Resource": key_arn}]}
    admin = Principals(ledger, user_agent="tests")
    admin.put_policy(admin.arn_for(name, role=kind == "role"), "deny-" + action.replace(":", "-"), document)

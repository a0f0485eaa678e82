"""The end-to-end authorization matrix: principals x operations x secrets x SecretId forms x
policy shapes, one expected allow/deny per cell, run through the embedded API and over HTTP.

Every shape is a set of identity policies (by principal) and an optional resource policy on
`prod/db`, written with the secrets' real ARNs. Expectations are listed by hand as the cells a
principal may use; every other cell must be refused with AccessDeniedException naming the
SecretId as sent. "Allowed" means the call was not refused by authorization (it may still fail
for another reason, though with these requests none does).
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

ACCOUNT = "123456789012"
SM = "secretsmanager"
PRINCIPALS = ("alice", "bob", "deployer", "root")
SECRETS = {"prod/db": {"env": "prod", "team": "data"}, "dev/app": {"env": "dev"}}
FORMS = ("name", "full-arn", "partial-arn")
READS = ("GetSecretValue", "DescribeSecret", "ListSecretVersionIds", "GetResourcePolicy")
WRITES = ("UpdateSecret", "TagResource", "PutSecretValue", "DeleteSecret")
OPERATIONS = READS + WRITES
P, D = "prod/db", "dev/app"


def request_for(operation: str, secret_id: str) -> dict[str, Any]:
    extra: dict[str, Any] = {
        "UpdateSecret": {"Description": "set by a matrix cell"},
        "TagResource": {"Tags": [{"Key": "cell", "Value": "x"}]},
        "PutSecretValue": {"SecretString": "cell-value"},
        "DeleteSecret": {"RecoveryWindowInDays": 7},
    }.get(operation, {})
    return {"SecretId": secret_id, **extra}


def reference(form: str, name: str, arns: dict[str, str]) -> str:
    return {"name": name, "full-arn": arns[name], "partial-arn": arns[name][:-7]}[form]


# ---- policy shapes ----------------------------------------------------------------------------
def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


@dataclass
class Shape:
    identity: dict[str, str] = field(default_factory=dict)  # principal -> policy document
    resource: str | None = None  # resource policy on prod/db


def shapes(arns: dict[str, str]) -> dict[str, Shape]:
    """Every shape, with ARNs of this run's secrets (their region and random suffix)."""
    prefix = arns[P].split(":secret:")[0] + ":secret:"
    user = f"arn:aws:iam::{ACCOUNT}:user"
    return {
        "none": Shape(),
        "all-secretsmanager": Shape({"alice": doc(allow(f"{SM}:*"))}),
        "read-by-full-arn": Shape({"alice": doc(allow(
            [f"{SM}:GetSecretValue", f"{SM}:DescribeSecret", f"{SM}:ListSecretVersionIds"],
            arns[P]))}),
        "read-by-partial-arn-wildcard": Shape({"alice": doc(allow(
            [f"{SM}:Get*", f"{SM}:Describe*"], prefix + "prod/*"))}),
        "all-by-question-marks": Shape({"alice": doc(allow(f"{SM}:*",
                                                           prefix + "dev/app-??????"))}),
        "all-by-bare-partial-arn": Shape({"alice": doc(allow(f"{SM}:*", arns[P][:-7]))}),
        "all-if-tagged-dev": Shape({"alice": doc(allow(f"{SM}:*", Condition={
            "StringEquals": {f"{SM}:ResourceTag/env": "dev"}}))}),
        "deny-overrides-allow": Shape({"alice": doc(
            allow(f"{SM}:*"), deny([f"{SM}:GetSecretValue", f"{SM}:DeleteSecret"],
                                   prefix + "prod/*"))}),
        "not-action": Shape({"alice": doc({
            "Effect": "Allow", "NotAction": [f"{SM}:Put*", f"{SM}:Delete*", f"{SM}:Tag*",
                                             f"{SM}:Update*"], "Resource": "*"})}),
        "secret-id-by-name-only": Shape({"alice": doc(allow(
            [f"{SM}:GetSecretValue", f"{SM}:DescribeSecret"],
            Condition={"StringEquals": {f"{SM}:SecretId": D}}))}),
        "resource-policy-grants-bob": Shape(resource=doc({
            "Effect": "Allow", "Principal": {"AWS": f"{user}/bob"},
            "Action": [f"{SM}:GetSecretValue", f"{SM}:DescribeSecret"], "Resource": "*"})),
        "resource-policy-denies-alice": Shape({"alice": doc(allow(f"{SM}:*"))}, doc({
            "Effect": "Deny", "Principal": {"AWS": f"{user}/alice"}, "Action": f"{SM}:*",
            "Resource": "*"})),
        "resource-policy-denies-the-account-reads": Shape({"alice": doc(allow(f"{SM}:*"))}, doc({
            "Effect": "Deny", "Principal": {"AWS": ACCOUNT}, "Action": f"{SM}:GetSecretValue",
            "Resource": "*"})),
        "resource-policy-names-only-the-account": Shape(resource=doc({
            "Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": f"{SM}:GetSecretValue",
            "Resource": "*"})),
        "role-policy": Shape({"deployer": doc(allow(f"{SM}:*", prefix + "dev/*"))}),
    }


# ---- expectations -----------------------------------------------------------------------------
Cell = tuple[str, str, str]  # operation, secret name, SecretId form


def cells(operations: Iterable[str], secrets: Iterable[str],
          forms: Iterable[str] = FORMS) -> set[Cell]:
    return {(o, s, f) for o in operations for s in secrets for f in forms}


EVERYTHING = cells(OPERATIONS, (P, D))
ROOT_DEFAULT = {"root": EVERYTHING}

ALLOWED: dict[str, dict[str, set[Cell]]] = {
    "none": ROOT_DEFAULT,
    "all-secretsmanager": {"alice": EVERYTHING, **ROOT_DEFAULT},
    "read-by-full-arn": {
        "alice": cells(("GetSecretValue", "DescribeSecret", "ListSecretVersionIds"), (P,)),
        **ROOT_DEFAULT},
    "read-by-partial-arn-wildcard": {
        "alice": cells(("GetSecretValue", "DescribeSecret", "GetResourcePolicy"), (P,)),
        **ROOT_DEFAULT},
    "all-by-question-marks": {"alice": cells(OPERATIONS, (D,)), **ROOT_DEFAULT},
    "all-by-bare-partial-arn": ROOT_DEFAULT,  # matches no real ARN, as on AWS
    "all-if-tagged-dev": {"alice": cells(OPERATIONS, (D,)), **ROOT_DEFAULT},
    "deny-overrides-allow": {
        "alice": EVERYTHING - cells(("GetSecretValue", "DeleteSecret"), (P,)), **ROOT_DEFAULT},
    "not-action": {"alice": cells(READS, (P, D)), **ROOT_DEFAULT},
    "secret-id-by-name-only": {
        "alice": cells(("GetSecretValue", "DescribeSecret"), (D,), ("name",)), **ROOT_DEFAULT},
    "resource-policy-grants-bob": {
        "bob": cells(("GetSecretValue", "DescribeSecret"), (P,)), **ROOT_DEFAULT},
    "resource-policy-denies-alice": {"alice": cells(OPERATIONS, (D,)), **ROOT_DEFAULT},
    "resource-policy-denies-the-account-reads": {
        "alice": EVERYTHING - cells(("GetSecretValue",), (P,)),
        "root": EVERYTHING - cells(("GetSecretValue",), (P,))},
    "resource-policy-names-only-the-account": ROOT_DEFAULT,  # delegates to identity policies
    "role-policy": {"deployer": cells(OPERATIONS, (D,)), **ROOT_DEFAULT},
}


# ---- running it -------------------------------------------------------------------------------
class Driver(Protocol):
    """One way in (embedded API or HTTP); outcomes are error codes, or None for success."""

    arns: dict[str, str]

    def call(self, principal: str, operation: str, request: dict[str, Any]
             ) -> tuple[str | None, str]: ...

    def apply(self, shape: Shape) -> None: ...

    def restore(self, secret_id: str) -> None: ...


@dataclass
class Mismatch:
    cell: tuple[str, str, str, str]
    expected: str
    got: str


def run_shape(driver: Driver, name: str) -> list[Mismatch]:
    """Every cell of one shape; returns the cells whose outcome differs from the table."""
    driver.apply(shapes(driver.arns)[name])
    allowed = ALLOWED[name]
    mismatches = []
    for principal in PRINCIPALS:
        for operation in OPERATIONS:
            for secret in (P, D):
                for form in FORMS:
                    sent = reference(form, secret, driver.arns)
                    code, message = driver.call(principal, operation,
                                                request_for(operation, sent))
                    expected = (operation, secret, form) in allowed.get(principal, set())
                    got = _classify(code, message, operation, sent)
                    if got == "allowed" and operation == "DeleteSecret":
                        driver.restore(driver.arns[secret])
                    if got != ("allowed" if expected else "denied"):
                        mismatches.append(Mismatch((principal, operation, secret, form),
                                                   "allowed" if expected else "denied", got))
    return mismatches


def _classify(code: str | None, message: str, operation: str, sent: str) -> str:
    if code is None:
        return "allowed"
    if code != "AccessDeniedException":
        return f"failed with {code}: {message}"
    # AWS's shape, naming the SecretId exactly as the caller sent it.
    if f"is not authorized to perform: {SM}:{operation} on resource: {sent} " not in message:
        return f"denied with an unexpected message: {message}"
    return "denied"

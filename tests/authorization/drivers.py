"""The two ways into the ledger the matrix runs through: the embedded API and boto3 over HTTP.

Both set up the same principals and secrets, attach a shape's policies the way an operator
would (identity policies through `Principals`, the resource policy through PutResourcePolicy
as the root or system identity), and report each call as (error code or None, message).
"""
from __future__ import annotations

import re
from typing import Any

import botocore.exceptions

from ledger.application import SecretsLedger
from ledger.context import Caller
from ledger.errors import LedgerError
from ledger.principals import Principals
from tests.authorization.matrix import P, SECRETS, Shape
from tests.server.conftest import make_client

IDENTITY_POLICY = "matrix"
ROOT_ARN = "arn:aws:iam::123456789012:root"


def _tags(name: str) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in SECRETS[name].items()]


def _apply_identity(admin: Principals, shape: Shape) -> None:
    for name in ("alice", "bob", "deployer"):
        principal = admin.find(name)
        if IDENTITY_POLICY in principal.policies:
            admin.delete_policy(name, IDENTITY_POLICY)
        if name in shape.identity:
            admin.put_policy(name, IDENTITY_POLICY, shape.identity[name])


def create_principals(admin: Principals) -> None:
    admin.create("alice")
    admin.create("bob")
    admin.create("deployer", role=True)


class EmbeddedDriver:
    def __init__(self, ledger: SecretsLedger) -> None:
        self.ledger, self.system = ledger, Caller.system()
        self.admin = Principals(ledger)
        create_principals(self.admin)
        self.callers = {name: self.admin.find(name).caller(f"AKIA{name.upper():0>16}")
                        for name in ("alice", "bob", "deployer")}
        self.callers["root"] = Caller(arn=ROOT_ARN, principal_type="Root",
                                      principal_id="123456789012")
        self.arns = {name: ledger.call("CreateSecret", {"Name": name, "SecretString": "v0",
                                                        "Tags": _tags(name)}, self.system)["ARN"]
                     for name in SECRETS}

    def call(self, principal: str, operation: str, request: dict[str, Any]
             ) -> tuple[str | None, str]:
        try:
            self.ledger.call(operation, request, self.callers[principal])
        except LedgerError as error:
            return error.code, error.message
        return None, ""

    def apply(self, shape: Shape) -> None:
        _apply_identity(self.admin, shape)
        if shape.resource is None:
            self.ledger.call("DeleteResourcePolicy", {"SecretId": P}, self.system)
        else:
            self.ledger.call("PutResourcePolicy", {"SecretId": P,
                                                   "ResourcePolicy": shape.resource},
                             self.system)

    def restore(self, secret_id: str) -> None:
        self.ledger.call("RestoreSecret", {"SecretId": secret_id}, self.system)


def snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


class HttpDriver:
    """boto3 clients signed with each principal's own access key; admin changes are written to
    the server's log by a second ledger on the same data directory, as the CLI would."""

    def __init__(self, url: str, admin_ledger: SecretsLedger, root_client: Any) -> None:
        self.admin = Principals(admin_ledger, user_agent="secrets-ledger-cli")
        create_principals(self.admin)
        self.root = root_client
        self.clients = {"root": root_client}
        for name in ("alice", "bob", "deployer"):
            issued = self.admin.issue_key(self.admin.find(name))
            self.clients[name] = make_client(url, key_id=issued.access_key_id,
                                             secret=issued.secret_access_key)
        self.arns = {name: root_client.create_secret(Name=name, SecretString="v0",
                                                     Tags=_tags(name))["ARN"]
                     for name in SECRETS}

    def call(self, principal: str, operation: str, request: dict[str, Any]
             ) -> tuple[str | None, str]:
        try:
            getattr(self.clients[principal], snake(operation))(**request)
        except botocore.exceptions.ClientError as error:
            return error.response["Error"]["Code"], error.response["Error"].get("Message", "")
        return None, ""

    def apply(self, shape: Shape) -> None:
        _apply_identity(self.admin, shape)
        if shape.resource is None:
            self.root.delete_resource_policy(SecretId=P)
        else:
            self.root.put_resource_policy(SecretId=P, ResourcePolicy=shape.resource)

    def restore(self, secret_id: str) -> None:
        self.root.restore_secret(SecretId=secret_id)

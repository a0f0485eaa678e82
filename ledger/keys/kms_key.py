"""Local KMS keys and aliases as aggregates: every key state change is an event in the log."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

ENABLED, DISABLED, PENDING_DELETION = "Enabled", "Disabled", "PendingDeletion"
DELETED = "Deleted"  # its pending window ended: the key material is destroyed, for good
DEFAULT_ALIAS = "alias/aws/secretsmanager"


class KeyCreated(Aggregate.Created):
    context: dict[str, Any]
    key_id: str
    arn: str
    description: str
    key_manager: str  # "AWS" for aws/secretsmanager, "CUSTOMER" otherwise


class KeyStateChanged(Aggregate.Event):
    context: dict[str, Any]
    state: str
    deletion_date: datetime | None

    def apply(self, aggregate: Any) -> None:
        aggregate.state = self.state
        aggregate.deletion_date = self.deletion_date


class KeyPolicyChanged(Aggregate.Event):
    """PutKeyPolicy: `policy` is the key policy's JSON document."""

    context: dict[str, Any]
    policy: str

    def apply(self, aggregate: Any) -> None:
        aggregate.policy = self.policy


class KmsKey(Aggregate):
    @staticmethod
    def id_for(key_id: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/kms-keys/{key_id}")

    @classmethod
    def new(cls, key_id: str, arn: str, description: str, key_manager: str, now: datetime,
            context: dict[str, Any]) -> KmsKey:
        return cls._create(KeyCreated, id=cls.id_for(key_id), timestamp=now, context=context,
                           key_id=key_id, arn=arn, description=description,
                           key_manager=key_manager)

    def __init__(self, key_id: str, arn: str, description: str, key_manager: str) -> None:
        self.key_id, self.arn, self.description = key_id, arn, description
        self.key_manager = key_manager
        self.state = ENABLED
        self.deletion_date: datetime | None = None
        self.policy: str | None = None  # None: KMS's default policy for the key's kind

    @property
    def aws_managed(self) -> bool:
        return self.key_manager == "AWS"

    def deletion_due(self, now: datetime) -> bool:
        return (self.state == PENDING_DELETION and self.deletion_date is not None
                and self.deletion_date <= now)

    def change_state(self, state: str, now: datetime, context: dict[str, Any],
                     deletion_date: datetime | None = None) -> None:
        if state != self.state:
            self.trigger_event(KeyStateChanged, timestamp=now, context=context, state=state,
                               deletion_date=deletion_date)

    def put_policy(self, policy: str, now: datetime, context: dict[str, Any]) -> None:
        if policy != self.policy:
            self.trigger_event(KeyPolicyChanged, timestamp=now, context=context, policy=policy)


class AliasAssigned(Aggregate.Created):
    context: dict[str, Any]
    alias: str
    key_id: str


class AliasRetargeted(Aggregate.Event):
    context: dict[str, Any]
    key_id: str | None

    def apply(self, aggregate: Any) -> None:
        aggregate.key_id = self.key_id


class KeyAlias(Aggregate):
    @staticmethod
    def id_for(alias: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/kms-aliases/{alias}")

    @classmethod
    def assign(cls, alias: str, key_id: str, now: datetime, context: dict[str, Any]) -> KeyAlias:
        return cls._create(AliasAssigned, id=cls.id_for(alias), timestamp=now, context=context,
                           alias=alias, key_id=key_id)

    def __init__(self, alias: str, key_id: str) -> None:
        self.alias = alias
        self.key_id: str | None = key_id

    def retarget(self, key_id: str | None, now: datetime, context: dict[str, Any]) -> None:
        self.trigger_event(AliasRetargeted, timestamp=now, context=context, key_id=key_id)

"""Secret names are unique among live secrets; this index maps a name to the secret holding it.

Its id is derived from the name, so two concurrent creators of one name collide on the index's
first event and only one save succeeds. A finally deleted secret releases its name.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate


class NameRegistered(Aggregate.Created):
    context: dict[str, Any]
    name: str


class NameClaimed(Aggregate.Event):
    context: dict[str, Any]
    secret_id: UUID

    def apply(self, aggregate: Any) -> None:
        aggregate.secret_id = self.secret_id


class NameReleased(Aggregate.Event):
    context: dict[str, Any]

    def apply(self, aggregate: Any) -> None:
        aggregate.secret_id = None


class SecretName(Aggregate):
    @staticmethod
    def id_for(name: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/secret-names/{name}")

    @classmethod
    def register(cls, name: str, now: datetime, context: dict[str, Any]) -> SecretName:
        return cls._create(NameRegistered, id=cls.id_for(name), timestamp=now, context=context,
                           name=name)

    def __init__(self, name: str) -> None:
        self.name = name
        self.secret_id: UUID | None = None

    def claim(self, secret_id: UUID, now: datetime, context: dict[str, Any]) -> None:
        self.trigger_event(NameClaimed, timestamp=now, context=context, secret_id=secret_id)

    def release(self, now: datetime, context: dict[str, Any]) -> None:
        self.trigger_event(NameReleased, timestamp=now, context=context)

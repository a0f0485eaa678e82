"""One record per API call, written in the same transaction as whatever the call changed.

Reads, failed and denied calls, idempotent retries and service actions all get one, so the
audit trail is complete from the log alone. Values never appear: parameters are filtered
through the service model's `sensitive` marks before they reach a context.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import uuid4

from eventsourcing.domain import Aggregate


class ApiCallRecorded(Aggregate.Created):
    context: dict[str, Any]
    event_type: str  # "AwsApiCall" or "AwsServiceEvent"
    read_only: bool
    resources: list[str]
    response: dict[str, Any] | None
    error_code: str | None
    error_message: str | None


class ApiCall(Aggregate):
    @classmethod
    def record(cls, *, context: dict[str, Any], now: datetime, read_only: bool,
               resources: list[str], response: dict[str, Any] | None = None,
               error_code: str | None = None, error_message: str | None = None,
               event_type: str = "AwsApiCall") -> ApiCall:
        # A random id: request ids come from adapters and need not be unique.
        return cls._create(ApiCallRecorded, id=uuid4(), timestamp=now, context=context,
                           event_type=event_type, read_only=read_only, resources=resources,
                           response=response, error_code=error_code, error_message=error_message)

    def __init__(self, event_type: str, read_only: bool, resources: list[str]) -> None:
        self.event_type, self.read_only, self.resources = event_type, read_only, resources


READ_ONLY_OPERATIONS = frozenset({
    "GetSecretValue", "BatchGetSecretValue", "DescribeSecret", "ListSecrets",
    "ListSecretVersionIds", "GetRandomPassword", "GetResourcePolicy",
})

"""What one operation produced: the response, and everything to commit in one transaction."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ledger.context import RequestContext
from ledger.keys.keystore import KeyStoreChanges

if TYPE_CHECKING:
    from ledger.application import SecretsLedger


@dataclass
class Call:
    """One request in flight: the handler's whole world."""

    ledger: SecretsLedger
    request: dict[str, Any]
    context: RequestContext
    now: datetime
    owning_service: str | None = None  # set only by embedding code, never by a request
    attempt: int = 0
    used_stale_state: bool = False

    def service_context(self, operation: str) -> dict[str, Any]:
        """The context of something the ledger does itself while serving this call."""
        config = self.ledger.config
        return RequestContext.service(self.context.request_id, operation, self.context.region,
                                      config.account_id).as_event_field()

    def secret_to_change(self, secret_id: str, missing_ok: bool = False) -> Any:
        """The secret a write will change: on a first attempt, possibly this process's last
        copy (see `SecretsLedger.find_secret`)."""
        stale_ok = self.attempt == 0
        self.used_stale_state = self.used_stale_state or stale_ok
        return self.ledger.find_secret(secret_id, missing_ok=missing_ok, stale_ok=stale_ok)

    @cached_property
    def event_context(self) -> dict[str, Any]:
        return self.context.as_event_field()


@dataclass
class Outcome:
    response: dict[str, Any]
    resources: list[str] = field(default_factory=list)
    aggregates: list[Any] = field(default_factory=list)
    key_changes: KeyStoreChanges = field(default_factory=KeyStoreChanges)
    audit_response: dict[str, Any] | None = None
    reads: list[str] = field(default_factory=list)  # ARNs whose values a batch call returned

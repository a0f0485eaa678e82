"""What one operation produced: the response, and everything to commit in one transaction."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ledger.context import RequestContext
from ledger.errors import SECRET_NOT_FOUND, ResourceNotFoundException
from ledger.keys.keystore import KeyStoreChanges
from ledger.names import secret_arn

if TYPE_CHECKING:
    from ledger.application import SecretsLedger
    from ledger.authorization import Grant


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
    grant: Grant | None = None  # what the caller may do, decided before the handler ran
    resolved: dict[str, Any] = field(default_factory=dict)  # SecretId -> Secret or None

    def service_context(self, operation: str) -> dict[str, Any]:
        """The context of something the ledger does itself while serving this call."""
        config = self.ledger.config
        return RequestContext.service(self.context.request_id, operation, self.context.region,
                                      config.account_id).as_event_field()

    def secret_to_change(self, secret_id: str, missing_ok: bool = False) -> Any:
        """The secret a write will change: on a first attempt, possibly this process's last
        copy (see `SecretsLedger.find_secret`). Resolved once per attempt, so authorization and
        the handler see the same copy."""
        if secret_id not in self.resolved:
            stale_ok = self.attempt == 0 and self.ledger.writes_start_from_copy
            self.used_stale_state = self.used_stale_state or stale_ok
            self.resolved[secret_id] = self.ledger.find_secret(secret_id, missing_ok=True,
                                                               stale_ok=stale_ok)
        return self._found(secret_id, missing_ok)

    def secret_to_read(self, secret_id: str, missing_ok: bool = False) -> Any:
        """The secret a read names, read fresh from the store (once per attempt)."""
        if secret_id not in self.resolved:
            self.resolved[secret_id] = self.ledger.find_secret(secret_id, missing_ok=True)
        return self._found(secret_id, missing_ok)

    def _found(self, secret_id: str, missing_ok: bool) -> Any:
        secret = self.resolved[secret_id]
        if secret is None and not missing_ok:
            raise ResourceNotFoundException(SECRET_NOT_FOUND)
        return secret

    @cached_property
    def planned_arn(self) -> str:
        """The ARN CreateSecret gives the new secret: chosen before the call is authorized, so
        the policies are evaluated against the ARN the secret will really have."""
        return secret_arn(self.context.region, self.ledger.config.account_id,
                          self.request["Name"], self.ledger.rng)

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
    # (SecretId as sent, message) of each secret a batch call was refused: audited one by one
    refused_reads: list[tuple[str, str]] = field(default_factory=list)

"""Who made a request and how: carried on every event so the audit trail needs nothing else."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Caller:
    """An authenticated identity, in CloudTrail's userIdentity terms."""

    arn: str
    access_key_id: str = ""
    principal_type: str = "IAMUser"
    principal_id: str = ""
    account_id: str = "123456789012"

    @property
    def trusted(self) -> bool:
        """True only for an instance `system()` made: policies are not consulted for it.

        The mark is not a field, so it is in no event, no comparison and no copy made with
        `dataclasses.replace`; an identity built field by field, even the root's, is never trusted.
        """
        return bool(self.__dict__.get("_trusted", False))

    @classmethod
    def unauthenticated(cls, access_key_id: str, account_id: str) -> Caller:
        """Whoever sent a request that did not authenticate, known only by the key id it named."""
        return cls(arn="", access_key_id=access_key_id, principal_type="Unknown",
                   account_id=account_id)

    @classmethod
    def system(cls, account_id: str = "123456789012") -> Caller:
        """The trusted identity of the embedding program itself; only code that names it gets it.

        The audit trail records it as the account root (`principal_type` "Root"); adapters that
        use it say so in the user agent (the CLI sends "secrets-ledger-cli").
        """
        caller = cls(arn=f"arn:aws:iam::{account_id}:root", principal_type="Root",
                     principal_id=account_id, account_id=account_id)
        object.__setattr__(caller, "_trusted", True)
        return caller


LEDGER_SERVICE = "secretsmanager.amazonaws.com"


def _plain_copy(value: Any) -> Any:
    """A deep copy of JSON-like data (dicts, lists, tuples of scalars)."""
    if isinstance(value, dict):
        return {key: _plain_copy(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain_copy(item) for item in value)
    return value


@dataclass(frozen=True)
class RequestContext:
    """One API call as the audit trail records it (never with secret values in `parameters`)."""

    request_id: str
    operation: str
    caller: Caller
    region: str
    source_ip: str = "127.0.0.1"
    user_agent: str = "secrets-ledger"
    parameters: dict[str, Any] = field(default_factory=dict)
    # whether the call came over TLS (aws:SecureTransport); None: no connection (embedded)
    secure_transport: bool | None = None

    def as_event_field(self) -> dict[str, Any]:
        """The context as plain data, as `dataclasses.asdict` would give it (spelled out: this
        runs twice per call, and asdict's generic recursion was a tenth of a write's time)."""
        caller = self.caller
        return {"request_id": self.request_id, "operation": self.operation,
                "caller": {"arn": caller.arn, "access_key_id": caller.access_key_id,
                           "principal_type": caller.principal_type,
                           "principal_id": caller.principal_id,
                           "account_id": caller.account_id},
                "region": self.region, "source_ip": self.source_ip,
                "user_agent": self.user_agent, "parameters": _plain_copy(self.parameters),
                "secure_transport": self.secure_transport}

    @classmethod
    def service(cls, request_id: str, operation: str, region: str, account_id: str) -> RequestContext:
        """The ledger acting on its own (version cleanup, end of a recovery window)."""
        caller = Caller(arn=LEDGER_SERVICE, principal_type="AWSService", account_id=account_id)
        return cls(request_id=request_id, operation=operation, caller=caller, region=region,
                   source_ip=LEDGER_SERVICE, user_agent=LEDGER_SERVICE)

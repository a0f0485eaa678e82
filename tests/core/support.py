"""Helpers for the ledger-core tests: tokens and reading the log back."""
from __future__ import annotations

import uuid
from typing import Any

from ledger.application import SecretsLedger
from ledger.calls import ApiCallRecorded
from ledger.context import Caller


def token() -> str:
    """A ClientRequestToken as SDKs make them (a UUID4, 36 characters)."""
    return str(uuid.uuid4())


def notifications(ledger: SecretsLedger) -> list[Any]:
    """Every stored event of the log, in log order."""
    found, start = [], 1
    while True:
        page = ledger.recorder.select_notifications(start=start, limit=500)
        if not page:
            return found
        found.extend(page)
        start = page[-1].id + 1


def events(ledger: SecretsLedger) -> list[Any]:
    """Every event of the log, decoded, in log order."""
    return [ledger.mapper.to_domain_event(note) for note in notifications(ledger)]


def secret_of(ledger: SecretsLedger, secret_id: str) -> Any:
    return ledger.find_secret(secret_id)


def secret_events(ledger: SecretsLedger, secret_id: str) -> list[Any]:
    """The decoded events of one Secret aggregate, in log order."""
    originator = secret_of(ledger, secret_id).id
    return [ledger.mapper.to_domain_event(n) for n in notifications(ledger)
            if n.originator_id == originator]


def event_types(ledger: SecretsLedger, secret_id: str) -> list[str]:
    return [type(e).__name__ for e in secret_events(ledger, secret_id)]


def api_calls(ledger: SecretsLedger) -> list[ApiCallRecorded]:
    return [e for e in events(ledger) if isinstance(e, ApiCallRecorded)]


def stages(ledger: SecretsLedger, caller: Caller, secret_id: str) -> dict[str, list[str]]:
    """VersionId -> sorted labels, for every version including deprecated ones."""
    response = ledger.call("ListSecretVersionIds",
                           {"SecretId": secret_id, "IncludeDeprecated": True}, caller)
    return {v["VersionId"]: sorted(v.get("VersionStages", [])) for v in response["Versions"]}


def value_of(ledger: SecretsLedger, caller: Caller, secret_id: str, **selector: str) -> Any:
    response = ledger.call("GetSecretValue", {"SecretId": secret_id, **selector}, caller)
    return response.get("SecretString", response.get("SecretBinary"))


def admin_context(ledger: SecretsLedger, caller: Caller, operation: str = "CreateKey") -> dict:
    """The context a key-management action (outside the Secrets Manager API) records."""
    from ledger.context import RequestContext
    return RequestContext(request_id=token(), operation=operation, caller=caller,
                          region=ledger.config.region).as_event_field()


def create_key(ledger: SecretsLedger, caller: Caller, alias: str | None = None) -> Any:
    """A customer managed KMS key, optionally with an alias."""
    key = ledger.kms.create_key("test key", ledger.now(), admin_context(ledger, caller))
    if alias:
        ledger.kms.create_alias(alias, key.key_id, ledger.now(),
                                admin_context(ledger, caller, "CreateAlias"))
    return key


def set_key_state(ledger: SecretsLedger, caller: Caller, key: Any, state: str) -> None:
    ledger.kms.set_state(key.key_id, state, ledger.now(),
                         admin_context(ledger, caller, "DisableKey"))


def key_ids(ledger: SecretsLedger, caller: Caller, secret_id: str) -> dict[str, list[str]]:
    """VersionId -> KmsKeyIds, for every version including deprecated ones."""
    response = ledger.call("ListSecretVersionIds",
                           {"SecretId": secret_id, "IncludeDeprecated": True}, caller)
    return {v["VersionId"]: v["KmsKeyIds"] for v in response["Versions"]}

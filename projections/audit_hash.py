"""Was this value ever stored? Answered with keyed fingerprints, never the value itself.

Like Vault's audit-hash: the auditor brings a candidate, the ledger computes its HMAC with every
fingerprint key it still holds, one per secret (in each secret's key record, never in the log),
plus the global key of ledgers from before per-secret keys while it is kept, and the trail is
searched for records carrying any of them. A deleted secret's key went with it: its values can
no longer be recognised, by this command or by anyone holding a copy of the ledger.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ledger.keys import envelope, secret_keys
from projections import lookup

if TYPE_CHECKING:
    from ledger.application import SecretsLedger

STRING, BINARY = "SecretString", "SecretBinary"


def fingerprints_of(ledger: SecretsLedger, value_type: str, data: bytes) -> list[str]:
    """The candidate's fingerprint under each key that can still check one."""
    if value_type not in (STRING, BINARY):
        raise ValueError(f"value_type must be {STRING} or {BINARY}")
    found = []
    legacy = ledger.kms.global_fingerprint_key()
    if legacy is not None:
        found.append(envelope.fingerprint(legacy, value_type, data))
    for secret_hex in ledger.read_models.read_current(_secrets_not_deleted):
        key = ledger.secret_keys.find(secret_hex)
        if key is not None:
            found.append(secret_keys.fingerprint(key, value_type, data))
    return found


def find(ledger: SecretsLedger, fingerprints: list[str]) -> dict[str, Any]:
    """Every audit record carrying one of `fingerprints` (newest first), the versions holding
    one, and the fingerprints that matched."""
    entries: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    matched = []
    for fingerprint in fingerprints:
        found = _records_with(ledger, fingerprint)
        held = ledger.read_models.read_current(lambda c, f=fingerprint: _versions_with(c, f))
        if found or held:
            matched.append(fingerprint)
        entries += found
        versions += held
    entries.sort(key=lambda entry: entry["EventTime"], reverse=True)
    return {"fingerprints": matched, "records": entries, "versions": versions}


def _records_with(ledger: SecretsLedger, fingerprint: str) -> list[dict[str, Any]]:
    query = lookup.Query(attribute=("SecretValueHash", fingerprint))
    entries: list[dict[str, Any]] = []
    token = None
    while True:
        page = ledger.read_models.read_audit(
            lambda cursor: lookup.lookup(cursor, query, lookup.MAX_RESULTS, token))
        entries += page["Events"]
        token = page.get("NextToken")
        if token is None:
            return entries


def _secrets_not_deleted(cursor: Any) -> list[str]:
    cursor.execute("SELECT secret_id FROM cs_secrets WHERE deleted = 0")
    return [row[0] for row in cursor.fetchall()]


def _versions_with(cursor: Any, fingerprint: str) -> list[dict[str, Any]]:
    cursor.execute("SELECT s.arn, v.version_id, s.deleted FROM cs_versions v JOIN cs_secrets s "
                   "ON s.secret_id = v.secret_id WHERE v.fingerprint = ? ORDER BY v.seq",
                   (fingerprint,))
    return [{"secretArn": r[0], "versionId": r[1], "secretDeleted": bool(r[2])}
            for r in cursor.fetchall()]

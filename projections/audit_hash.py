"""Was this value ever stored? Answered with the keyed fingerprint, never the value itself.

Like Vault's audit-hash: the auditor brings a candidate, the ledger computes its HMAC with the
fingerprint key it alone holds (in the key store, not in the log), and the trail is searched for
records carrying that fingerprint. Versions still present are listed as well.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ledger.keys import envelope
from projections import lookup

if TYPE_CHECKING:
    from ledger.application import SecretsLedger

STRING, BINARY = "SecretString", "SecretBinary"


def fingerprint_of(ledger: SecretsLedger, value_type: str, data: bytes) -> str:
    if value_type not in (STRING, BINARY):
        raise ValueError(f"value_type must be {STRING} or {BINARY}")
    return envelope.fingerprint(ledger.kms.audit_hmac_key(), value_type, data)


def find(ledger: SecretsLedger, fingerprint: str) -> dict[str, Any]:
    """Every audit record carrying `fingerprint` (newest first) and the versions holding it."""
    query = lookup.Query(attribute=("SecretValueHash", fingerprint))
    entries: list[dict[str, Any]] = []
    token = None
    while True:
        page = ledger.read_models.read_audit(
            lambda cursor: lookup.lookup(cursor, query, lookup.MAX_RESULTS, token))
        entries += page["Events"]
        token = page.get("NextToken")
        if token is None:
            break
    versions = ledger.read_models.read_current(lambda cursor: _versions_with(cursor, fingerprint))
    return {"fingerprint": fingerprint, "records": entries, "versions": versions}


def _versions_with(cursor: Any, fingerprint: str) -> list[dict[str, Any]]:
    cursor.execute("SELECT s.arn, v.version_id, s.deleted FROM cs_versions v JOIN cs_secrets s "
                   "ON s.secret_id = v.secret_id WHERE v.fingerprint = ? ORDER BY v.seq",
                   (fingerprint,))
    return [{"secretArn": r[0], "versionId": r[1], "secretDeleted": bool(r[2])}
            for r in cursor.fetchall()]

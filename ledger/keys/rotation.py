"""Root key rotation: every key material the root key wraps, re-wrapped under a new root key.

The re-wrapped rows and the RootKeyRotated event (with the audit record of who asked) commit
in one transaction, so a crash leaves the ledger wholly under the old key or wholly under the
new one, never a mix; running the rotation again after a crash finishes it. Rows another
process added meanwhile under the old key are found by the next pass and re-wrapped too;
after the rotation a process still holding the old key refuses to seal new material.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger.calls import ApiCall
from ledger.context import Caller, RequestContext
from ledger.keys import envelope
from ledger.keys.custody import record_custody_change
from ledger.keys.keystore import KeyStoreChanges
from ledger.keys.rootkey import root_key_fingerprint

if TYPE_CHECKING:
    from ledger.application import SecretsLedger

MAX_PASSES = 5


class RotationError(Exception):
    """A rotation that cannot be carried out (message is safe to show)."""


@dataclass(frozen=True)
class Rotation:
    old_fingerprint: str
    new_fingerprint: str
    rewrapped: int  # key material rows re-wrapped, over all passes


def rotate_root_key(ledger: SecretsLedger, old_key: bytes, new_key: bytes, *,
                    operator: str, user_agent: str = "secrets-ledger-cli") -> Rotation:
    old, new = root_key_fingerprint(old_key), root_key_fingerprint(new_key)
    if old == new:
        raise RotationError(f"the new root key is the current one ({old})")
    total = 0
    for _ in range(MAX_PASSES):
        rewrapped = _rewrap(ledger, old_key, new_key)
        if not rewrapped:
            return Rotation(old, new, total)
        context = RequestContext(
            request_id=str(uuid.uuid4()), operation="RotateRootKey",
            caller=Caller.system(ledger.config.account_id), region=ledger.config.region,
            user_agent=user_agent,
            parameters={"OldRootKeyFingerprint": old, "NewRootKeyFingerprint": new,
                        "Operator": operator}).as_event_field()
        now = ledger.now()
        record = ApiCall.record(context=context, now=now, read_only=False, resources=[],
                                response={"RewrappedKeyMaterials": len(rewrapped)})
        record_custody_change(ledger.save, ledger.repository, now, context,
                              lambda c: c.root_rotated(old, new, len(rewrapped), now, context),
                              record, key_changes=KeyStoreChanges(rewrapped=rewrapped))
        total += len(rewrapped)
    raise RotationError("key material kept being added under the old root key; stop every "
                        "server on this ledger and run the rotation again")


def _rewrap(ledger: SecretsLedger, old_key: bytes,
            new_key: bytes) -> dict[str, tuple[bytes, bytes]]:
    """name -> (wrapped, re-wrapped) for every row still under the old key."""
    rewrapped: dict[str, tuple[bytes, bytes]] = {}
    for name, wrapped in ledger.key_store.all_materials().items():
        context = ledger.kms.material_context(name)
        try:
            material = envelope.open_sealed(old_key, wrapped, context)
        except envelope.SealBroken:
            if envelope.opens(new_key, wrapped, context):
                continue  # re-wrapped by an earlier pass
            raise RotationError(f"key material {name} opens with neither root key; "
                                "nothing was changed") from None
        rewrapped[name] = (wrapped, envelope.seal(new_key, material, context))
    return rewrapped

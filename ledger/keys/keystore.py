"""The mutable key store beside the immutable log.

Wrapped data keys live here, not in events, so a version or a whole secret can be made
unreadable forever (crypto-shredding) by deleting rows, without touching the log. Changes are
handed to the event recorder and written in the same transaction as the events they go with.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class DataKey:
    key_arn: str
    wrapped: bytes

    def __repr__(self) -> str:
        return f"DataKey(key_arn={self.key_arn!r})"


@dataclass
class KeyStoreChanges:
    """Key store writes that must commit atomically with one save of events."""

    materials: dict[str, bytes] = field(default_factory=dict)  # name -> wrapped material
    data_keys: dict[tuple[str, str], DataKey] = field(default_factory=dict)  # (secret, version)
    shred_versions: list[tuple[str, str]] = field(default_factory=list)
    shred_secrets: list[str] = field(default_factory=list)
    shred_materials: list[str] = field(default_factory=list)  # names of materials to destroy
    # name -> (wrapped now, wrapped anew): a root key rotation; a row that changed meanwhile
    # is left alone (and found again by the rotation's next pass)
    rewrapped: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.materials or self.data_keys or self.shred_versions or self.shred_secrets
                    or self.shred_materials or self.rewrapped)

    @classmethod
    def combined(cls, batch: list[KeyStoreChanges]) -> KeyStoreChanges:
        """Several saves' changes as one, for saves that share a transaction. A clash (two
        saves creating one material) makes that transaction fail, and each save is retried
        alone."""
        total = cls()
        for changes in batch:
            total.materials.update(changes.materials)
            total.data_keys.update(changes.data_keys)
            total.shred_versions += changes.shred_versions
            total.shred_secrets += changes.shred_secrets
            total.shred_materials += changes.shred_materials
            total.rewrapped.update(changes.rewrapped)
        return total


class KeyStore(Protocol):
    def material(self, name: str) -> bytes | None: ...

    def data_key(self, secret_id: str, version_id: str) -> DataKey | None: ...

    def put_material_if_absent(self, name: str, wrapped: bytes) -> bytes: ...

    def all_materials(self) -> dict[str, bytes]: ...

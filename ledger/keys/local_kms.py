"""A local KMS: symmetric keys by id, ARN, alias or alias ARN, and data keys bound to a context.

Key material is wrapped by the root key and kept in the key store; key states and aliases are
events. Only Enabled keys do cryptography: others fail as EncryptionFailure on writes and
DecryptionFailure on reads, with messages naming the key and its state, never a value.
"""
from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from ledger.errors import DecryptionFailure, EncryptionFailure
from ledger.keys import envelope
from ledger.keys.custody import load_custody
from ledger.keys.keystore import KeyStore, KeyStoreChanges
from ledger.keys.rootkey import RootKeyRetired, root_key_fingerprint
from ledger.loading import load
from ledger.keys.kms_key import (
    DEFAULT_ALIAS, DELETED, ENABLED, AliasAssigned, KeyAlias, KeyCreated, KmsKey,
)

Save = Callable[..., Any]
STATE_FRESHNESS = 1.0  # seconds
GLOBAL_FINGERPRINT_KEY = "audit-hmac"


class UnknownKey(Exception):
    pass


class LocalKms:
    def __init__(self, repository: Repository, key_store: KeyStore, root_key: bytes, region: str,
                 account_id: str, save: Save) -> None:
        self._repository, self._key_store, self._root_key = repository, key_store, root_key
        self._fingerprint = root_key_fingerprint(root_key)
        self.region, self.account_id, self._save = region, account_id, save
        self._materials: dict[str, bytes] = {}
        self._default_key_id: str | None = None
        self._recent: dict[str, tuple[float, KmsKey]] = {}
        self._lock = threading.Lock()

    # ---- naming ---------------------------------------------------------------------------
    def key_arn(self, key_id: str) -> str:
        return f"arn:aws:kms:{self.region}:{self.account_id}:key/{key_id}"

    def _alias_arn(self, alias: str) -> str:
        return f"arn:aws:kms:{self.region}:{self.account_id}:{alias}"

    def _key_id_of(self, identifier: str) -> str:
        """Key id, key ARN, alias name or alias ARN -> key id."""
        if identifier.startswith("arn:"):
            resource = identifier.split(":", 5)[-1]
            if resource.startswith("key/"):
                return resource[4:]
            identifier = resource
        if identifier == DEFAULT_ALIAS and self._default_key_id:
            return self._default_key_id  # the AWS managed alias never moves
        if identifier.startswith("alias/"):
            try:
                alias: KeyAlias = load(self._repository, KeyAlias.id_for(identifier), for_update=False)
            except AggregateNotFoundError:
                raise UnknownKey(identifier) from None
            if alias.key_id is None:
                raise UnknownKey(identifier)
            if identifier == DEFAULT_ALIAS:
                self._default_key_id = alias.key_id
            return alias.key_id
        return identifier

    def find(self, identifier: str, for_update: bool = False) -> KmsKey:
        """A key by any of its names. Read-only lookups may reuse a copy read in the last
        STATE_FRESHNESS seconds: a state change made by another ledger process takes effect
        within that time (KMS's own key-state changes are eventually consistent too); changes
        made through this process take effect at once."""
        key_id = self._key_id_of(identifier)
        if not for_update:
            with self._lock:
                recent = self._recent.get(key_id)
            if recent is not None and recent[0] > time.monotonic():
                return recent[1]
        try:
            key: KmsKey = load(self._repository, KmsKey.id_for(key_id), for_update=for_update)
        except AggregateNotFoundError:
            raise UnknownKey(identifier) from None
        if key.state == DELETED:
            raise UnknownKey(identifier)  # as in KMS: a deleted key no longer exists
        if not for_update:
            with self._lock:
                self._recent[key_id] = (time.monotonic() + STATE_FRESHNESS, key)
        return key

    # ---- keys -----------------------------------------------------------------------------
    def key_for_secret(self, kms_key_id: str | None, now: datetime,
                       context: dict[str, Any]) -> KmsKey:
        """The key a secret's new versions use; None or "" is aws/secretsmanager."""
        if kms_key_id:
            try:
                return self.find(kms_key_id)
            except UnknownKey:
                if kms_key_id not in (DEFAULT_ALIAS, self._alias_arn(DEFAULT_ALIAS)):
                    raise EncryptionFailure(
                        f"Secrets Manager can't find the specified KMS key {kms_key_id}."
                    ) from None
        return self.default_key(now, context)  # named or not, created on first use

    def default_key(self, now: datetime, context: dict[str, Any]) -> KmsKey:
        for _ in range(5):
            try:
                return self.find(DEFAULT_ALIAS)
            except UnknownKey:
                pass
            try:
                return self.create_key("Default key that protects my Secrets Manager data when no "
                                       "other key is defined", now, context, "AWS", DEFAULT_ALIAS)
            except IntegrityError:
                continue  # another writer created it first
        return self.find(DEFAULT_ALIAS)

    def default_key_arn(self) -> str | None:
        """The AWS managed key's ARN, without creating it."""
        try:
            return self.find(DEFAULT_ALIAS).arn
        except UnknownKey:
            return None

    def create_key(self, description: str, now: datetime, context: dict[str, Any],
                   key_manager: str = "CUSTOMER", alias: str | None = None) -> KmsKey:
        key_id = str(uuid.uuid4())
        key = KmsKey.new(key_id, self.key_arn(key_id), description, key_manager, now, context)
        wrapped = self._seal_new(envelope.new_key(), key.arn.encode())
        aggregates: list[Any] = [key]
        if alias:
            aggregates.append(KeyAlias.assign(alias, key_id, now, context))
        self._save(*aggregates, key_changes=KeyStoreChanges(materials={_material_name(key_id): wrapped}))
        return key

    def set_state(self, identifier: str, state: str, now: datetime, context: dict[str, Any],
                  deletion_date: datetime | None = None) -> KmsKey:
        key = self.find(identifier, for_update=True)
        key.change_state(state, now, context, deletion_date)
        self._save(key)
        with self._lock:
            self._recent.pop(key.key_id, None)
        return key

    def delete_if_due(self, key_id: str, now: datetime, context: dict[str, Any],
                      *also: Any) -> bool:
        """End a key's pending window if it has passed: the state change and the destruction
        of its material commit together (with `also`, e.g. the call's audit record), so every
        version it protects becomes unreadable from any copy of the log. As in KMS, the key's
        aliases go with it (they point nowhere, and may be given to another key)."""
        key: KmsKey = load(self._repository, KmsKey.id_for(key_id), for_update=True)
        if not key.deletion_due(now):
            return False  # cancelled since it was listed
        key.change_state(DELETED, now, context, key.deletion_date)
        aliases = [load(self._repository, alias.id) for alias in self.all_aliases()
                   if alias.key_id == key_id]  # private copies of the ones that change
        for alias in aliases:
            alias.retarget(None, now, context)
        self._save(key, *aliases, *also, key_changes=KeyStoreChanges(
            shred_materials=[_material_name(key.key_id)]))
        with self._lock:
            self._recent.pop(key.key_id, None)
            self._materials.pop(key.key_id, None)
        return True

    def create_alias(self, alias: str, identifier: str, now: datetime,
                     context: dict[str, Any]) -> None:
        key = self.find(identifier)
        self._save(KeyAlias.assign(alias, key.key_id, now, context))

    def put_key_policy(self, identifier: str, policy: str, now: datetime,
                       context: dict[str, Any]) -> KmsKey:
        """Replace a customer managed key's policy (the caller has validated the document)."""
        key = self.find(identifier, for_update=True)
        if key.aws_managed:
            raise UnknownKey(f"{identifier} is AWS managed; its key policy cannot be changed")
        key.put_policy(policy, now, context)
        self._save(key)
        with self._lock:
            self._recent.pop(key.key_id, None)
        return key

    def all_keys(self) -> list[KmsKey]:
        """Every key, oldest first (admin listings and the purge: reads every key's history)."""
        return self._all_created(KeyCreated)

    def all_aliases(self) -> list[KeyAlias]:
        """Every alias ever assigned, oldest first; a deleted key's aliases point nowhere."""
        return self._all_created(AliasAssigned)

    def _all_created(self, created: type) -> list[Any]:
        found, start = [], 0
        topic = get_topic(created)
        while True:
            notes = self._repository.event_store.recorder.select_notifications(
                start=start, limit=1000, topics=[topic], inclusive_of_start=False)
            if not notes:
                return found
            found.extend(load(self._repository, note.originator_id, for_update=False)
                         for note in notes)
            start = notes[-1].id

    # ---- cryptography ---------------------------------------------------------------------
    def _material(self, key: KmsKey) -> bytes:
        with self._lock:
            cached = self._materials.get(key.key_id)
        if cached is not None:
            return cached
        wrapped = self._key_store.material(_material_name(key.key_id))
        if wrapped is None:
            raise envelope.SealBroken()
        material = envelope.open_sealed(self._root_key, wrapped, key.arn.encode())
        with self._lock:
            self._materials[key.key_id] = material
        return material

    def generate_data_key(self, key: KmsKey, context: dict[str, str]) -> tuple[bytes, bytes]:
        """A fresh data key and its wrapped form, bound to the encryption context."""
        if key.state != ENABLED:
            raise EncryptionFailure(f"The KMS key {key.arn} is {key.state} and can't be used to "
                                    "encrypt the secret value.")
        data_key = envelope.new_key()
        return data_key, envelope.seal(self._material(key), data_key, envelope.context_aad(context))

    def decrypt_data_key(self, key_arn: str, wrapped: bytes, context: dict[str, str]) -> bytes:
        try:
            key = self.find(key_arn)
        except UnknownKey:
            raise DecryptionFailure(f"The KMS key {key_arn} is not available.") from None
        if key.state != ENABLED:
            raise DecryptionFailure(f"The KMS key {key.arn} is {key.state} and can't be used to "
                                    "decrypt the secret value.")
        try:
            return envelope.open_sealed(self._material(key), wrapped, envelope.context_aad(context))
        except envelope.SealBroken:
            raise DecryptionFailure("Secrets Manager can't decrypt the protected secret text "
                                    "using the provided KMS key.") from None

    def wrap_for(self, key: KmsKey, data_key: bytes, context: dict[str, str]) -> bytes:
        if key.state != ENABLED:
            raise EncryptionFailure(f"The KMS key {key.arn} is {key.state} and can't be used to "
                                    "encrypt the secret value.")
        return envelope.seal(self._material(key), data_key, envelope.context_aad(context))

    def global_fingerprint_key(self) -> bytes | None:
        """The fingerprint key of ledgers from before per-secret keys, kept only to check the
        fingerprints of versions written then; None on newer ledgers and once retired."""
        with self._lock:
            cached = self._materials.get(GLOBAL_FINGERPRINT_KEY)
        if cached is not None:
            return cached
        wrapped = self._key_store.material(GLOBAL_FINGERPRINT_KEY)
        if wrapped is None:
            return None
        key = envelope.open_sealed(self._root_key, wrapped, GLOBAL_FINGERPRINT_KEY.encode())
        with self._lock:
            self._materials[GLOBAL_FINGERPRINT_KEY] = key
        return key

    def forget_global_fingerprint_key(self) -> None:
        with self._lock:
            self._materials.pop(GLOBAL_FINGERPRINT_KEY, None)

    def wrap_material(self, name: str, material: bytes) -> bytes:
        """Seal other key material (e.g. access-key secrets) under the root key, bound to `name`."""
        return self._seal_new(material, name.encode())

    def _seal_new(self, material: bytes, context: bytes) -> bytes:
        """Seal new key material, unless the root key was rotated since this process opened
        the ledger (what it sealed now would open only with the retired key)."""
        custody = load_custody(self._repository)
        if custody is not None and custody.root_fingerprint not in (None, self._fingerprint):
            raise RootKeyRetired(f"the root key this process holds ({self._fingerprint}) was "
                                 f"rotated to {custody.root_fingerprint}; restart it with the "
                                 "new root key")
        return envelope.seal(self._root_key, material, context)

    def unwrap_material(self, name: str, wrapped: bytes) -> bytes:
        return envelope.open_sealed(self._root_key, wrapped, name.encode())

    def material_context(self, name: str) -> bytes:
        """What a key-store row named `name` was sealed with as associated data: a KMS key's
        material is bound to its ARN, every other material to its own name."""
        if name.startswith("kms:"):
            key: KmsKey = load(self._repository, KmsKey.id_for(name[4:]), for_update=False)
            return key.arn.encode()
        return name.encode()


def _material_name(key_id: str) -> str:
    return f"kms:{key_id}"

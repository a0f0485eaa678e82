"""Administration of the local KMS keys: create, disable, enable, schedule deletion, aliases and
key policies, each an event on the key's (or alias's) stream with the context of who did it.

Not reachable over the Secrets Manager API: the CLI and embedding code run it as the system
identity, and the context says so. Key states follow KMS: only an Enabled key does cryptography;
a key pending deletion must have its deletion cancelled (which leaves it Disabled) before it can
be enabled again.
"""
from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from ledger.calls import ApiCall
from ledger.context import Caller, RequestContext
from ledger.errors import MalformedPolicyDocumentException
from ledger.keys.kms_key import DISABLED, ENABLED, PENDING_DELETION, KeyAlias, KmsKey
from ledger.keys.keystore import KeyStoreChanges
from ledger.keys.local_kms import GLOBAL_FINGERPRINT_KEY, UnknownKey
from ledger.loading import load
from ledger.policies import PolicyKind, parse_policy
from ledger.policies.key_policies import default_key_policy_json, managed_key_policy_json

if TYPE_CHECKING:
    from ledger.application import SecretsLedger

ALIAS_PATTERN = re.compile(r"alias/[a-zA-Z0-9/_-]{1,250}")
RESERVED_ALIAS_PREFIX = "alias/aws/"


class KeyAdminError(Exception):
    """A key administration request that cannot be carried out (message is safe to show)."""


class KeyAdmin:
    def __init__(self, ledger: SecretsLedger, user_agent: str = "secrets-ledger",
                 caller: Caller | None = None) -> None:
        self.ledger, self.kms = ledger, ledger.kms
        self.user_agent = user_agent
        self.caller = caller or Caller.system(ledger.config.account_id)

    def _context(self, operation: str) -> dict[str, Any]:
        return RequestContext(request_id=str(uuid.uuid4()), operation=operation,
                              caller=self.caller, region=self.ledger.config.region,
                              source_ip="127.0.0.1", user_agent=self.user_agent).as_event_field()

    def key(self, identifier: str) -> KmsKey:
        try:
            return self.kms.find(identifier, for_update=True)
        except UnknownKey:
            raise KeyAdminError(f"No KMS key {identifier}.") from None

    def keys(self) -> list[KmsKey]:
        return self.kms.all_keys()

    def retire_fingerprint_key(self) -> bool:
        """Destroy the global fingerprint key of a ledger from before per-secret keys (False if
        there is none). Afterwards no one, `audit hash` included, can recognise the values of
        versions written before the upgrade from their fingerprints; retries of those writes
        are checked by opening the version instead. Recorded in the audit trail."""
        if self.kms.global_fingerprint_key() is None:
            return False
        record = ApiCall.record(context=self._context("RetireFingerprintKey"),
                                now=self.ledger.now(), read_only=False, resources=[])
        self.ledger.save(record, key_changes=KeyStoreChanges(
            shred_materials=[GLOBAL_FINGERPRINT_KEY]))
        self.kms.forget_global_fingerprint_key()
        return True

    def create(self, description: str = "", alias: str | None = None,
               policy: str | Mapping[str, Any] | None = None) -> KmsKey:
        """A customer managed key, optionally with an alias and a key policy of its own."""
        freed = None  # an alias a deleted key left behind, pointing nowhere: it may be reused
        if alias is not None:
            self._check_alias(alias)
            existing = self._alias(alias)
            if existing is not None and existing.key_id is not None:
                raise KeyAdminError(f"The alias {alias} already exists.")
            freed = existing
        text = self._policy_text(policy) if policy is not None else None
        try:
            key = self.kms.create_key(description, self.ledger.now(), self._context("CreateKey"),
                                      alias=alias if freed is None else None)
        except IntegrityError:
            raise KeyAdminError(f"The alias {alias} already exists.") from None
        if freed is not None:
            freed.retarget(key.key_id, self.ledger.now(), self._context("UpdateAlias"))
            self.ledger.save(freed)
        if text is not None:
            key = self.kms.put_key_policy(key.key_id, text, self.ledger.now(),
                                          self._context("PutKeyPolicy"))
        return key

    def disable(self, identifier: str) -> KmsKey:
        key = self._customer_key(identifier)
        if key.state == PENDING_DELETION:
            raise KeyAdminError(f"{key.arn} is pending deletion.")
        return self._set_state(key, DISABLED, "DisableKey")

    def enable(self, identifier: str) -> KmsKey:
        key = self._customer_key(identifier)
        if key.state == PENDING_DELETION:
            raise KeyAdminError(f"{key.arn} is pending deletion; cancel the deletion first.")
        return self._set_state(key, ENABLED, "EnableKey")

    def schedule_deletion(self, identifier: str, pending_days: int = 30) -> KmsKey:
        if not 7 <= pending_days <= 30:
            raise KeyAdminError("The pending window is 7 to 30 days.")
        key = self._customer_key(identifier)
        deletion_date = self.ledger.now() + timedelta(days=pending_days)
        return self._set_state(key, PENDING_DELETION, "ScheduleKeyDeletion", deletion_date)

    def cancel_deletion(self, identifier: str) -> KmsKey:
        key = self._customer_key(identifier)
        if key.state != PENDING_DELETION:
            raise KeyAdminError(f"{key.arn} is not pending deletion.")
        if key.deletion_due(self.ledger.now()):
            raise KeyAdminError(f"The pending window of {key.arn} has ended; it is being deleted.")
        return self._set_state(key, DISABLED, "CancelKeyDeletion")

    def alias(self, alias: str, identifier: str) -> KeyAlias:
        """Point `alias` at a key: a new alias, or an existing one moved to another key."""
        self._check_alias(alias)
        key = self.key(identifier)
        existing = self._alias(alias)
        if existing is None:
            created = KeyAlias.assign(alias, key.key_id, self.ledger.now(),
                                      self._context("CreateAlias"))
            self.ledger.save(created)
            return created
        existing.retarget(key.key_id, self.ledger.now(), self._context("UpdateAlias"))
        self.ledger.save(existing)
        return existing

    def put_policy(self, identifier: str, policy: str | Mapping[str, Any]) -> KmsKey:
        key = self._customer_key(identifier)
        text = self._policy_text(policy)
        return self.kms.put_key_policy(key.key_id, text, self.ledger.now(),
                                       self._context("PutKeyPolicy"))

    def get_policy(self, identifier: str) -> str:
        """The key's policy document: its own, else the default KMS gives a key of its kind."""
        key = self.key(identifier)
        if key.policy:
            return key.policy
        return json.dumps(_raw_default(self.ledger, key))

    # ---- helpers --------------------------------------------------------------------------
    def _customer_key(self, identifier: str) -> KmsKey:
        key = self.key(identifier)
        if key.aws_managed:
            raise KeyAdminError(f"{key.arn} is AWS managed and cannot be changed.")
        return key

    def _set_state(self, key: KmsKey, state: str, operation: str,
                   deletion_date: Any = None) -> KmsKey:
        return self.kms.set_state(key.key_id, state, self.ledger.now(), self._context(operation),
                                  deletion_date)

    def _alias(self, alias: str) -> KeyAlias | None:
        try:
            return load(self.ledger.repository, KeyAlias.id_for(alias))
        except AggregateNotFoundError:
            return None

    @staticmethod
    def _check_alias(alias: str) -> None:
        if not ALIAS_PATTERN.fullmatch(alias):
            raise KeyAdminError("An alias is 'alias/' and then letters, digits, '/', '_' or '-'.")
        if alias.startswith(RESERVED_ALIAS_PREFIX):
            raise KeyAdminError("Aliases starting with 'alias/aws/' are reserved for AWS.")

    @staticmethod
    def _policy_text(policy: str | Mapping[str, Any]) -> str:
        text = policy if isinstance(policy, str) else json.dumps(policy)
        try:
            parse_policy(text, PolicyKind.KEY, name="key policy")
        except MalformedPolicyDocumentException as error:
            raise KeyAdminError(error.message) from None
        return text


def _raw_default(ledger: SecretsLedger, key: KmsKey) -> dict[str, Any]:
    """The policy KMS gives a key of this kind when none was put (for display)."""
    if key.aws_managed:
        return managed_key_policy_json(ledger.config.account_id, ledger.kms.region)
    return default_key_policy_json(ledger.config.account_id)

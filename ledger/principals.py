"""Who may call the ledger: principals (users, roles, the account root) and their access keys.

Both are aggregates in the ledger's own log, so "who was granted access, when, by whom" is
answered from events like every other question: a principal's identity policies are
`PolicyPut`/`PolicyDeleted` events on its own stream, so `repository.get(id, version=n)` shows
exactly what it was allowed at any point, and each event's context names who changed it.

A secret access key never enters an event: it is wrapped by the root key and kept in the key
store, written in the same transaction as the event that issues it, and destroyed with the event
that deletes the key.

An `AccessKey` aggregate, keyed by uuid5 of its id, doubles as the index from access key id to
principal, so authenticating a request costs one stream read and one key-store read.
"""
from __future__ import annotations

import hmac
import json
import re
import secrets
import string
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from ledger.context import Caller, RequestContext
from ledger.errors import MalformedPolicyDocumentException
from ledger.keys.keystore import KeyStoreChanges
from ledger.policies import PolicyKind, parse_policy

if TYPE_CHECKING:
    from ledger.application import SecretsLedger

ROOT, USER, ROLE = "Root", "IAMUser", "Role"
ROOT_NAME = "root"
NAME_PATTERN = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
POLICY_NAME_PATTERN = re.compile(r"[\w+=,.@-]{1,128}", re.ASCII)
IDENTITY_POLICY_MAX_CHARS = 10240  # IAM's limit on a role's inline policies together
KEY_ID_PATTERN = re.compile(r"[A-Z0-9]{16,128}")
_UPPER_ALNUM = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"
CREDENTIALS_FRESHNESS = 1.0  # seconds an access-key lookup may be reused


class PrincipalError(Exception):
    """A principal or access-key request that cannot be carried out (message is safe to show)."""


# ---- events ---------------------------------------------------------------------------------
class PrincipalCreated(Aggregate.Created):
    context: dict[str, Any]
    name: str
    arn: str
    principal_type: str
    principal_id: str
    account_id: str


class AccessKeyIssued(Aggregate.Event):
    context: dict[str, Any]
    access_key_id: str

    def apply(self, aggregate: Any) -> None:
        aggregate.access_keys[self.access_key_id] = True
        aggregate.issued_by[self.access_key_id] = self.context.get("user_agent", "")


class AccessKeyWithdrawn(Aggregate.Event):
    context: dict[str, Any]
    access_key_id: str

    def apply(self, aggregate: Any) -> None:
        aggregate.access_keys[self.access_key_id] = False


class RootKeyReplaced(Aggregate.Event):
    """The root's configured key pair changed: `replaced_key_ids` (withdrawn by the same save)
    gave way to `access_key_id`. The context says who and when; no secret is recorded."""

    context: dict[str, Any]
    access_key_id: str
    replaced_key_ids: list[str]

    def apply(self, aggregate: Any) -> None:
        pass  # the AccessKeyWithdrawn events of the same save change the state


class PolicyPut(Aggregate.Event):
    """An identity policy attached (or replaced) under `policy_name`; `document` is its JSON."""

    context: dict[str, Any]
    policy_name: str
    document: str

    def apply(self, aggregate: Any) -> None:
        aggregate.policies[self.policy_name] = self.document


class PolicyDeleted(Aggregate.Event):
    context: dict[str, Any]
    policy_name: str

    def apply(self, aggregate: Any) -> None:
        aggregate.policies.pop(self.policy_name, None)


class PrincipalDeleted(Aggregate.Event):
    """The principal ends: its policies go with it (its keys are deleted in the same save)."""

    context: dict[str, Any]

    def apply(self, aggregate: Any) -> None:
        aggregate.deleted = True
        aggregate.policies = {}


class PrincipalRecreated(Aggregate.Event):
    """A deleted name used again: a new principal id and no policies, as IAM gives a new user."""

    context: dict[str, Any]
    principal_id: str

    def apply(self, aggregate: Any) -> None:
        aggregate.deleted = False
        aggregate.principal_id = self.principal_id
        aggregate.policies = {}


class AccessKeyRegistered(Aggregate.Created):
    context: dict[str, Any]
    access_key_id: str
    principal_arn: str
    principal_type: str
    principal_id: str
    account_id: str


class AccessKeyDeleted(Aggregate.Event):
    context: dict[str, Any]

    def apply(self, aggregate: Any) -> None:
        aggregate.active = False


# ---- aggregates -----------------------------------------------------------------------------
class Principal(Aggregate):
    """A user, role or the account root; one stream per ARN, so a name is taken only once."""

    @staticmethod
    def id_for(arn: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/principals/{arn}")

    @classmethod
    def new(cls, name: str, arn: str, principal_type: str, principal_id: str, account_id: str,
            now: datetime, context: dict[str, Any]) -> Principal:
        return cls._create(PrincipalCreated, id=cls.id_for(arn), timestamp=now, context=context,
                           name=name, arn=arn, principal_type=principal_type,
                           principal_id=principal_id, account_id=account_id)

    def __init__(self, name: str, arn: str, principal_type: str, principal_id: str,
                 account_id: str) -> None:
        self.name, self.arn, self.principal_type = name, arn, principal_type
        self.principal_id, self.account_id = principal_id, account_id
        self.access_keys: dict[str, bool] = {}  # access key id -> active
        self.issued_by: dict[str, str] = {}  # access key id -> user agent that issued it
        self.policies: dict[str, str] = {}  # identity policy name -> JSON document
        self.deleted = False

    def caller(self, access_key_id: str = "") -> Caller:
        return Caller(arn=self.arn, access_key_id=access_key_id, principal_type=self.principal_type,
                      principal_id=self.principal_id, account_id=self.account_id)


class AccessKey(Aggregate):
    """One access key and the principal it belongs to: the lookup a request's signature needs."""

    @staticmethod
    def id_for(access_key_id: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/access-keys/{access_key_id}")

    @classmethod
    def register(cls, access_key_id: str, principal: Principal, now: datetime,
                 context: dict[str, Any]) -> AccessKey:
        return cls._create(AccessKeyRegistered, id=cls.id_for(access_key_id), timestamp=now,
                           context=context, access_key_id=access_key_id,
                           principal_arn=principal.arn, principal_type=principal.principal_type,
                           principal_id=principal.principal_id, account_id=principal.account_id)

    def __init__(self, access_key_id: str, principal_arn: str, principal_type: str,
                 principal_id: str, account_id: str) -> None:
        self.access_key_id, self.principal_arn = access_key_id, principal_arn
        self.principal_type, self.principal_id, self.account_id = (principal_type, principal_id,
                                                                   account_id)
        self.active = True

    @property
    def material_name(self) -> str:
        return material_name(self.access_key_id)

    def caller(self) -> Caller:
        return Caller(arn=self.principal_arn, access_key_id=self.access_key_id,
                      principal_type=self.principal_type, principal_id=self.principal_id,
                      account_id=self.account_id)


def material_name(access_key_id: str) -> str:
    return f"access-key:{access_key_id}"


@dataclass(frozen=True)
class IssuedKey:
    """A newly issued key pair: shown to its owner once, never stored in this form."""

    access_key_id: str
    secret_access_key: str
    principal_arn: str

    def __repr__(self) -> str:
        return f"IssuedKey({self.access_key_id!r}, principal_arn={self.principal_arn!r})"


# ---- the service ----------------------------------------------------------------------------
class Principals:
    """Principals and access keys of one ledger; every change is saved as events."""

    def __init__(self, ledger: SecretsLedger, user_agent: str = "secrets-ledger") -> None:
        self.ledger = ledger
        self.account_id = ledger.config.account_id
        self.user_agent = user_agent  # recorded in every change's context (the CLI names itself)

    # naming
    def arn_for(self, name: str, role: bool = False) -> str:
        if name == ROOT_NAME and not role:
            return f"arn:aws:iam::{self.account_id}:root"
        return f"arn:aws:iam::{self.account_id}:{'role' if role else 'user'}/{name}"

    def _context(self, operation: str, caller: Caller | None) -> dict[str, Any]:
        caller = caller or Caller.system(self.account_id)
        return RequestContext(request_id=str(uuid.uuid4()), operation=operation, caller=caller,
                              region=self.ledger.config.region, source_ip="127.0.0.1",
                              user_agent=self.user_agent).as_event_field()

    # reads
    def get(self, arn: str) -> Principal | None:
        try:
            return self.ledger.repository.get(Principal.id_for(arn))
        except AggregateNotFoundError:
            return None

    def find(self, name: str) -> Principal:
        """A principal by name ("root", a user name, or a role name) or by ARN."""
        arns = [name] if name.startswith("arn:") else [self.arn_for(name), self.arn_for(name, True)]
        for arn in arns:
            principal = self.get(arn)
            if principal is not None and not principal.deleted:
                return principal
        raise PrincipalError(f"No principal named {name}.")

    def all(self) -> list[Principal]:
        topic, found, start = get_topic(PrincipalCreated), [], 0
        recorder = self.ledger.recorder
        while True:
            notes = recorder.select_notifications(start=start, limit=1000, topics=[topic],
                                                  inclusive_of_start=False)
            if not notes:
                return found
            found.extend(p for p in (self.ledger.repository.get(n.originator_id) for n in notes)
                         if not p.deleted)
            start = notes[-1].id

    def access_key(self, access_key_id: str) -> AccessKey | None:
        try:
            return self.ledger.repository.get(AccessKey.id_for(access_key_id))
        except AggregateNotFoundError:
            return None

    def credentials(self, access_key_id: str) -> tuple[Caller, str] | None:
        """The caller and secret for an active access key id, or None if it is unknown."""
        if not KEY_ID_PATTERN.fullmatch(access_key_id):
            return None
        key = self.access_key(access_key_id)
        if key is None or not key.active:
            return None
        wrapped = self.ledger.key_store.material(key.material_name)
        if wrapped is None:
            return None
        secret = self.ledger.kms.unwrap_material(key.material_name, wrapped)
        return key.caller(), secret.decode("utf-8")

    # writes
    def create(self, name: str, role: bool = False, caller: Caller | None = None) -> Principal:
        if name == ROOT_NAME and not role:
            return self.ensure_root(caller)
        if not NAME_PATTERN.fullmatch(name):
            raise PrincipalError("A principal name is 1-64 characters of letters, digits and "
                                 "+=,.@_-.")
        arn = self.arn_for(name, role)
        existing = self.get(arn)
        if existing is not None and not existing.deleted:
            raise PrincipalError(f"The principal {arn} already exists.")
        prefix = "AROA" if role else "AIDA"
        context = self._context("CreateRole" if role else "CreateUser", caller)
        if existing is not None:
            existing.trigger_event(PrincipalRecreated, timestamp=self.ledger.now(),
                                   context=context, principal_id=prefix + _random(17))
            self._save(existing)
            return existing
        principal = Principal.new(name, arn, ROLE if role else USER, prefix + _random(17),
                                  self.account_id, self.ledger.now(), context)
        self._save(principal)
        return principal

    def delete(self, name: str, caller: Caller | None = None) -> Principal:
        """The principal loses its policies and keys at once; the root cannot be deleted."""
        principal = self.find(name)
        if principal.principal_type == ROOT:
            raise PrincipalError("The account root cannot be deleted.")
        operation = "DeleteRole" if principal.principal_type == ROLE else "DeleteUser"
        context, now = self._context(operation, caller), self.ledger.now()
        active = [k for k, is_active in principal.access_keys.items() if is_active]
        keys, shredded = self._withdraw(principal, active, context, now)
        principal.trigger_event(PrincipalDeleted, timestamp=now, context=context)
        self._save(principal, *keys, key_changes=KeyStoreChanges(shred_materials=shredded))
        return principal

    def _withdraw(self, principal: Principal, key_ids: list[str], context: dict[str, Any],
                  now: datetime) -> tuple[list[Aggregate], list[str]]:
        """Withdraw `key_ids` from `principal` and delete each key: the keys to save and the
        key-store materials to shred with them."""
        keys: list[Aggregate] = []
        shredded = []
        for key_id in key_ids:
            key = self.access_key(key_id)
            principal.trigger_event(AccessKeyWithdrawn, timestamp=now, context=context,
                                    access_key_id=key_id)
            if key is not None and key.active:
                key.trigger_event(AccessKeyDeleted, timestamp=now, context=context)
                keys.append(key)
                shredded.append(key.material_name)
        return keys, shredded

    # identity policies
    def put_policy(self, name: str, policy_name: str, document: str | Mapping[str, Any],
                   caller: Caller | None = None) -> Principal:
        """Attach an identity policy (or replace the one of that name); refused unless valid."""
        principal = self.find(name)
        if principal.principal_type == ROOT:
            raise PrincipalError("The account root holds every permission of its account and "
                                 "takes no identity policies.")
        if not POLICY_NAME_PATTERN.fullmatch(policy_name):
            raise PrincipalError("A policy name is 1-128 characters of letters, digits and "
                                 "+=,.@_-.")
        text = document if isinstance(document, str) else json.dumps(document,
                                                                    separators=(",", ":"))
        size = len("".join(text.split()))  # IAM does not count white space
        if size > IDENTITY_POLICY_MAX_CHARS:
            raise PrincipalError(f"The policy is {size} characters without white space; the "
                                 f"maximum is {IDENTITY_POLICY_MAX_CHARS}.")
        try:
            parse_policy(text, PolicyKind.IDENTITY, name=policy_name, max_chars=len(text))
        except MalformedPolicyDocumentException as error:
            raise PrincipalError(error.message) from None
        if principal.policies.get(policy_name) == text:
            return principal  # nothing changes, so nothing is recorded
        operation = "PutRolePolicy" if principal.principal_type == ROLE else "PutUserPolicy"
        principal.trigger_event(PolicyPut, timestamp=self.ledger.now(),
                                context=self._context(operation, caller),
                                policy_name=policy_name, document=text)
        self._save(principal)
        return principal

    def delete_policy(self, name: str, policy_name: str, caller: Caller | None = None) -> None:
        principal = self.find(name)
        if policy_name not in principal.policies:
            raise PrincipalError(f"{principal.arn} has no policy named {policy_name}.")
        operation = "DeleteRolePolicy" if principal.principal_type == ROLE else "DeleteUserPolicy"
        principal.trigger_event(PolicyDeleted, timestamp=self.ledger.now(),
                                context=self._context(operation, caller),
                                policy_name=policy_name)
        self._save(principal)

    def get_policy(self, name: str, policy_name: str) -> str:
        principal = self.find(name)
        if policy_name not in principal.policies:
            raise PrincipalError(f"{principal.arn} has no policy named {policy_name}.")
        return principal.policies[policy_name]

    def ensure_root(self, caller: Caller | None = None) -> Principal:
        arn = self.arn_for(ROOT_NAME)
        existing = self.get(arn)
        if existing is not None:
            return existing
        root = Principal.new(ROOT_NAME, arn, ROOT, self.account_id, self.account_id,
                             self.ledger.now(), self._context("CreateRoot", caller))
        self._save(root)
        return root

    def issue_key(self, principal: Principal, caller: Caller | None = None, *,
                  access_key_id: str | None = None,
                  secret_access_key: str | None = None) -> IssuedKey:
        """A new key pair for `principal`; pass both parts to register a key chosen elsewhere."""
        generated_id, generated_secret = new_key_pair()
        key_id = access_key_id or generated_id
        if not KEY_ID_PATTERN.fullmatch(key_id):
            raise PrincipalError("An access key id is 16-128 upper-case letters and digits.")
        if self.access_key(key_id) is not None:
            raise PrincipalError(f"The access key {key_id} is already registered.")
        secret = secret_access_key or generated_secret
        context, now = self._context("CreateAccessKey", caller), self.ledger.now()
        principal.trigger_event(AccessKeyIssued, timestamp=now, context=context,
                                access_key_id=key_id)
        key = AccessKey.register(key_id, principal, now, context)
        wrapped = self.ledger.kms.wrap_material(key.material_name, secret.encode("utf-8"))
        changes = KeyStoreChanges(materials={key.material_name: wrapped})
        self._save(principal, key, key_changes=changes)
        return IssuedKey(key_id, secret, principal.arn)

    def delete_key(self, access_key_id: str, caller: Caller | None = None) -> None:
        """The key stops working at once and its secret is destroyed."""
        key = self.access_key(access_key_id)
        if key is None or not key.active:
            raise PrincipalError(f"No active access key {access_key_id}.")
        principal = self.get(key.principal_arn)
        context, now = self._context("DeleteAccessKey", caller), self.ledger.now()
        key.trigger_event(AccessKeyDeleted, timestamp=now, context=context)
        aggregates: list[Aggregate] = [key]
        if principal is not None:
            principal.trigger_event(AccessKeyWithdrawn, timestamp=now, context=context,
                                    access_key_id=access_key_id)
            aggregates.append(principal)
        self._save(*aggregates, key_changes=KeyStoreChanges(shred_materials=[key.material_name]))

    def ensure_key(self, principal: Principal, access_key_id: str, secret_access_key: str) -> bool:
        """Register a configured key pair once; True if it was new. A mismatch is an error."""
        known = self.credentials(access_key_id)
        if known is not None:
            caller, secret = known
            if caller.arn != principal.arn or not hmac.compare_digest(secret, secret_access_key):
                raise PrincipalError(f"The access key {access_key_id} is already registered with "
                                     "another secret or principal.")
            return False
        if self.access_key(access_key_id) is not None:
            raise PrincipalError(f"The access key {access_key_id} was deleted; configure another.")
        self.issue_key(principal, access_key_id=access_key_id, secret_access_key=secret_access_key)
        return True

    def replace_configured_root_keys(self, root: Principal, access_key_id: str) -> list[str]:
        """Make `access_key_id` the root's only configured key: the root keys this service
        registered before it (`ensure_key`, same user agent) stop working and their secrets
        are destroyed, in one save with a `RootKeyReplaced` event. Keys issued to the root
        by someone else (`principals access-keys create root`) stay. Returns the ids withdrawn.
        """
        previous = [k for k, active in root.access_keys.items()
                    if active and k != access_key_id and root.issued_by.get(k) == self.user_agent]
        if not previous:
            return []
        context, now = self._context("ReplaceRootAccessKey", None), self.ledger.now()
        keys, shredded = self._withdraw(root, previous, context, now)
        root.trigger_event(RootKeyReplaced, timestamp=now, context=context,
                           access_key_id=access_key_id, replaced_key_ids=previous)
        self._save(root, *keys, key_changes=KeyStoreChanges(shred_materials=shredded))
        return previous

    def _save(self, *aggregates: Aggregate, key_changes: KeyStoreChanges | None = None) -> None:
        self.ledger.save(*aggregates, key_changes=key_changes)


class RecentCredentials:
    """`Principals.credentials` with answers reused for `freshness` seconds.

    Authenticating a request then costs no storage read in the common case. A key created or
    deleted by another process takes effect here within `freshness` seconds, as IAM changes
    take a moment to reach every AWS endpoint. Known and unknown key ids are kept apart, each
    bounded and least recently used first out, so a client naming ever new unknown key ids
    pushes out only other unknown ones, never the keys clients really use.
    """

    def __init__(self, principals: Principals, freshness: float = CREDENTIALS_FRESHNESS,
                 max_entries: int = 4096,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._principals, self._freshness, self._max = principals, freshness, max_entries
        self._monotonic = monotonic
        self._known: OrderedDict[str, tuple[float, tuple[Caller, str] | None]] = OrderedDict()
        self._unknown: OrderedDict[str, tuple[float, tuple[Caller, str] | None]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, access_key_id: str) -> tuple[Caller, str] | None:
        now = self._monotonic()
        with self._lock:
            for cache in (self._known, self._unknown):
                recent = cache.get(access_key_id)
                if recent is not None and recent[0] > now:
                    cache.move_to_end(access_key_id)
                    return recent[1]
        found = self._principals.credentials(access_key_id)
        with self._lock:
            self._known.pop(access_key_id, None)
            self._unknown.pop(access_key_id, None)
            cache = self._unknown if found is None else self._known
            cache[access_key_id] = (now + self._freshness, found)
            while len(cache) > self._max:
                cache.popitem(last=False)
        return found


def new_key_pair() -> tuple[str, str]:
    """A fresh access key id and secret access key, in AWS's formats."""
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
    return "AKIA" + _random(16), secret


def _random(length: int) -> str:
    return "".join(secrets.choice(_UPPER_ALNUM) for _ in range(length))

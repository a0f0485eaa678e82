"""Where the policies come from: the log, read fresh, parsed once per distinct document.

Identity policies are on the caller's `Principal` stream (a role session's on its role's),
a resource policy on its `Secret`, a key policy on its `KmsKey`; a key without one has the
policy KMS gives a key of its kind. Each read is of the aggregate's current state, so a revoked
grant stops the very next call in every process; only the parsing is cached.
"""
from __future__ import annotations

import threading
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.utils import get_topic

from ledger.context import Caller
from ledger.errors import MalformedPolicyDocumentException
from ledger.events import ResourcePolicyChanged
from ledger.keys.kms_key import KmsKey
from ledger.loading import load
from ledger.policies import PolicyDocument, PolicyKind, default_key_policy, managed_key_policy, \
    parse_policy
from ledger.policies.matching import account_of, role_of_session
from ledger.principals import Principal

if TYPE_CHECKING:
    from ledger.application import SecretsLedger

_DENY_ALL = {"Effect": "Deny", "Action": "*", "Resource": "*"}


@lru_cache(maxsize=1024)
def parsed(text: str, kind: PolicyKind, name: str) -> PolicyDocument:
    """A stored document as the engine's object, parsed once per distinct text.

    Stored documents were validated when they were put; one that no longer parses (a stricter
    parser after an upgrade) denies everything rather than being ignored.
    """
    try:
        return parse_policy(text, kind, name=name, max_chars=1 << 20)
    except MalformedPolicyDocumentException:
        statement = dict(_DENY_ALL) if kind is PolicyKind.IDENTITY else {**_DENY_ALL,
                                                                           "Principal": "*"}
        return parse_policy({"Version": "2012-10-17", "Statement": [statement]}, kind, name=name)


def resource_policy_document(text: str) -> PolicyDocument:
    return parsed(text, PolicyKind.RESOURCE, "resource policy")


class ResourcePolicyIndex:
    """Secret id -> resource policy, for listings, which would otherwise read every secret.

    Kept from the log's `ResourcePolicyChanged` events and caught up before every use (one
    query for the events since the last use), so it is as fresh as reading each secret.
    """

    def __init__(self, ledger: SecretsLedger) -> None:
        self._ledger = ledger
        self._topic = get_topic(ResourcePolicyChanged)
        self._position = 0
        self._policies: dict[UUID, str] = {}
        self._lock = threading.Lock()

    def current(self) -> dict[UUID, str]:
        recorder, mapper = self._ledger.recorder, self._ledger.mapper
        with self._lock:
            while True:
                notes = recorder.select_notifications(start=self._position, limit=1000,
                                                      topics=[self._topic],
                                                      inclusive_of_start=False)
                if not notes:
                    return dict(self._policies)
                for note in notes:
                    event = mapper.to_domain_event(note)
                    if event.policy:
                        self._policies[event.originator_id] = event.policy
                    else:
                        self._policies.pop(event.originator_id, None)
                self._position = notes[-1].id


class PolicySources:
    """The documents that decide a call, as they stand in the log now."""

    def __init__(self, ledger: SecretsLedger) -> None:
        self.ledger = ledger
        self.account_id = ledger.config.account_id
        self.listing = ResourcePolicyIndex(ledger)

    def identity_policies(self, caller: Caller) -> tuple[PolicyDocument, ...]:
        """The caller's identity policies (a role session's are its role's), read fresh: one
        small read of the principal's stream, so a revoked grant stops the very next call."""
        arn = role_of_session(caller.arn) or caller.arn
        if account_of(arn) != self.account_id:
            return ()  # principals of other accounts are not kept here
        try:
            principal: Principal = load(self.ledger.repository, Principal.id_for(arn),
                                        for_update=False)
        except AggregateNotFoundError:
            return ()
        if principal.deleted:
            return ()
        return tuple(parsed(text, PolicyKind.IDENTITY, name)
                     for name, text in sorted(principal.policies.items()))

    def resource_policy(self, secret: Any, listed: Mapping[UUID, str] | None = None
                        ) -> PolicyDocument | None:
        """The secret's resource policy; for a read-model view (which has none), from
        `listed` (see ResourcePolicyIndex) or else from the aggregate."""
        if hasattr(secret, "resource_policy"):
            text = secret.resource_policy
        elif listed is not None:
            text = listed.get(secret.id)
        else:
            try:
                text = load(self.ledger.repository, secret.id, for_update=False).resource_policy
            except AggregateNotFoundError:
                return None
        return resource_policy_document(text) if text else None

    def key_policy(self, key: KmsKey | None) -> PolicyDocument:
        """A key's policy: its own, else KMS's default for its kind (None: aws/secretsmanager
        before its first use)."""
        if key is None or key.aws_managed:
            return _managed_key_policy(self.account_id, self.ledger.kms.region)
        if key.policy:
            return parsed(key.policy, PolicyKind.KEY, key.arn)
        return _default_key_policy(self.account_id)


@lru_cache(maxsize=16)
def _default_key_policy(account_id: str) -> PolicyDocument:
    return default_key_policy(account_id)


@lru_cache(maxsize=16)
def _managed_key_policy(account_id: str, region: str) -> PolicyDocument:
    return managed_key_policy(account_id, region)

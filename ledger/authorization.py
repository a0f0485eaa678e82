"""Who may do what: every call's permissions, decided in one place before its handler runs.

`SecretsLedger.call` asks `Authorizer.check` on every attempt, after the request is validated
and before the handler reads or writes anything (a retry on fresh state is decided again, so a
stale copy of a secret never lets a call through). The documents come from the log: the caller's
identity policies from its `Principal` stream, the secret's resource policy from the `Secret`,
a key policy from the `KmsKey`; `ledger.policies` decides. A refusal is AccessDeniedException,
which the ledger records as the call's audit record and nothing else. The returned `Grant` is
what ListSecrets and BatchGetSecretValue ask about each secret they would show.

Decisions, where AWS leaves room (also in the README):

* Trusted: `Caller.system()`, the identity embedding code names, and every caller of a ledger
  configured with `authorization=False`. Nobody else skips the policies.
* Root: the caller whose ARN is `arn:aws:iam::<ledger account>:root` (the server's root
  principal). It needs no identity policy, but an explicit Deny in a resource or key policy
  still stops it. Any other caller without an Allow is refused (implicit deny).
* Role sessions (`arn:aws:sts::<account>:assumed-role/<role>/<session>`) use the role's policies.
* Existence: a call naming a secret is evaluated against the secret's ARN when the SecretId
  resolves, and otherwise against the ARN the id names (`...:secret:<name>` for a name, the id
  itself for an ARN), as IAM evaluates the request before the service looks anything up. A
  caller whose policies refuse the call gets AccessDeniedException whether or not the secret
  exists, and the message names the SecretId exactly as sent (as AWS's does), never the resolved
  ARN, its tags or its policy. What cannot be hidden is hidden on AWS neither: a caller allowed
  in general but refused by the secret's own resource policy, or by a Deny conditioned on its
  tags, learns that something is there.
* ListSecrets needs `secretsmanager:ListSecrets` on `*` (as AWS), and then shows only the
  secrets the caller may `secretsmanager:DescribeSecret`, with that secret's tags and resource
  policy, since each entry is the metadata DescribeSecret would give. Hidden secrets are left
  out before filtering and paging, so page sizes and tokens say nothing about them.
* BatchGetSecretValue needs `secretsmanager:BatchGetSecretValue` on `*` (and ListSecrets with
  Filters), then `secretsmanager:GetSecretValue` and `kms:Decrypt` per secret. An id the caller
  named is answered per id (AccessDeniedException, or ResourceNotFoundException if allowed);
  a secret found by Filters that the caller may not describe is left out, one it may describe
  but not read is reported in `Errors`.
* KMS: `kms:GenerateDataKey` and `kms:Decrypt` on the key that will seal a new value (or that a
  key change names), `kms:Decrypt` on the key that sealed the version read, decided by the key's
  policy together with the identity policies. The AWS managed `aws/secretsmanager` key has the
  managed key policy (any principal of the account, through Secrets Manager). A refusal is
  AccessDeniedException "Access to KMS is not allowed", checked before the key's state, as KMS
  does. Re-encrypting existing versions on a key change needs `kms:Encrypt` on the new key and
  is skipped without it (as AWS documents); it opens each version, so it also needs
  `kms:Decrypt` on the key sealing each one it moves, and without that the whole call is
  refused, so no value ever reaches a key through a caller who could not open it (`writes`).
  A read opens the data key it finds; if that is under another key than the one authorized
  (a key change committed in between), Decrypt on that key is asked too.
* Regions: names are one namespace across Regions, so a call naming an existing secret is
  decided against the ARN the secret has, in its own Region, never one built from the Region
  the request was signed for; CreateSecret of a taken name is decided against the existing
  secret's ARN as well as the one a new secret would get.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ledger import labels as label_rules
from ledger.context import Caller
from ledger.errors import AccessDeniedException, InvalidRequestException, LedgerError
from ledger.keys.kms_key import DEFAULT_ALIAS, KmsKey
from ledger.keys.local_kms import UnknownKey
from ledger.labels import CURRENT
from ledger.loading import load
from ledger.policies import (
    ACCOUNT_SCOPED, KMS_DECRYPT, AuthzRequest, Decision, KeyUse, PolicyDocument,
    access_denied_message, evaluate, evaluate_key, iam_action, key_uses, principal_context,
    required_permissions, secret_context,
)
from ledger.policies.actions import STORED
from ledger.policies.evaluate import ContextValue
from ledger.policies.matching import account_of
from ledger.policy_sources import PolicySources

if TYPE_CHECKING:
    from ledger.application import SecretsLedger
    from ledger.outcome import Call

KMS_DENIED = "Access to KMS is not allowed"
VERSION_STAGE = "secretsmanager:VersionStage"
DEFAULT_KEY_OTHER_ACCOUNT = ("You can't access a secret from a different AWS account if you "
                             "encrypt the secret with the default KMS service key.")
SAVES_NAMED_SECRET = frozenset({
    "UpdateSecret", "PutSecretValue", "UpdateSecretVersionStage", "DeleteSecret",
    "RestoreSecret", "TagResource", "UntagResource", "PutResourcePolicy", "DeleteResourcePolicy",
})
"""Operations whose handler saves the secret it names: they may start from this process's last
copy, because a stale copy makes the save conflict and the call is decided again."""


# ---- the grant a call carries -----------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """What a call names: the secret (None if it does not exist or the call names none), the ARN
    evaluated, and the reference as the caller sent it (the only one a message may show)."""

    secret: Any
    arn: str
    reference: str


@dataclass
class Grant:
    """The caller's standing for one call: its documents and condition keys, gathered once.

    `authorizer` None means the caller is trusted and every question is answered yes.
    """

    caller: Caller
    authorizer: Authorizer | None = None
    identity: tuple[PolicyDocument, ...] = ()
    keys: dict[str, ContextValue] = field(default_factory=dict)
    region: str = ""
    _key_requests: dict[tuple[str, str | None], AuthzRequest] = field(default_factory=dict)

    @property
    def unrestricted(self) -> bool:
        return self.authorizer is None

    def decide(self, action: str, resource_arn: str, secret: Any = None,
               extra: Mapping[str, ContextValue] | None = None,
               listed: Mapping[UUID, str] | None = None) -> Decision:
        assert self.authorizer is not None
        context = {**self.keys, **(extra or {})}
        request = AuthzRequest(self.caller.arn, self.authorizer.account_id, action,
                               resource_arn, context)
        documents = self.authorizer.documents
        policy = documents.resource_policy(secret, listed) if secret is not None else None
        return evaluate(request, self.identity, policy)

    def visible(self, secrets: list[Any]) -> list[Any]:
        """The secrets whose metadata the caller may see (DescribeSecret on each), in order."""
        if self.unrestricted:
            return list(secrets)
        assert self.authorizer is not None
        listed = self.authorizer.documents.listing.current()
        return [s for s in secrets if self.may_know(s, listed)]

    def may_know(self, secret: Any, listed: Mapping[UUID, str] | None = None) -> bool:
        """Whether the caller may see this secret's metadata (DescribeSecret on it)."""
        if self.unrestricted:
            return True
        keys = secret_context(secret_id=secret.arn, name=secret.name, tags=secret.tags)
        return self.decide(iam_action("DescribeSecret"), secret.arn, secret, keys,
                           listed).allowed

    def read_refusal(self, secret_id: str, secret: Any) -> LedgerError | None:
        """Why BatchGetSecretValue may not return this secret's current value, or None."""
        if self.unrestricted:
            return None
        assert self.authorizer is not None
        arn = secret.arn if secret is not None else self.authorizer.named_arn(secret_id,
                                                                              self.region)
        keys = secret_context(secret_id=secret_id, name=secret.name if secret else None,
                              tags=secret.tags if secret else None)
        action = iam_action("GetSecretValue")
        decision = self.decide(action, arn, secret, keys)
        if not decision.allowed:
            return AccessDeniedException(self.message(action, secret_id, decision))
        version = secret.version_for(None, CURRENT) if secret is not None else None
        if version is not None:
            try:
                self.authorizer.require_key(self, KMS_DECRYPT, version.sealed.key_arn, secret.arn)
            except LedgerError as refusal:
                return refusal
        return None

    def may_use_key(self, action: str, key: KmsKey, secret_arn: str) -> bool:
        """Whether the caller may use `key` for `action` on this secret's behalf."""
        if self.unrestricted:
            return True
        assert self.authorizer is not None
        return self.authorizer.key_decision(self, action, key, secret_arn).allowed

    def require_key(self, action: str, key_ref: str, secret_arn: str) -> None:
        """Raise AccessDeniedException unless the caller may use the key `key_ref` names."""
        if not self.unrestricted:
            assert self.authorizer is not None
            self.authorizer.require_key(self, action, key_ref, secret_arn)

    def message(self, action: str, reference: str, decision: Decision) -> str:
        return access_denied_message(self.caller.arn, action, reference, decision.explicit,
                                     decision.policy_type)

    def request_for(self, action: str, resource_arn: str) -> AuthzRequest:
        """The request as the engine sees it, for checks that simulate one (lockout checks)."""
        account = self.authorizer.account_id if self.authorizer else self.caller.account_id
        return AuthzRequest(self.caller.arn, account, action, resource_arn, dict(self.keys))


# ---- the authorizer ---------------------------------------------------------------------------
class Authorizer:
    """Decides calls with the documents the log holds (`PolicySources`); one per ledger."""

    def __init__(self, ledger: SecretsLedger) -> None:
        self.ledger = ledger
        self.account_id = ledger.config.account_id
        self.documents = PolicySources(ledger)

    def trusts(self, caller: Caller) -> bool:
        return caller.trusted or not self.ledger.config.authorization

    def named_arn(self, secret_id: str, region: str) -> str:
        """The ARN a SecretId names when no secret answers to it."""
        if secret_id.startswith("arn:"):
            return secret_id
        return f"arn:aws:secretsmanager:{region}:{self.account_id}:secret:{secret_id}"

    # the check
    def check(self, call: Call) -> Grant:
        """Raise AccessDeniedException unless the caller may make this call; else its grant."""
        caller = call.context.caller
        if self.trusts(caller):
            return Grant(caller)
        context = call.context
        keys = principal_context(caller.arn, user_id=caller.principal_id,
                                 principal_type=caller.principal_type,
                                 source_ip=context.source_ip or None,
                                 secure_transport=context.secure_transport,
                                 user_agent=context.user_agent or None, now=call.now)
        keys["aws:RequestedRegion"] = context.region
        grant = Grant(caller, self, self.documents.identity_policies(caller), keys, context.region)
        target = self._target(call)
        for scope in self._scopes(call, target):
            self._check_permissions(grant, call, scope)
        for use in key_uses(context.operation, call.request):
            if use.required:
                self._check_key_use(grant, call, target, use)
        return grant

    def _check_permissions(self, grant: Grant, call: Call, target: Target) -> None:
        variants = _one_stage_each(_request_keys(call, target))
        for permission in required_permissions(call.context.operation, call.request, target.arn):
            scoped = permission.resource != "*"
            for extra in variants if scoped else [None]:
                decision = grant.decide(permission.action, permission.resource,
                                        target.secret if scoped else None, extra)
                if not decision.allowed:
                    reference = target.reference if scoped else "*"
                    raise AccessDeniedException(grant.message(permission.action, reference,
                                                              decision))

    def _scopes(self, call: Call, target: Target) -> list[Target]:
        """The targets whose ARNs the call is decided against: CreateSecret of a name a secret
        already holds (in whichever Region) answers about that secret, so it is decided against
        that secret's ARN too, not only against the ARN the request's Region would give."""
        if call.context.operation != "CreateSecret":
            return [target]
        index = call.ledger.name_index(target.reference)
        if index is None or index.secret_id is None:
            return [target]
        existing = load(call.ledger.repository, index.secret_id, for_update=False)
        return [Target(existing, existing.arn, target.reference), target]

    def _target(self, call: Call) -> Target:
        operation, request = call.context.operation, call.request
        if operation in ACCOUNT_SCOPED:
            return Target(None, "*", "*")
        if operation == "CreateSecret":
            return Target(None, call.planned_arn, request["Name"])
        secret_id = request.get("SecretId")
        if secret_id is None:  # ValidateResourcePolicy without a secret
            return Target(None, "*", "*")
        if operation in SAVES_NAMED_SECRET:
            secret = call.secret_to_change(secret_id, missing_ok=True)
        else:
            secret = call.secret_to_read(secret_id, missing_ok=True)
        arn = secret.arn if secret is not None else self.named_arn(secret_id, call.context.region)
        return Target(secret, arn, secret_id)

    # KMS
    def _check_key_use(self, grant: Grant, call: Call, target: Target, use: KeyUse) -> None:
        if use.key == STORED:
            key_ref = _stored_key(call, target.secret)
        else:
            key_ref = _encrypting_key(call, target.secret)
        if key_ref is _NO_KEY:
            return  # nothing to decrypt, or no secret: the handler reports what is missing
        self.require_key(grant, use.action, key_ref, target.arn)

    def require_key(self, grant: Grant, action: str, key_ref: str | None,
                    secret_arn: str | None) -> None:
        """Raise unless the caller may use the key `key_ref` names (None: aws/secretsmanager)."""
        try:
            key = self._key(key_ref)
        except UnknownKey:
            return  # the handler reports a key that does not exist
        decision = self.key_decision(grant, action, key, secret_arn)
        if decision.allowed:
            return
        if (key is None or key.aws_managed) and account_of(grant.caller.arn) != self.account_id:
            raise InvalidRequestException(DEFAULT_KEY_OTHER_ACCOUNT)
        raise AccessDeniedException(KMS_DENIED)

    def _key(self, key_ref: str | None) -> KmsKey | None:
        kms = self.ledger.kms
        if not key_ref or key_ref in (DEFAULT_ALIAS, _alias_arn(kms, DEFAULT_ALIAS)):
            try:
                return kms.find(DEFAULT_ALIAS)
            except UnknownKey:
                return None  # made on first use; its policy is known already
        return kms.find(key_ref)

    def key_decision(self, grant: Grant, action: str, key: KmsKey | None,
                     secret_arn: str | None = None) -> Decision:
        kms = self.ledger.kms
        arn = key.arn if key is not None else _alias_arn(kms, DEFAULT_ALIAS)
        base = grant._key_requests.get((arn, secret_arn))
        if base is None:  # one per key and secret: a call's KMS uses share its context keys
            keys = dict(grant.keys)
            keys.update(principal_context(
                grant.caller.arn, via_service=f"secretsmanager.{kms.region}.amazonaws.com"))
            if secret_arn and secret_arn != "*":
                keys["kms:EncryptionContext:SecretARN"] = secret_arn
            base = AuthzRequest(grant.caller.arn, self.account_id, action, arn, keys)
            grant._key_requests[(arn, secret_arn)] = base
        policy = self.documents.key_policy(key)
        return evaluate_key(base.with_action(action), grant.identity, policy)


_NO_KEY = object()


def _alias_arn(kms: Any, alias: str) -> str:
    return f"arn:aws:kms:{kms.region}:{kms.account_id}:{alias}"


def _encrypting_key(call: Call, secret: Any) -> Any:
    """The key a new value (or the key probe of a key change) will use."""
    requested = call.request.get("KmsKeyId")
    if call.context.operation in ("CreateSecret", "UpdateSecret") and requested:
        return requested
    if call.context.operation == "CreateSecret":
        return None
    if secret is None:
        return _NO_KEY
    return secret.kms_key_id


def _stored_key(call: Call, secret: Any) -> Any:
    """The key that sealed the version GetSecretValue will return (as the handler selects it)."""
    if secret is None:
        return _NO_KEY
    version_id, stage = call.request.get("VersionId"), call.request.get("VersionStage")
    if version_id is not None:
        version = secret.versions.get(version_id)
    else:
        version = secret.version_for(None, stage or CURRENT)
    return version.sealed.key_arn if version is not None else _NO_KEY


def _request_keys(call: Call, target: Target) -> dict[str, ContextValue]:
    """`secretsmanager:` and tag condition keys of a call that names a secret."""
    request, operation = call.request, call.context.operation
    secret = target.secret
    tags = request.get("Tags") if operation in ("CreateSecret", "TagResource") else None
    stage = request.get("VersionStage") if operation in ("GetSecretValue",
                                                        "UpdateSecretVersionStage") else None
    keys = secret_context(
        secret_id=request.get("SecretId"),
        name=secret.name if secret is not None else request.get("Name"),
        tags=secret.tags if secret is not None else None,
        version_stage=stage, version_id=request.get("VersionId"),
        description=request.get("Description"), kms_key_id=request.get("KmsKeyId"),
        request_tags={t["Key"]: t.get("Value", "") for t in tags if t.get("Key") is not None}
        if tags is not None else None)  # a tag without a Key is refused by its handler
    if operation == "PutSecretValue":
        attached = _stages_attached(request.get("VersionStages"), secret)
        if attached:
            keys[VERSION_STAGE] = attached
    if operation == "UntagResource":
        keys["aws:TagKeys"] = list(request.get("TagKeys") or [])
    if operation == "PutResourcePolicy":
        keys["secretsmanager:BlockPublicPolicy"] = bool(request.get("BlockPublicPolicy"))
    return keys


_NEW_VERSION = "(the new version)"


def _stages_attached(requested: list[str] | None, secret: Any) -> list[str]:
    """The labels PutSecretValue will put on its new version, by the rule the write applies:
    `VersionStages`, or AWSCURRENT when it is left out, and AWSCURRENT on a secret's first value
    whatever the request says. A condition on the stage is about what the call does."""
    labels = dict(secret.labels) if secret is not None else {}
    moves = label_rules.for_new_value(labels, _NEW_VERSION, requested)
    return [label for label, _, to in moves if to == _NEW_VERSION]


def _one_stage_each(keys: dict[str, ContextValue]) -> list[dict[str, ContextValue]]:
    """`secretsmanager:VersionStage` is single-valued in IAM: a call that attaches several
    stages is decided once per stage and needs every one allowed. Evaluated as one multi-valued
    key, a plain operator would accept the list when any member matched, so `AWSPENDING` in an
    Allow would let `["AWSPENDING", "AWSCURRENT"]` through."""
    stages = keys.get(VERSION_STAGE)
    if not isinstance(stages, list):
        return [keys]
    return [{**keys, VERSION_STAGE: stage} for stage in stages]

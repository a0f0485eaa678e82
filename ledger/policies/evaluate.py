"""IAM's decision for one request: explicit Deny wins, then an Allow, else the implicit deny.

`evaluate` serves secrets (identity policies plus an optional resource policy); `evaluate_key`
serves KMS keys, whose key policy is the gatekeeper. Both are pure: the caller gathers the
documents and the condition keys, and gets a `Decision` that can explain itself in the
AccessDeniedException message and in the audit record.

Rules taken from the IAM "policy evaluation logic" pages, and how they are read here:

* Any matching Deny in any policy denies. A resource or key policy Deny that names the account
  (`arn:aws:iam::<id>:root`) applies to every principal of that account. NotPrincipal exempts a
  user or role only when it names both the principal and its account (`excluded_by`).
* Same account: an Allow from an identity policy suffices, and so does a resource policy Allow
  that names the caller itself (its ARN, its role for a role session, or `*`). A resource policy
  that names only the account delegates to the account's identity policies and grants nothing
  on its own.
* Another account: the caller's identity policies and the resource policy must both allow.
* A service principal has no identity policies: a resource policy Allow naming it suffices.
* The account root user needs no identity policy: its identity side always allows, so it may act
  on its own account's resources unless a Deny applies (on another account's, the resource policy
  must still allow).
* KMS: the key policy must allow, either the caller directly (enough on its own in the key's
  account) or the caller's account, in which case identity policies must allow as well.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ledger.policies.actions import access_denied_message
from ledger.policies.conditions import conditions_hold
from ledger.policies.document import ALLOW, DENY, PolicyDocument, Principals, Statement
from ledger.policies.matching import account_of, arn_matches, is_account_root, role_of_session

ContextValue = str | list[str] | bool
IDENTITY_BASED, RESOURCE_BASED = "identity-based", "resource-based"
DIRECT, ACCOUNT = "direct", "account"


@dataclass(frozen=True)
class AuthzRequest:
    """Who asks to do what to which resource, with the condition keys of the request.

    `account_id` is the account that owns the resource (the ledger's). Context keys are looked
    up case-insensitively; `aws:PrincipalArn` and `aws:PrincipalAccount` default to values
    derived from `principal_arn` when the context leaves them out.
    """

    principal_arn: str
    account_id: str
    action: str
    resource_arn: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    @cached_property
    def _keys(self) -> dict[str, list[str]]:
        keys: dict[str, list[str]] = {}
        role = role_of_session(self.principal_arn)
        keys["aws:principalarn"] = [role or self.principal_arn]
        if self.principal_account:
            keys["aws:principalaccount"] = [self.principal_account]
        for key, value in self.context.items():
            if isinstance(value, bool):
                keys[key.lower()] = ["true" if value else "false"]
            elif isinstance(value, str):
                keys[key.lower()] = [value]
            else:
                keys[key.lower()] = [str(item) for item in value]
        return keys

    def lookup(self, key: str) -> list[str] | None:
        return self._keys.get(key.lower())

    @cached_property
    def ambiguous(self) -> frozenset[str]:
        """Context keys given twice in spellings that differ only in case (tags `team` and
        `TEAM` both make `aws:ResourceTag/team`), lower-cased. Condition key names are
        case-insensitive in IAM, so such a key has no single value: a statement that reads it
        fails closed (`_covers`) instead of seeing whichever spelling came last."""
        spelled: dict[str, str] = {}
        return frozenset(key.lower() for key in self.context
                         if spelled.setdefault(key.lower(), key) != key)

    @property
    def principal_account(self) -> str | None:
        return account_of(self.principal_arn)

    @property
    def same_account(self) -> bool:
        return self.principal_account == self.account_id

    @property
    def is_service(self) -> bool:
        """A service principal (`secretsmanager.amazonaws.com`) has no ARN and no account."""
        return not self.principal_arn.startswith("arn:")

    def with_action(self, action: str, resource_arn: str | None = None) -> AuthzRequest:
        other = AuthzRequest(self.principal_arn, self.account_id, action,
                             resource_arn or self.resource_arn, self.context)
        for built in ("_keys", "ambiguous"):  # same principal and context: reuse them
            if built in self.__dict__:
                other.__dict__[built] = self.__dict__[built]
        return other


@dataclass(frozen=True)
class MatchedStatement:
    """Which statement decided, in terms an auditor can look up."""

    policy_type: str
    policy_name: str
    index: int
    sid: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"policyType": self.policy_type, "policyName": self.policy_name,
                "statement": self.index, "sid": self.sid}


@dataclass(frozen=True)
class Decision:
    """The outcome and its reason. `policy_type` names the kind of policy that denied, or that
    lacked an Allow for an implicit deny, so the AWS-shaped message can be produced."""

    allowed: bool
    explicit: bool
    policy_type: str
    reason: str
    statement: MatchedStatement | None = None

    def message(self, request: AuthzRequest) -> str:
        """The AccessDeniedException text for a denied request."""
        return access_denied_message(request.principal_arn, request.action, request.resource_arn,
                                     self.explicit, self.policy_type)

    def as_audit(self) -> dict[str, Any]:
        return {"decision": "Allow" if self.allowed else "Deny", "explicit": self.explicit,
                "policyType": self.policy_type, "reason": self.reason,
                "statement": self.statement.as_dict() if self.statement else None}


def principal_match(principals: Principals, request: AuthzRequest) -> str | None:
    """How a Principal element names the caller: DIRECT, ACCOUNT or not at all (None)."""
    if principals.anyone:
        return DIRECT
    arn = request.principal_arn
    if arn in principals.services:
        return DIRECT
    role = role_of_session(arn)
    matched = None
    for entry in principals.aws:
        if entry == arn or entry == role:
            return DIRECT
        if is_account_root(entry) and account_of(entry) == request.principal_account:
            matched = DIRECT if is_account_root(arn) else ACCOUNT
    return matched


def excluded_by(principals: Principals, request: AuthzRequest) -> bool:
    """Whether a NotPrincipal element exempts the caller.

    IAM's documented rule: to exempt a user or role, NotPrincipal must name both it and its
    account (`arn:aws:iam::<id>:root`); naming only one of them exempts nobody. A role session
    is named through its role. The root user is exempt when its account is named.
    """
    if principals.anyone or request.principal_arn in principals.services:
        return True
    account_named = any(is_account_root(entry) and account_of(entry) == request.principal_account
                        for entry in principals.aws)
    if is_account_root(request.principal_arn):
        return account_named
    role = role_of_session(request.principal_arn)
    named = any(entry == request.principal_arn or entry == role for entry in principals.aws)
    return named and account_named


def _names_caller(statement: Statement, request: AuthzRequest) -> str | None:
    if statement.principals is None:  # identity policies apply to their owner
        return DIRECT
    if statement.not_principal:
        return None if excluded_by(statement.principals, request) else DIRECT
    return principal_match(statement.principals, request)


def _covers(statement: Statement, request: AuthzRequest, variables: bool) -> bool:
    """Action, resource and conditions, cheapest first."""
    if statement.action_pattern.matches(request.action) == statement.not_action:
        return False
    compiled = statement.resource_pattern
    if compiled is None:  # policy variables: resolved per request
        lookup = request.lookup if variables else None
        resource = any(arn_matches(p, request.resource_arn, lookup) for p in statement.resources)
    else:
        resource = compiled.matches(request.resource_arn)
    if resource == statement.not_resource:
        return False
    if request.ambiguous and _reads(statement, request.ambiguous):
        return statement.effect == DENY  # fail closed: a Deny applies, an Allow does not
    return not statement.conditions or conditions_hold(statement.conditions, request.lookup,
                                                       variables)


def _reads(statement: Statement, keys: frozenset[str]) -> bool:
    """Whether a statement's conditions or policy variables mention one of `keys`."""
    if any(c.key.lower() in keys for c in statement.conditions):
        return True
    variables = [text.lower() for c in statement.conditions for text in c.values if "${" in text]
    variables += [text.lower() for text in statement.resources if "${" in text]
    return any(key in text for text in variables for key in keys)


def _matches(policy: PolicyDocument, effect: str, request: AuthzRequest
             ) -> Iterable[tuple[Statement, str]]:
    variables = policy.variables
    for statement in policy.statements:
        if statement.effect == effect and _covers(statement, request, variables):
            how = _names_caller(statement, request)
            if how:
                yield statement, how


def _matched(policy: PolicyDocument, statement: Statement, policy_type: str) -> MatchedStatement:
    return MatchedStatement(policy_type, policy.name, statement.index, statement.sid)


def _explicit_deny(request: AuthzRequest, identity: Sequence[PolicyDocument],
                   resource: PolicyDocument | None) -> Decision | None:
    sources = [(p, IDENTITY_BASED) for p in identity]
    if resource is not None:
        sources.append((resource, RESOURCE_BASED))
    for policy, policy_type in sources:
        for statement, _ in _matches(policy, DENY, request):
            return Decision(False, True, policy_type, f"explicit deny in {statement.label}",
                            _matched(policy, statement, policy_type))
    return None


def _identity_allow(request: AuthzRequest, identity: Sequence[PolicyDocument]) -> Decision | None:
    for policy in identity:
        for statement, _ in _matches(policy, ALLOW, request):
            return Decision(True, False, IDENTITY_BASED, f"allowed by {statement.label}",
                            _matched(policy, statement, IDENTITY_BASED))
    if is_account_root(request.principal_arn):  # root holds every permission of its account
        return Decision(True, False, IDENTITY_BASED, "the account root user")
    return None


def _resource_allow(request: AuthzRequest, resource: PolicyDocument | None,
                    kinds: tuple[str, ...]) -> Decision | None:
    if resource is None:
        return None
    for statement, how in _matches(resource, ALLOW, request):
        if how in kinds:
            return Decision(True, False, RESOURCE_BASED, f"allowed by {statement.label}",
                            _matched(resource, statement, RESOURCE_BASED))
    return None


def _implicit(policy_type: str) -> Decision:
    return Decision(False, False, policy_type, f"no {policy_type} policy allows the action")


def evaluate(request: AuthzRequest, identity_policies: Sequence[PolicyDocument],
             resource_policy: PolicyDocument | None = None) -> Decision:
    """Decide a Secrets Manager request from the caller's identity policies and the secret's
    resource policy (None when the secret has none)."""
    denied = _explicit_deny(request, identity_policies, resource_policy)
    if denied:
        return denied
    identity = _identity_allow(request, identity_policies)
    if request.same_account or request.is_service:
        return identity or _resource_allow(request, resource_policy, (DIRECT,)) \
            or _implicit(IDENTITY_BASED)
    if identity is None:
        return _implicit(IDENTITY_BASED)
    return _resource_allow(request, resource_policy, (DIRECT, ACCOUNT)) \
        or _implicit(RESOURCE_BASED)


def evaluate_key(request: AuthzRequest, identity_policies: Sequence[PolicyDocument],
                 key_policy: PolicyDocument) -> Decision:
    """Decide a KMS request (`kms:Decrypt` ...) on a key: the key policy must allow."""
    denied = _explicit_deny(request, identity_policies, key_policy)
    if denied:
        return denied
    direct = _resource_allow(request, key_policy, (DIRECT,))
    if direct and (request.same_account or request.is_service):
        return direct
    if direct is None and _resource_allow(request, key_policy, (ACCOUNT,)) is None:
        return _implicit(RESOURCE_BASED)
    return _identity_allow(request, identity_policies) or _implicit(IDENTITY_BASED)

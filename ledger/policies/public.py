"""BlockPublicPolicy and ValidateResourcePolicy for secret resource policies.

AWS decides "broad access" with an automated reasoner (Zelkova). This is a syntactic stand-in
that errs towards calling a policy public. An Allow statement grants broad access when its
principal reaches beyond the ledger's account — `*`, `{"AWS": "*"}`, another account or a
principal in one, or any NotPrincipal — unless one of its conditions pins the caller down:

* key `aws:PrincipalAccount` or `aws:SourceAccount` with only the ledger's account id;
* key `aws:PrincipalArn` or `aws:SourceArn` with ARNs in the ledger's account (wildcards allowed
  after the account) or fully specific ARNs without wildcards;
* key `aws:PrincipalOrgID` with wildcard-free organisation ids;

under `StringEquals`, `StringEqualsIgnoreCase`, `StringLike`, `ArnEquals` or `ArnLike`, plain or
`ForAnyValue:`. `...IfExists` and `ForAllValues:` never pin, because both are true when the key is
absent. Service principals (`{"Service": ...}`) are not public. Deny statements never are.
"""
from __future__ import annotations

from collections.abc import Sequence

from ledger.errors import PublicPolicyException
from ledger.policies.conditions import Condition
from ledger.policies.document import ALLOW, PolicyDocument, PolicyKind, Statement, parse_policy
from ledger.policies.evaluate import AuthzRequest, evaluate
from ledger.policies.matching import account_of

BROAD_ACCESS_CHECK = "BROAD_ACCESS_CHECK"
LOCKOUT_CHECK = "LOCKOUT_PREVENTION_CHECK"
PUBLIC_POLICY_MESSAGE = ("This resource policy grants broad access to the secret. Limit the "
                         "principal to your account or to specific principals.")

_PINNING_OPERATORS = {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals",
                      "ArnLike"}
_ACCOUNT_KEYS = {"aws:principalaccount", "aws:sourceaccount"}
_ARN_KEYS = {"aws:principalarn", "aws:sourcearn"}
_ORG_KEYS = {"aws:principalorgid"}
_LOCKOUT_ACTIONS = ("secretsmanager:PutResourcePolicy", "secretsmanager:DeleteResourcePolicy")


def _wild(value: str) -> bool:
    return "*" in value or "?" in value or "${" in value


def _pinned_value(key: str, value: str, account_id: str) -> bool:
    if key in _ACCOUNT_KEYS:
        return value == account_id
    if key in _ARN_KEYS:
        return account_of(value) == account_id or (value.startswith("arn:") and not _wild(value))
    return bool(value) and not _wild(value)


def _pins(condition: Condition, account_id: str) -> bool:
    """Whether one condition confines the statement to the account or to named principals."""
    key = condition.key.lower()
    if key not in _ACCOUNT_KEYS | _ARN_KEYS | _ORG_KEYS:
        return False
    if condition.base not in _PINNING_OPERATORS or condition.if_exists:
        return False
    if condition.qualifier == "ForAllValues":
        return False
    return all(_pinned_value(key, value, account_id) for value in condition.values)


def _reaches_outside(statement: Statement, account_id: str) -> bool:
    principals = statement.principals
    if principals is None:
        return False
    if statement.not_principal or principals.anyone:
        return True
    return any(account_of(arn) != account_id for arn in principals.aws)


def public_statements(policy: PolicyDocument, account_id: str) -> tuple[Statement, ...]:
    """The Allow statements that grant broad access (see the module doc)."""
    return tuple(
        s for s in policy.statements
        if s.effect == ALLOW and _reaches_outside(s, account_id)
        and not any(_pins(c, account_id) for c in s.conditions))


def is_public(policy: PolicyDocument, account_id: str) -> bool:
    return bool(public_statements(policy, account_id))


def check_not_public(policy: PolicyDocument, account_id: str) -> None:
    """PutResourcePolicy with BlockPublicPolicy: refuse a policy that grants broad access."""
    if is_public(policy, account_id):
        raise PublicPolicyException(PUBLIC_POLICY_MESSAGE)


def _lockouts(policy: PolicyDocument, request: AuthzRequest) -> list[str]:
    return [action for action in _LOCKOUT_ACTIONS
            if evaluate(request.with_action(action), (), policy).explicit]


def validate_resource_policy(document: str | PolicyDocument, account_id: str,
                             caller: AuthzRequest | None = None) -> list[dict[str, str]]:
    """The `ValidationErrors` of Secrets Manager's ValidateResourcePolicy (empty when it passes).

    Syntax problems are not findings: they raise MalformedPolicyDocumentException, as the
    operation's error list says. `caller`, when given, is the request of whoever validates; a
    policy that explicitly denies them PutResourcePolicy or DeleteResourcePolicy on the secret
    would lock them out of fixing it, and is reported.
    """
    policy = document if isinstance(document, PolicyDocument) \
        else parse_policy(document, PolicyKind.RESOURCE, name="resource policy")
    errors = [{"CheckName": BROAD_ACCESS_CHECK,
               "ErrorMessage": f"The resource policy grants broad access in {s.label}: its "
                               f"principal reaches beyond account {account_id} and no condition "
                               "limits it to the account or to specific principals."}
              for s in public_statements(policy, account_id)]
    if caller is not None:
        for action in _lockouts(policy, caller):
            errors.append({"CheckName": LOCKOUT_CHECK,
                           "ErrorMessage": f"The resource policy denies {caller.principal_arn} "
                                           f"{action}, so the caller could not change it again."})
    return errors


def validation_response(errors: Sequence[dict[str, str]]) -> dict[str, object]:
    """The ValidateResourcePolicy response body for a list of findings."""
    return {"PolicyValidationPassed": not errors, "ValidationErrors": list(errors)}

"""What each Secrets Manager operation asks IAM for: actions, the resource they target, KMS uses.

Sources: the "Required permissions" paragraph of each operation in botocore's secretsmanager
model, and the Service Authorization Reference (BatchGetSecretValue, GetRandomPassword and
ListSecrets have no resource type, so they are checked against `*`). BatchGetSecretValue is also
checked as `secretsmanager:GetSecretValue` on every secret it returns; a secret that fails that
check becomes a per-secret error rather than failing the batch.

KMS permissions matter for customer managed keys: the AWS managed `aws/secretsmanager` key's
policy allows every principal of the account through Secrets Manager, so only an explicit Deny in
an identity policy, or a caller from another account, is refused its use.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SERVICE = "secretsmanager"
KMS_ENCRYPT, KMS_DECRYPT, KMS_GENERATE_DATA_KEY = "kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"

OPERATIONS = (
    "AssociateCrossAccountReplica", "BatchGetSecretValue", "CancelRotateSecret", "CreateSecret",
    "DeleteResourcePolicy", "DeleteSecret", "DescribeSecret", "DisassociateCrossAccountReplica",
    "GetRandomPassword", "GetResourcePolicy", "GetSecretValue", "ListResourcePolicies",
    "ListSecretVersionIds", "ListSecrets", "PutResourcePolicy", "PutSecretValue",
    "RemoveRegionsFromReplication", "ReplicateSecretToRegions", "RestoreSecret", "RotateSecret",
    "StopReplicationToReplica", "TagResource", "UntagResource", "UpdateSecret",
    "UpdateSecretVersionStage", "ValidateResourcePolicy",
)
ACCOUNT_SCOPED = frozenset({"BatchGetSecretValue", "GetRandomPassword", "ListSecrets"})
"""Operations authorised against `*`: they name no single secret."""
ENCRYPTING, STORED = "encrypting", "stored"
"""Key roles: the key that will seal new values (the request's KmsKeyId, else the secret's),
and the key that sealed the version being read."""


@dataclass(frozen=True)
class Permission:
    """An IAM action on a resource ARN (or `*`)."""

    action: str
    resource: str


@dataclass(frozen=True)
class KeyUse:
    """A KMS action on one of the secret's keys. `required=False` uses are decided by the
    handler, which alone knows which versions it moves: UpdateSecret re-encrypts existing
    versions under a new key only when the caller may `kms:Encrypt` with it (as the UpdateSecret
    documentation says), and then needs `kms:Decrypt` on the key of each version it opens."""

    action: str
    key: str
    required: bool = True


def iam_action(operation: str) -> str:
    """`GetSecretValue` -> `secretsmanager:GetSecretValue`."""
    if operation not in OPERATIONS:
        raise KeyError(f"Unknown Secrets Manager operation {operation!r}.")
    return f"{SERVICE}:{operation}"


def resource_for(operation: str, secret_arn: str | None) -> str:
    """The resource an operation is checked against: the secret's ARN, or `*`.

    CreateSecret is checked against the ARN the new secret will have. ValidateResourcePolicy
    without a SecretId names no secret, so it is checked against `*`.
    """
    if operation in ACCOUNT_SCOPED or not secret_arn:
        return "*"
    return secret_arn


def required_permissions(operation: str, request: Mapping[str, Any],
                         secret_arn: str | None) -> tuple[Permission, ...]:
    """Every IAM permission the call needs before it may run, the operation's own first."""
    resource = resource_for(operation, secret_arn)
    needs = [Permission(iam_action(operation), resource)]
    if operation == "CreateSecret" and request.get("Tags"):
        needs.append(Permission(iam_action("TagResource"), resource))
    if operation == "CreateSecret" and request.get("AddReplicaRegions"):
        needs.append(Permission(iam_action("ReplicateSecretToRegions"), resource))
    if operation == "ValidateResourcePolicy":
        needs.append(Permission(iam_action("PutResourcePolicy"), resource))
    if operation == "BatchGetSecretValue" and request.get("Filters"):
        needs.append(Permission(iam_action("ListSecrets"), "*"))
    return tuple(needs)


def batch_member_permission(secret_arn: str) -> Permission:
    """What BatchGetSecretValue checks for each secret it would return."""
    return Permission(iam_action("GetSecretValue"), secret_arn)


def _writes_value(request: Mapping[str, Any]) -> bool:
    return "SecretString" in request or "SecretBinary" in request


def key_uses(operation: str, request: Mapping[str, Any]) -> tuple[KeyUse, ...]:
    """The KMS actions an operation performs on a customer managed key.

    Writing a value, or setting or changing a key, calls GenerateDataKey and Decrypt on the
    encrypting key (Secrets Manager proves access with a throw-away data key). A key change by
    UpdateSecret also re-encrypts the labelled versions if Encrypt on the new key is allowed,
    and then needs Decrypt on each stored key. Reads decrypt with the stored key.
    """
    if operation in ("GetSecretValue", "BatchGetSecretValue"):
        return (KeyUse(KMS_DECRYPT, STORED),)
    if operation == "PutSecretValue":
        return (KeyUse(KMS_GENERATE_DATA_KEY, ENCRYPTING), KeyUse(KMS_DECRYPT, ENCRYPTING))
    if operation not in ("CreateSecret", "UpdateSecret"):
        return ()
    new_key = bool(request.get("KmsKeyId"))
    if not (_writes_value(request) or new_key):
        return ()
    uses = [KeyUse(KMS_GENERATE_DATA_KEY, ENCRYPTING), KeyUse(KMS_DECRYPT, ENCRYPTING)]
    if operation == "UpdateSecret" and new_key:
        uses += [KeyUse(KMS_ENCRYPT, ENCRYPTING, required=False),
                 KeyUse(KMS_DECRYPT, STORED, required=False)]
    return tuple(uses)


def access_denied_message(principal_arn: str, action: str, resource_arn: str, explicit: bool,
                          policy_type: str = "identity-based") -> str:
    """AWS's AccessDeniedException text: who, which action, which resource, and why.

    `policy_type` is `identity-based` or `resource-based` (key policies are resource-based).
    For actions checked against `*` the resource clause is left out, as AWS does for actions
    without resource-level permissions.
    """
    on = "" if resource_arn in ("", "*") else f" on resource: {resource_arn}"
    article = "an" if policy_type.startswith("identity") else "a"
    why = (f"with an explicit deny in {article} {policy_type} policy" if explicit
           else f"because no {policy_type} policy allows the {action} action")
    return f"User: {principal_arn} is not authorized to perform: {action}{on} {why}"

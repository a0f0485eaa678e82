"""Handlers of the resource-policy operations: a secret's own policy, kept as events on it.

PutResourcePolicy and DeleteResourcePolicy record a `ResourcePolicyChanged` on the `Secret`, so
who opened a secret to whom, and when, is in its history like every other change. Documents are
parsed with the same engine that enforces them: a document the engine would refuse to read is
`MalformedPolicyDocumentException`, never stored. Who may call these operations is decided
before the handler runs (`ledger.authorization`), like every other operation.
"""
from __future__ import annotations

from typing import Any

from ledger.outcome import Call, Outcome
from ledger.policies import (PolicyDocument, PolicyKind, check_not_public, iam_action,
                             parse_policy, validate_resource_policy, validation_response)


def _document(text: str) -> PolicyDocument:
    return parse_policy(text, PolicyKind.RESOURCE, name="resource policy")


def _named(secret: Any) -> dict[str, Any]:
    return {"ARN": secret.arn, "Name": secret.name}


def put_resource_policy(call: Call) -> Outcome:
    request, ledger = call.request, call.ledger
    document = _document(request["ResourcePolicy"])  # request-only checks first
    if request.get("BlockPublicPolicy"):
        check_not_public(document, ledger.config.account_id)
    secret = call.secret_to_change(request["SecretId"])
    secret.set_resource_policy(request["ResourcePolicy"], call.now, call.event_context,
                               call.owning_service)
    return Outcome(_named(secret), resources=[secret.arn], aggregates=[secret],
                   audit_response={"arn": secret.arn, "name": secret.name})


def get_resource_policy(call: Call) -> Outcome:
    secret = call.secret_to_read(call.request["SecretId"])
    response = _named(secret)
    if secret.resource_policy:
        response["ResourcePolicy"] = secret.resource_policy
    return Outcome(response, resources=[secret.arn])


def delete_resource_policy(call: Call) -> Outcome:
    secret = call.secret_to_change(call.request["SecretId"])
    secret.set_resource_policy(None, call.now, call.event_context, call.owning_service)
    return Outcome(_named(secret), resources=[secret.arn], aggregates=[secret],
                   audit_response={"arn": secret.arn, "name": secret.name})


def validate_policy(call: Call) -> Outcome:
    """ValidateResourcePolicy: syntax errors raise; findings (broad access, a policy that would
    lock the caller out of changing it) come back as `ValidationErrors`."""
    request, ledger = call.request, call.ledger
    document = _document(request["ResourcePolicy"])
    secret = call.secret_to_read(request["SecretId"]) if request.get("SecretId") else None
    resource = secret.arn if secret is not None else "*"
    grant = call.grant
    caller = grant.request_for(iam_action("PutResourcePolicy"), resource) if grant else None
    errors = validate_resource_policy(document, ledger.config.account_id, caller)
    return Outcome(validation_response(errors), resources=[secret.arn] if secret else [])


RESOURCE_POLICY_HANDLERS: dict[str, Any] = {
    "PutResourcePolicy": put_resource_policy, "GetResourcePolicy": get_resource_policy,
    "DeleteResourcePolicy": delete_resource_policy, "ValidateResourcePolicy": validate_policy,
}

"""Handlers of the operations that change secrets: resolve, load, command, and describe the save.

Each returns an `Outcome`; the application commits its aggregates and key-store changes in one
transaction, retrying the whole handler on a concurrent write.
"""
from __future__ import annotations

from typing import Any

from ledger import values
from ledger.errors import (
    InvalidParameterException, InvalidRequestException, ResourceExistsException,
)
from ledger.loading import load
from ledger.names import check_name
from ledger.name_index import SecretName
from ledger.outcome import Call, Outcome
from ledger.policies import KMS_DECRYPT, KMS_ENCRYPT, KMS_GENERATE_DATA_KEY
from ledger.secret import Secret

MAX_TAGS = 50


def _tag_pairs(tags: list[dict[str, str]] | None) -> list[list[str]]:
    if any(tag.get("Key") is None for tag in tags or []):  # the model leaves Key optional
        raise InvalidParameterException("Every tag must have a Key.")
    pairs = [[tag["Key"], tag.get("Value", "")] for tag in tags or []]
    for key, _ in pairs:
        if key.lower().startswith("aws:"):
            raise InvalidParameterException("Tag keys starting with 'aws:' are reserved for AWS use.")
    return pairs


def _check_tag_case(tags: list[list[str]], existing: dict[str, str] | None) -> None:
    """Refuse a key that differs only in case from another requested or existing key.

    Secrets Manager's tag keys are case-sensitive, but IAM reads condition key names, so the
    key in `aws:ResourceTag/<key>`, without regard to case: with `team` and `TEAM` on one
    secret, a policy conditioned on the team tag could be made to read the wrong one.
    """
    spelled = {key.lower(): key for key in existing or {}}
    for key, _ in tags:
        other = spelled.setdefault(key.lower(), key)
        if other != key:
            raise InvalidParameterException(
                f"The tag key {key!r} differs only in case from the tag key {other!r}; "
                "policies read tag keys without regard to case, so a secret cannot hold both.")


def _check_tag_count(count: int) -> None:
    if count > MAX_TAGS:
        raise InvalidParameterException(f"A secret can have at most {MAX_TAGS} tags.")


def _version_token(call: Call) -> str:
    return call.request.get("ClientRequestToken") or call.ledger.new_token()


def _is_retry(call: Call, secret: Secret, token: str, value: values.Plaintext) -> bool:
    """True when the caller who made the token's version sends the same value again (an
    idempotent retry); ResourceExistsException when the token is in use otherwise."""
    caller_arn = call.context.caller.arn
    same = (secret.made_by(token, caller_arn)  # for anyone else the answer is no, unasked
            and call.ledger.same_value(secret, token, value))
    return secret.check_token(token, same, caller_arn)


def _add_value(call: Call, secret: Secret, outcome: Outcome, value: values.Plaintext,
               version_id: str, stages: list[str] | None) -> list[str]:
    """Seal a new version under the secret's key and record it. The key is asked about again
    as found now: an alias re-pointed since the call was authorized names another key."""
    ledger = call.ledger
    fingerprint = ledger.fingerprint(secret, value, outcome.key_changes)
    key = ledger.kms.key_for_secret(secret.kms_key_id, call.now, call.event_context)
    if call.grant is not None:
        call.grant.require_key(KMS_GENERATE_DATA_KEY, key.arn, secret.arn)
    sealed, data_key = values.seal(ledger.kms, key, secret.arn, version_id, value, fingerprint)
    labels = secret.add_version(version_id, sealed, stages, ledger.config.limits, call.now,
                                call.event_context, call.owning_service,
                                cleanup_context=call.service_context("EndSecretVersionDelete"))
    outcome.key_changes.data_keys[(secret.id.hex, version_id)] = data_key
    return labels


def create_secret(call: Call) -> Outcome:
    request, ledger = call.request, call.ledger
    name = request["Name"]
    check_name(name, service_owned=call.owning_service is not None)
    value = values.value_from_request(request, required=False)
    tags = _tag_pairs(request.get("Tags"))
    _check_tag_case(tags, None)
    _check_tag_count(len(dict(tags)))
    token = _version_token(call) if value else None
    index = ledger.name_index(name, for_update=True)
    if index is not None and index.secret_id is not None:
        existing: Secret = load(ledger.repository, index.secret_id, for_update=False)
        if existing.scheduled_for_deletion:
            raise InvalidRequestException("You can't create this secret because a secret with "
                                          "this name is already scheduled for deletion.")
        if (value and token and existing.made_by(token, call.context.caller.arn)  # others learn nothing
                and _is_retry(call, existing, token, value)):
            response = {"ARN": existing.arn, "Name": name, "VersionId": token}
            return Outcome(response, resources=[existing.arn], audit_response={"arn": existing.arn})
        raise ResourceExistsException(f"The operation failed because the secret {name} already exists.")
    kms_key_id = request.get("KmsKeyId") or None
    arn = call.planned_arn
    if kms_key_id:
        key = ledger.kms.key_for_secret(kms_key_id, call.now, call.event_context)
        values.probe_key(ledger.kms, key, arn)
    secret = Secret.create(secret_id=ledger.new_id(), name=name, arn=arn,
                           description=request.get("Description"), kms_key_id=kms_key_id,
                           tags=tags, owning_service=call.owning_service,
                           now=call.now, context=call.event_context)
    index = index or SecretName.register(name, call.now, call.event_context)
    index.claim(secret.id, call.now, call.event_context)
    outcome = Outcome({"ARN": arn, "Name": name}, resources=[arn], aggregates=[secret, index],
                      audit_response={"arn": arn})
    if value:
        _add_value(call, secret, outcome, value, token, None)
        outcome.response["VersionId"] = token
    return outcome


def update_secret(call: Call) -> Outcome:
    request, ledger = call.request, call.ledger
    secret = call.secret_to_change(request["SecretId"])
    secret.check_writable(call.owning_service)
    value = values.value_from_request(request, required=False)
    outcome = Outcome({"ARN": secret.arn, "Name": secret.name}, resources=[secret.arn],
                      aggregates=[secret], audit_response={"arn": secret.arn})
    if request.get("Description") is not None:
        secret.change_description(request["Description"], call.now, call.event_context,
                                  call.owning_service)
    if request.get("KmsKeyId") is not None:
        _change_key(call, secret, outcome, request["KmsKeyId"] or None)
    if value is not None:
        token = _version_token(call)
        if not _is_retry(call, secret, token, value):
            _add_value(call, secret, outcome, value, token, None)
        outcome.response["VersionId"] = token
    return outcome


def _change_key(call: Call, secret: Secret, outcome: Outcome, kms_key_id: str | None) -> None:
    """New versions use the new key. Labelled versions are re-encrypted under it if the caller
    may kms:Encrypt with it, else they stay (as AWS documents). Re-encrypting opens each one on
    the caller's behalf, so the caller must also be allowed kms:Decrypt on the key sealing
    each version moved, or the whole call is refused: a value never reaches a key through a
    caller who could not have read it where it was."""
    ledger, grant = call.ledger, call.grant
    assert grant is not None  # decided before any handler runs
    key = ledger.kms.key_for_secret(kms_key_id, call.now, call.event_context)
    if kms_key_id != secret.kms_key_id:
        values.probe_key(ledger.kms, key, secret.arn)
    if not secret.change_key(kms_key_id, call.now, call.event_context, call.owning_service):
        return
    if not grant.may_use_key(KMS_ENCRYPT, key, secret.arn):
        return
    moving = [(version, ledger.data_key(secret.id.hex, version.version_id))
              for version in secret.labelled_versions()]
    moving = [(v, data_key) for v, data_key in moving
              if data_key is not None and data_key.key_arn != key.arn]
    for _, data_key in moving:  # every one is allowed before any is opened
        grant.require_key(KMS_DECRYPT, data_key.key_arn, secret.arn)
    for version, data_key in moving:
        rewrapped = values.rewrap(ledger.kms, data_key, key, secret.arn, version.version_id)
        secret.re_encrypt(version.version_id, key.arn, call.now, call.event_context)
        outcome.key_changes.data_keys[(secret.id.hex, version.version_id)] = rewrapped


def put_secret_value(call: Call) -> Outcome:
    request, ledger = call.request, call.ledger
    secret = call.secret_to_change(request["SecretId"])
    secret.check_writable(call.owning_service)
    value = values.value_from_request(request, required=True)
    token = _version_token(call)
    outcome = Outcome({"ARN": secret.arn, "Name": secret.name}, resources=[secret.arn],
                      aggregates=[secret], audit_response={"arn": secret.arn})
    if _is_retry(call, secret, token, value):
        labels = secret.stages_of(token)
    else:
        labels = _add_value(call, secret, outcome, value, token, request.get("VersionStages"))
    outcome.response.update(VersionId=token, VersionStages=labels)
    return outcome


def update_secret_version_stage(call: Call) -> Outcome:
    request = call.request
    secret = call.secret_to_change(request["SecretId"])
    secret.check_writable(call.owning_service)  # the recovery window first, as in every write
    for member in ("RemoveFromVersionId", "MoveToVersionId"):
        version_id = request.get(member)
        if version_id is not None and version_id not in secret.versions:
            raise InvalidParameterException(f"Not a valid version: {version_id}")
    secret.update_stage(request["VersionStage"], request.get("RemoveFromVersionId"),
                        request.get("MoveToVersionId"), call.ledger.config.limits, call.now,
                        call.event_context, call.owning_service)
    return Outcome({"ARN": secret.arn, "Name": secret.name}, resources=[secret.arn],
                   aggregates=[secret], audit_response={"arn": secret.arn})


def delete_secret(call: Call) -> Outcome:
    request, ledger = call.request, call.ledger
    window, force = request.get("RecoveryWindowInDays"), bool(request.get("ForceDeleteWithoutRecovery"))
    if window is not None and force:
        raise InvalidParameterException("You can't use ForceDeleteWithoutRecovery in conjunction "
                                        "with RecoveryWindowInDays.")
    if window is not None and not 7 <= window <= 30:
        raise InvalidParameterException("The RecoveryWindowInDays value must be between 7 and 30 "
                                        "days (inclusive).")
    secret = call.secret_to_change(request["SecretId"], missing_ok=force)
    if secret is None:  # a forced delete of an unknown secret is not an error
        return Outcome({"Name": request["SecretId"], "DeletionDate": round(call.now.timestamp(), 3)})
    if secret.owning_service:
        secret.check_writable(call.owning_service)
    outcome = Outcome({"ARN": secret.arn, "Name": secret.name}, resources=[secret.arn],
                      aggregates=[secret])
    if force:
        outcome.aggregates.append(ledger.finish_deletion(secret, call.now, call.event_context))
        deletion_date = call.now
    else:
        secret.schedule_deletion(window or 30, call.now, call.event_context)
        deletion_date = secret.deletion.delete_after
    outcome.response["DeletionDate"] = round(deletion_date.timestamp(), 3)
    outcome.audit_response = {"arn": secret.arn, "name": secret.name,
                              "deletionDate": outcome.response["DeletionDate"]}
    return outcome


def restore_secret(call: Call) -> Outcome:
    secret = call.secret_to_change(call.request["SecretId"])
    secret.cancel_deletion(call.now, call.event_context)
    return Outcome({"ARN": secret.arn, "Name": secret.name}, resources=[secret.arn],
                   aggregates=[secret], audit_response={"arn": secret.arn})


def tag_resource(call: Call) -> Outcome:
    tags = _tag_pairs(call.request["Tags"])  # request-only checks first, as CreateSecret's
    secret = call.secret_to_change(call.request["SecretId"])
    secret.check_writable(call.owning_service)
    _check_tag_case(tags, secret.tags)
    _check_tag_count(len({**(secret.tags or {}), **dict(tags)}))
    secret.tag(tags, call.now, call.event_context, call.owning_service)
    return Outcome({}, resources=[secret.arn], aggregates=[secret])


def untag_resource(call: Call) -> Outcome:
    secret = call.secret_to_change(call.request["SecretId"])
    secret.untag(list(call.request["TagKeys"]), call.now, call.event_context,
                 call.owning_service)
    return Outcome({}, resources=[secret.arn], aggregates=[secret])


WRITE_HANDLERS: dict[str, Any] = {
    "CreateSecret": create_secret, "UpdateSecret": update_secret,
    "PutSecretValue": put_secret_value, "UpdateSecretVersionStage": update_secret_version_stage,
    "DeleteSecret": delete_secret, "RestoreSecret": restore_secret,
    "TagResource": tag_resource, "UntagResource": untag_resource,
}

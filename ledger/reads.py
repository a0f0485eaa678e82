"""Handlers of the operations that only read: values, descriptions, listings, passwords.

GetSecretValue is the one read that must go through the aggregate, which alone holds the sealed
value. Every read is still recorded as an API call, and the first read of a version on a day
records its access date, as AWS's LastAccessedDate does.
"""
from __future__ import annotations

from datetime import datetime, time, timezone
from typing import Any

from ledger import listing, values
from ledger.errors import (
    MARKED_FOR_DELETION, SECRET_NOT_FOUND, AccessDeniedException, InvalidParameterException,
    InvalidRequestException, LedgerError, ResourceNotFoundException,
)
from ledger.labels import CURRENT
from ledger.outcome import Call, Outcome
from ledger.passwords import generate_password
from ledger.policies import KMS_DECRYPT
from ledger.secret import Secret, Version
from ledger.shapes import epoch, secret_entry, version_entry


def _day(moment: datetime) -> datetime:
    return datetime.combine(moment.date(), time(0), tzinfo=timezone.utc)


def _select_version(secret: Secret, version_id: str | None, stage: str | None) -> Version:
    if version_id is not None:
        version = secret.versions.get(version_id)
        if version is None:
            raise ResourceNotFoundException(
                f"Secrets Manager can't find the specified secret value for VersionId: {version_id}")
        if stage is not None and stage not in secret.stages_of(version_id):
            raise InvalidRequestException(
                "You provided a VersionStage that is not associated to the provided VersionId.")
        return version
    label = stage or CURRENT
    version = secret.version_for(None, label)
    if version is None:
        raise ResourceNotFoundException(
            f"Secrets Manager can't find the specified secret value for staging label: {label}")
    return version


def _read_value(call: Call, secret: Secret, version_id: str | None,
                stage: str | None) -> dict[str, Any]:
    """Decrypt one version and note the day's access on the aggregate."""
    if secret.scheduled_for_deletion:
        raise InvalidRequestException(MARKED_FOR_DELETION)
    version = _select_version(secret, version_id, stage)
    ledger = call.ledger
    data_key = ledger.data_key(secret.id.hex, version.version_id)
    if data_key is not None and data_key.key_arn != version.sealed.key_arn and call.grant:
        # re-encrypted since this copy was read: the key that will open it is not the one the
        # call was authorized for, so it is asked about too
        call.grant.require_key(KMS_DECRYPT, data_key.key_arn, secret.arn)
    plaintext = values.unseal(ledger.kms, data_key, secret.arn, version.version_id, version.sealed)
    secret.record_access(version.version_id, _day(call.now), call.now, call.event_context)
    return {"ARN": secret.arn, "Name": secret.name, "VersionId": version.version_id,
            **plaintext.as_response(), "VersionStages": secret.stages_of(version.version_id),
            "CreatedDate": epoch(version.created_at)}


def get_secret_value(call: Call) -> Outcome:
    request = call.request
    secret = call.secret_to_read(request["SecretId"])
    response = _read_value(call, secret, request.get("VersionId"), request.get("VersionStage"))
    return Outcome(response, resources=[secret.arn], aggregates=[secret])


def batch_get_secret_value(call: Call) -> Outcome:
    request, ledger = call.request, call.ledger
    ids, filters = request.get("SecretIdList"), request.get("Filters")
    if (ids is None) == (filters is None):
        raise InvalidParameterException("Either 'SecretIdList' or 'Filters' must be provided, "
                                        "but not both.")
    if request.get("MaxResults") is not None and filters is None:
        raise InvalidParameterException("'Filters' not specified. 'Filters' must also be "
                                        "specified when 'MaxResults' is provided.")
    next_token = None
    grant = call.grant
    if filters is not None:  # secrets the caller may not know of are not even matched
        live = [s for s in ledger.all_secrets() if not s.scheduled_for_deletion
                and (grant is None or grant.may_know(s))]
        listing.check_filters(filters)
        matching = [s for s in live if listing.matches_filters(secret_entry(s), filters)]
        page, next_token = listing.paginate(
            matching, request.get("MaxResults"), request.get("NextToken"),
            listing.request_fingerprint({**request, "Operation": call.context.operation}),
            default_max=20)
        targets: list[tuple[str, Secret | None]] = [(s.arn, s) for s in page]
    else:
        targets = [(secret_id, None) for secret_id in dict.fromkeys(ids)]
    outcome = Outcome({"SecretValues": [], "Errors": []})
    loaded: dict[str, Secret] = {}  # one instance per secret, however many ids name it
    for secret_id, secret in targets:
        try:
            secret = secret or ledger.find_secret(secret_id, missing_ok=True)
            refusal = grant.read_refusal(secret_id, secret) if grant is not None else None
            if refusal is not None:
                raise refusal
            if secret is None:
                raise ResourceNotFoundException(SECRET_NOT_FOUND)
            secret = loaded.setdefault(secret.arn, secret)
            outcome.response["SecretValues"].append(_read_value(call, secret, None, None))
        except LedgerError as error:
            outcome.response["Errors"].append(
                {"SecretId": secret_id, "ErrorCode": error.code, "Message": error.message})
            if isinstance(error, AccessDeniedException):
                outcome.refused_reads.append((secret_id, error.message))
            continue
        if secret.arn not in outcome.reads:
            outcome.aggregates.append(secret)
            outcome.reads.append(secret.arn)
    if next_token:
        outcome.response["NextToken"] = next_token
    outcome.resources = list(outcome.reads)
    return outcome


def describe_secret(call: Call) -> Outcome:
    secret = call.ledger.read_models.find_secret(call.request["SecretId"])
    return Outcome(secret_entry(secret), resources=[secret.arn])


def list_secrets(call: Call) -> Outcome:
    request = call.request
    secrets = call.ledger.read_models.all_secrets()
    if not request.get("IncludePlannedDeletion"):
        secrets = [s for s in secrets if not s.scheduled_for_deletion]
    if call.grant is not None:  # only what the caller may describe, before filters and paging
        secrets = call.grant.visible(secrets)
    entries = listing.filter_entries(
        [secret_entry(s, "SecretVersionsToStages") for s in secrets], request.get("Filters"))
    entries = listing.sort_entries(entries, request.get("SortBy"), request.get("SortOrder"))
    page, next_token = listing.paginate(
        entries, request.get("MaxResults"), request.get("NextToken"),
        listing.request_fingerprint({**request, "Operation": call.context.operation}))
    response: dict[str, Any] = {"SecretList": page}
    if next_token:
        response["NextToken"] = next_token
    return Outcome(response)


def list_secret_version_ids(call: Call) -> Outcome:
    request, read_models = call.request, call.ledger.read_models
    secret = read_models.find_secret(request["SecretId"])
    versions = sorted(secret.versions.values(), key=lambda v: v.created_at, reverse=True)
    if not request.get("IncludeDeprecated"):
        versions = [v for v in versions if secret.stages_of(v.version_id)]
    default_key = read_models.default_key_arn()
    entries = [version_entry(secret, v, default_key) for v in versions]
    page, next_token = listing.paginate(
        entries, request.get("MaxResults"), request.get("NextToken"),
        listing.request_fingerprint({**request, "Operation": call.context.operation}))
    response: dict[str, Any] = {"Versions": page, "ARN": secret.arn, "Name": secret.name}
    if next_token:
        response["NextToken"] = next_token
    return Outcome(response, resources=[secret.arn])


def get_random_password(call: Call) -> Outcome:
    return Outcome({"RandomPassword": generate_password(call.request, call.ledger.rng)})


READ_HANDLERS: dict[str, Any] = {
    "GetSecretValue": get_secret_value, "BatchGetSecretValue": batch_get_secret_value,
    "DescribeSecret": describe_secret, "ListSecrets": list_secrets,
    "ListSecretVersionIds": list_secret_version_ids, "GetRandomPassword": get_random_password,
}

"""CloudTrail records from the log's events: pure functions, no storage.

A record is built only from what the events carry: the request context (who, from where, which
parameters, already stripped of `sensitive` members before any event existed), the outcome
(resources, response, error) and, for calls that stored a value, its keyed fingerprint. So no
record can contain a secret value, whatever the caller sent.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

EVENT_VERSION = "1.11"
EVENT_SOURCE = "secretsmanager.amazonaws.com"
RESOURCE_TYPE = "AWS::SecretsManager::Secret"
MAX_FIELD = 1024  # userAgent, errorCode and errorMessage are cut at 1 KB
_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")


def event_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def camel(value: Any) -> Any:
    """Request members as CloudTrail logs them: lowerCamelCase keys, at every depth."""
    if isinstance(value, dict):
        return {_lower_first(k): camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def _lower_first(key: str) -> str:
    return key[:1].lower() + key[1:]


def secret_name_of(arn: str) -> str | None:
    """The secret name inside a secret ARN (the ARN minus its random suffix)."""
    parts = arn.split(":", 6)
    if len(parts) < 7 or parts[2] != "secretsmanager" or parts[5] != "secret":
        return None
    return _SUFFIX.sub("", parts[6])


def resources(arns: list[str], account_id: str) -> list[dict[str, str]]:
    return [{"ARN": arn, "accountId": account_id, "type": RESOURCE_TYPE} for arn in arns]


def user_identity(caller: dict[str, Any]) -> dict[str, Any]:
    identity: dict[str, Any] = {"type": caller.get("principal_type") or "Unknown"}
    for field, member in (("principalId", "principal_id"), ("arn", "arn"),
                          ("accountId", "account_id"), ("accessKeyId", "access_key_id")):
        if caller.get(member):
            identity[field] = caller[member]
    if identity["type"] == "IAMUser":
        identity["userName"] = _last_segment(caller.get("arn", ""))
    return identity


def service_identity(account_id: str) -> dict[str, Any]:
    return {"accountId": account_id, "invokedBy": EVENT_SOURCE}


def lookup_username(record: dict[str, Any]) -> str | None:
    """The `Username` LookupEvents matches: user name, "root", or the role session name."""
    identity = record["userIdentity"]
    kind = identity.get("type")
    if kind == "IAMUser":
        return identity.get("userName")
    if kind == "Root":
        return "root"
    if kind == "AWSService" or "invokedBy" in identity:
        return identity.get("invokedBy")
    arn = identity.get("arn")
    return _last_segment(arn) if arn else None


def _last_segment(arn: str) -> str:
    return arn.rsplit("/", 1)[-1] if "/" in arn else arn.rsplit(":", 1)[-1]


def api_call_record(event: Any, account_id: str, value_hash: str | None = None,
                    removed_version: str | None = None) -> dict[str, Any]:
    """One `ApiCallRecorded` event as a CloudTrail record (API call or service event)."""
    context = event.context
    service = event.event_type == "AwsServiceEvent"
    failed = event.error_code is not None
    record: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": service_identity(account_id) if service
        else user_identity(context.get("caller") or {}),
        "eventTime": event_time(event.timestamp),
        "eventSource": EVENT_SOURCE,
        "eventName": context["operation"],
        "awsRegion": context["region"],
        "sourceIPAddress": EVENT_SOURCE if service else context.get("source_ip"),
        "userAgent": EVENT_SOURCE if service else (context.get("user_agent") or "")[:MAX_FIELD],
    }
    if failed:
        record["errorCode"] = event.error_code[:MAX_FIELD]
        record["errorMessage"] = (event.error_message or "")[:MAX_FIELD]
    record["requestParameters"] = None if service else _request_parameters(event)
    record["responseElements"] = (None if service or failed or event.read_only
                                  else event.response)
    additional: dict[str, Any] = {}
    if service and event.resources:
        additional["SecretId"] = event.resources[0]
    if removed_version is not None:
        additional["VersionId"] = removed_version
    if value_hash is not None:
        additional["secretValueHash"] = value_hash
    additional.update(refusal_counts(context))
    if additional:
        record["additionalEventData"] = additional
    record.update(_trailer(context["request_id"], str(event.originator_id), event.read_only,
                           event.resources, event.event_type, account_id))
    return record


def refusal_counts(context: dict[str, Any]) -> dict[str, Any]:
    """For a record standing for a group of refusals before authentication (see
    `ledger.refusals`): how many, how many throttled, the first and last time, the interval."""
    group = context.get("refusals")
    if not group:
        return {}
    return {"count": group["count"], "throttledCount": group["throttled"],
            "firstEventTime": event_time(datetime.fromisoformat(group["first"])),
            "lastEventTime": event_time(datetime.fromisoformat(group["last"])),
            "intervalSeconds": group["interval_seconds"]}


def _request_parameters(event: Any) -> dict[str, Any] | None:
    parameters = dict(event.context.get("parameters") or {})
    if (event.context["operation"] == "GetSecretValue" and "SecretId" not in parameters
            and len(event.resources) == 1):
        parameters = {"SecretId": event.resources[0]}  # one secret of a BatchGetSecretValue
    return camel(parameters) or None


def _trailer(request_id: str, event_id: str, read_only: bool, arns: list[str], event_type: str,
             account_id: str) -> dict[str, Any]:
    return {
        "requestID": request_id,
        "eventID": event_id,
        "readOnly": bool(read_only),
        "resources": resources(arns, account_id),
        "eventType": event_type,
        "managementEvent": True,
        "recipientAccountId": account_id,
        "eventCategory": "Management",
    }


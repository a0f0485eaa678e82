"""An audit report of a period: pure data, summed from CloudTrail records and key events.

Calls are counted as CloudTrail counts records: a BatchGetSecretValue also counts one
GetSecretValue per secret it returned, and the ledger's own actions (version cleanup, the end
of a recovery window) are service events, counted apart from callers' calls.

"Denied" means refused for who asked (AccessDeniedException and the authentication failures);
every other error is "failed". "Sensitive" secrets are those whose tags matched a rule at
some moment of the period, and a sensitive read is one of a secret tagged sensitive when it
was read (`projections.sensitivity`).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ledger.events import KeyChanged, SecretCreated, VersionReEncrypted
from ledger.keys.kms_key import (
    AliasAssigned, AliasRetargeted, KeyCreated, KeyPolicyChanged, KeyStateChanged,
)
from projections.cloudtrail import secret_name_of
from projections.history import DEFAULT_KEY, DENIAL_CODES
from projections.integrity_status import IntegrityStatus
from projections.sensitivity import DEFAULT_RULES, SensitiveRule, TagsOverTime


@dataclass(frozen=True)
class CallRow:
    """One call in a list: failed, denied, or a read of a sensitive secret."""

    at: str
    who: str
    operation: str
    secret: str
    request_id: str
    source_ip: str
    error_code: str | None = None
    error_message: str | None = None
    version: str | None = None


@dataclass
class SecretChange:
    arn: str
    name: str
    operations: Counter = field(default_factory=Counter)
    principals: set[str] = field(default_factory=set)
    first_at: str = ""
    last_at: str = ""

    @property
    def count(self) -> int:
        return sum(self.operations.values())


@dataclass(frozen=True)
class KeyChange:
    at: str
    subject: str  # a KMS key, an alias or a secret
    change: str
    who: str
    request_id: str


@dataclass
class PeriodReport:
    start: datetime | None
    end: datetime | None
    rules: list[str]
    calls: int = 0
    service_events: int = 0
    by_operation: Counter = field(default_factory=Counter)
    by_principal: Counter = field(default_factory=Counter)
    errors_by_code: Counter = field(default_factory=Counter)
    failed: list[CallRow] = field(default_factory=list)
    denied: list[CallRow] = field(default_factory=list)
    secrets_changed: list[SecretChange] = field(default_factory=list)
    keys_changed: list[KeyChange] = field(default_factory=list)
    sensitive_secrets: list[str] = field(default_factory=list)  # names
    sensitive_reads: list[CallRow] = field(default_factory=list)
    integrity: IntegrityStatus | None = None  # when verify was run


def principal_of(record: Mapping[str, Any]) -> str:
    identity = record.get("userIdentity") or {}
    return identity.get("arn") or identity.get("invokedBy") or identity.get("type") or "?"


def summarize(records: Iterable[tuple[int, Mapping[str, Any]]],
              log_events: Sequence[tuple[int, Any]], rules: Sequence[SensitiveRule],
              start: datetime | None, end: datetime | None) -> PeriodReport:
    """The report of records (those of the period, with their log positions, in log order)
    and of the key and tag events of the whole log (with positions, in log order): events
    before the period set the scene, those after it are not counted."""
    rules = list(rules) or list(DEFAULT_RULES)
    tags = TagsOverTime(rules)
    report = PeriodReport(start, end, [str(rule) for rule in rules])
    changed: dict[str, SecretChange] = {}
    events = iter(log_events)
    upcoming = next(events, None)
    for position, record in records:
        while upcoming is not None and upcoming[0] < position:
            _observe(tags, upcoming[1], start, end)
            upcoming = next(events, None)
        tags.watch()
        _count(report, record, tags, changed)
    while upcoming is not None:
        _observe(tags, upcoming[1], start, end)
        upcoming = next(events, None)
    tags.watch()  # a period without records still names what was sensitive in it
    report.sensitive_secrets = sorted(secret_name_of(arn) or arn for arn in tags.ever_sensitive)
    report.secrets_changed = sorted(changed.values(), key=lambda c: (-c.count, c.name))
    report.keys_changed = key_changes([event for _, event in log_events], start, end)
    return report


def _observe(tags: TagsOverTime, event: Any, start: datetime | None,
             end: datetime | None) -> None:
    if end is not None and event.timestamp > end:
        return  # after the period: nothing in the report depends on it
    if start is None or event.timestamp >= start:
        tags.watch()
    tags.apply(event)


def _count(report: PeriodReport, record: Mapping[str, Any], tags: TagsOverTime,
           changed: dict[str, SecretChange]) -> None:
    operation = record.get("eventName") or "?"
    who = principal_of(record)
    arns = [r.get("ARN") for r in record.get("resources") or [] if r.get("ARN")]
    calls = (record.get("additionalEventData") or {}).get("count", 1)  # a counted group: many
    if record.get("eventType") == "AwsServiceEvent":
        report.service_events += 1
    else:
        report.calls += calls
        report.by_operation[operation] += calls
        report.by_principal[who] += calls
    code = record.get("errorCode")
    if code is not None:
        report.errors_by_code[code] += calls
        row = _row(record, who, operation, arns)
        (report.denied if code in DENIAL_CODES else report.failed).append(row)
        return
    if not record.get("readOnly"):
        for arn in arns:
            change = changed.get(arn)
            if change is None:
                change = changed[arn] = SecretChange(arn, secret_name_of(arn) or arn,
                                                     first_at=record.get("eventTime", ""))
            change.operations[operation] += 1
            change.principals.add(who)
            change.last_at = record.get("eventTime", "")
    elif operation == "GetSecretValue" and any(tags.sensitive(arn) for arn in arns):
        report.sensitive_reads.append(_row(record, who, operation, arns))


def _row(record: Mapping[str, Any], who: str, operation: str, arns: list[str]) -> CallRow:
    parameters = record.get("requestParameters") or {}
    secret = (", ".join(secret_name_of(arn) or arn for arn in arns)
              or str(parameters.get("secretId") or parameters.get("name") or ""))
    version = parameters.get("versionId") or parameters.get("versionStage")
    return CallRow(at=record.get("eventTime", ""), who=who, operation=operation, secret=secret,
                   request_id=record.get("requestID", ""),
                   source_ip=record.get("sourceIPAddress") or "",
                   error_code=record.get("errorCode"), error_message=record.get("errorMessage"),
                   version=str(version) if version else None)


def key_changes(events: Iterable[Any], start: datetime | None,
                end: datetime | None) -> list[KeyChange]:
    """What happened to keys within start..end: KMS keys created, disabled, enabled, scheduled
    for deletion or given a policy; aliases pointed at keys; secrets moved to another key and
    versions re-encrypted."""
    names: dict[Any, str] = {}  # aggregate id -> key id, alias or secret name
    changes = []
    for event in events:
        subject, change = _describe_key_event(event, names)
        if change is None:
            continue
        at = event.timestamp
        if (start is not None and at < start) or (end is not None and at > end):
            continue
        context = getattr(event, "context", None) or {}
        caller = context.get("caller") or {}
        changes.append(KeyChange(at=_iso(at), subject=subject, change=change,
                                 who=caller.get("arn") or "?",
                                 request_id=str(context.get("request_id") or "")))
    return changes


def _describe_key_event(event: Any, names: dict[Any, str]) -> tuple[str, str | None]:
    oid = event.originator_id
    if isinstance(event, SecretCreated):
        names[oid] = event.name
        return event.name, None
    if isinstance(event, KeyCreated):
        names[oid] = event.arn
        return event.arn, f"key created ({event.key_manager}, {event.description!r})"
    if isinstance(event, AliasAssigned):
        names[oid] = event.alias
        return event.alias, f"alias points at key {event.key_id}"
    subject = names.get(oid, str(oid))
    if isinstance(event, KeyStateChanged):
        return subject, f"key state -> {event.state}"
    if isinstance(event, KeyPolicyChanged):
        return subject, "key policy replaced"
    if isinstance(event, AliasRetargeted):
        return subject, f"alias points at key {event.key_id or '(none)'}"
    if isinstance(event, KeyChanged):
        return subject, (f"secret key {event.from_key or DEFAULT_KEY} -> "
                         f"{event.to_key or DEFAULT_KEY}")
    if isinstance(event, VersionReEncrypted):
        return subject, (f"version {event.version_id} re-encrypted {event.from_key_arn} -> "
                         f"{event.to_key_arn}")
    return subject, None


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

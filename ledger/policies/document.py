"""IAM JSON policy documents: parsed once, validated strictly, kept as frozen dataclasses.

A document that an attacker or a typo can make ambiguous is refused rather than guessed at:
duplicate JSON keys, unknown elements, `Action` together with `NotAction`, a principal in an
identity policy, a resource or key policy without one. Every refusal is a
`MalformedPolicyDocumentException` whose message names the statement and the problem.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from functools import cached_property
from typing import Any

from ledger.errors import MalformedPolicyDocumentException
from ledger.policies.conditions import Condition, ConditionSyntaxError, parse_conditions
from ledger.policies.matching import ActionPatterns, ArnPatterns, compile_actions, compile_arns

VERSIONS = ("2012-10-17", "2008-10-17")
DEFAULT_VERSION = "2008-10-17"
"""IAM's default when a document leaves out Version (and the reason variables stay literal)."""
ALLOW, DENY = "Allow", "Deny"
RESOURCE_POLICY_MAX_CHARS = 20480
KEY_POLICY_MAX_CHARS = 32768

_TOP_LEVEL = {"Version", "Id", "Statement"}
_STATEMENT = {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource",
              "NotResource", "Condition"}
_ACTION = re.compile(r"[A-Za-z0-9-]+:[A-Za-z0-9*?]+")
_ACCOUNT = re.compile(r"\d{12}")
_PRINCIPAL_ARN = re.compile(
    r"arn:aws(?:-cn|-us-gov)?:(?:iam::\d{12}:(?:root|user/.+|role/.+|federated-user/.+)"
    r"|sts::\d{12}:(?:assumed-role/[^/]+/.+|federated-user/.+))")  # one way to read each
_SERVICE = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)+")


class PolicyKind(str, Enum):
    """Where a document is attached, which decides whether it must or must not name principals."""

    IDENTITY = "identity"
    RESOURCE = "resource"
    KEY = "key"


@dataclass(frozen=True)
class Principals:
    """A Principal or NotPrincipal element.

    Account ids are stored as their account-principal ARN (`arn:aws:iam::<id>:root`), the form
    IAM normalises them to, so matching has one case to handle.
    """

    anyone: bool = False
    aws: tuple[str, ...] = ()
    services: tuple[str, ...] = ()


@dataclass(frozen=True)
class Statement:
    """One statement; `index` is its 1-based position, for messages and audit records."""

    index: int
    effect: str
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    conditions: tuple[Condition, ...] = ()
    principals: Principals | None = None
    not_principal: bool = False
    sid: str | None = None

    @property
    def label(self) -> str:
        return f"statement {self.index}" + (f" ({self.sid})" if self.sid else "")

    @cached_property
    def action_pattern(self) -> ActionPatterns:
        """All Action (or NotAction) patterns, compiled once: evaluation runs hot."""
        return compile_actions(self.actions)

    @cached_property
    def resource_pattern(self) -> ArnPatterns | None:
        """All Resource patterns, compiled once; None when variables make them request-dependent."""
        if any("${" in r for r in self.resources):
            return None
        return compile_arns(self.resources)


@dataclass(frozen=True)
class PolicyDocument:
    """A parsed document; `name` says where it came from (policy name, `resource policy`, key id)."""

    kind: PolicyKind
    version: str
    statements: tuple[Statement, ...]
    id: str | None = None
    name: str = ""

    @property
    def variables(self) -> bool:
        """Policy variables are substituted only in 2012-10-17 documents."""
        return self.version == "2012-10-17"


def malformed(detail: str) -> MalformedPolicyDocumentException:
    return MalformedPolicyDocumentException(f"This policy has invalid syntax. {detail}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise malformed(f"The key {key!r} appears more than once in one object.")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise malformed(f"{name} is not a valid JSON value.")


def _load(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise malformed(f"The document is not valid JSON ({error.msg} at character {error.pos}).")
    except RecursionError:  # thousands of nested brackets: no policy needs more than a few
        raise malformed("The document is nested too deeply.") from None


def _strings(value: Any, where: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) and item for item in items):
        raise malformed(f"{where} must be a non-empty string or a non-empty list of strings.")
    return tuple(items)


def _actions(value: Any, where: str) -> tuple[str, ...]:
    actions = _strings(value, where)
    for action in actions:
        if action != "*" and not _ACTION.fullmatch(action):
            raise malformed(f"{where} has an invalid action {action!r}: use service:Action, with "
                            "wildcards only in the action name.")
    return actions


def _resources(value: Any, where: str) -> tuple[str, ...]:
    resources = _strings(value, where)
    for resource in resources:
        if resource != "*" and not resource.startswith("arn:"):
            raise malformed(f"{where} has an invalid resource {resource!r}: use an ARN or '*'.")
    return resources


def _principals(value: Any, where: str) -> Principals:
    if value == "*":
        return Principals(anyone=True)
    if not isinstance(value, Mapping) or not value:
        raise malformed(f"{where} must be \"*\" or an object such as {{\"AWS\": [...]}}.")
    aws: list[str] = []
    services: list[str] = []
    for kind, entries in value.items():
        if kind == "AWS":
            for entry in _strings(entries, f"{where} AWS"):
                aws.append(_aws_principal(entry, where))
        elif kind == "Service":
            for entry in _strings(entries, f"{where} Service"):
                if not _SERVICE.fullmatch(entry):
                    raise malformed(f"{where} has an invalid service principal {entry!r}.")
                services.append(entry)
        else:
            raise malformed(f"{where} uses the unsupported principal type {kind!r}.")
    return Principals(anyone="*" in aws, aws=tuple(a for a in aws if a != "*"),
                      services=tuple(services))


def _aws_principal(entry: str, where: str) -> str:
    if entry == "*":
        return entry
    if _ACCOUNT.fullmatch(entry):
        return f"arn:aws:iam::{entry}:root"
    if "*" in entry or "?" in entry or not _PRINCIPAL_ARN.fullmatch(entry):
        raise malformed(f"{where} has an invalid principal {entry!r}: use an account id, an IAM "
                        "user or role ARN, or \"*\".")
    return entry


def _statement(raw: Any, index: int, kind: PolicyKind) -> Statement:
    where = f"Statement {index}"
    if not isinstance(raw, Mapping):
        raise malformed(f"{where} must be an object.")
    unknown = set(raw) - _STATEMENT
    if unknown:
        raise malformed(f"{where} has unknown element(s): {', '.join(sorted(unknown))}.")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise malformed(f"{where} Sid must be a string.")
    effect = raw.get("Effect")
    if effect is None:
        raise malformed(f"{where} is missing Effect.")
    if effect not in (ALLOW, DENY):
        raise malformed(f"{where} Effect must be \"Allow\" or \"Deny\".")
    if ("Action" in raw) == ("NotAction" in raw):
        raise malformed(f"{where} must have exactly one of Action or NotAction.")
    if "Resource" in raw and "NotResource" in raw:
        raise malformed(f"{where} must not have both Resource and NotResource.")
    if "Principal" in raw and "NotPrincipal" in raw:
        raise malformed(f"{where} must not have both Principal and NotPrincipal.")
    names_principal = "Principal" in raw or "NotPrincipal" in raw
    if kind is PolicyKind.IDENTITY and names_principal:
        raise malformed(f"{where}: an identity-based policy must not have Principal or "
                        "NotPrincipal.")
    if kind is not PolicyKind.IDENTITY and not names_principal:
        raise malformed(f"{where}: a {kind.value} policy must name a Principal.")
    if kind is PolicyKind.IDENTITY and "Resource" not in raw and "NotResource" not in raw:
        raise malformed(f"{where} must contain Resource or NotResource.")
    not_action = "NotAction" in raw
    action_key = "NotAction" if not_action else "Action"
    not_resource = "NotResource" in raw
    resource_key = "NotResource" if not_resource else "Resource"
    # A resource or key policy applies to the resource it is attached to; no Resource means "*".
    resources = _resources(raw[resource_key], f"{where} {resource_key}") if resource_key in raw \
        else ("*",)
    principals = None
    not_principal = "NotPrincipal" in raw
    if names_principal:
        principal_key = "NotPrincipal" if not_principal else "Principal"
        principals = _principals(raw[principal_key], f"{where} {principal_key}")
    try:
        conditions = parse_conditions(raw["Condition"]) if "Condition" in raw else ()
    except ConditionSyntaxError as error:
        raise malformed(f"{where}: {error}") from None
    return Statement(index=index, effect=effect,
                     actions=_actions(raw[action_key], f"{where} {action_key}"),
                     not_action=not_action, resources=resources, not_resource=not_resource,
                     conditions=conditions, principals=principals, not_principal=not_principal,
                     sid=sid or None)


def _limit(kind: PolicyKind, max_chars: int | None) -> int | None:
    if max_chars is not None:
        return max_chars
    return {PolicyKind.RESOURCE: RESOURCE_POLICY_MAX_CHARS,
            PolicyKind.KEY: KEY_POLICY_MAX_CHARS}.get(kind)


def parse_policy(document: str | Mapping[str, Any], kind: PolicyKind, *, name: str = "",
                 max_chars: int | None = None) -> PolicyDocument:
    """Parse and validate a document given as JSON text (or an already decoded object).

    Size limits: 20,480 characters for secret resource policies (the Secrets Manager quota) and
    32,768 for key policies (KMS's); identity policies have no limit here unless one is passed.
    """
    text = document if isinstance(document, str) else json.dumps(document)
    limit = _limit(kind, max_chars)
    if limit is not None and len(text) > limit:
        raise malformed(f"The policy is {len(text)} characters; the maximum is {limit}.")
    raw = _load(text) if isinstance(document, str) else document
    if not isinstance(raw, Mapping):
        raise malformed("The document must be a JSON object.")
    unknown = set(raw) - _TOP_LEVEL
    if unknown:
        raise malformed(f"Unknown top-level element(s): {', '.join(sorted(unknown))}.")
    version = raw.get("Version", DEFAULT_VERSION)
    if version not in VERSIONS:
        raise malformed(f"Version must be \"2012-10-17\" or \"2008-10-17\", not {version!r}.")
    policy_id = raw.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise malformed("Id must be a string.")
    if "Statement" not in raw:
        raise malformed("The document has no Statement.")
    items = raw["Statement"] if isinstance(raw["Statement"], list) else [raw["Statement"]]
    if not items:
        raise malformed("Statement must not be empty.")
    statements = tuple(_statement(item, i, kind) for i, item in enumerate(items, start=1))
    sids = [s.sid for s in statements if s.sid]
    if len(sids) != len(set(sids)):
        raise malformed("Statement ids (Sid) must be unique within a policy.")
    return PolicyDocument(kind=kind, version=version, statements=statements, id=policy_id,
                          name=name)

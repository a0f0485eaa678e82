"""Parsing and validating policy documents: every refusal is MalformedPolicyDocumentException."""
from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from ledger.errors import MalformedPolicyDocumentException
from ledger.policies import PolicyKind, parse_policy
from ledger.policies.document import RESOURCE_POLICY_MAX_CHARS

IDENTITY, RESOURCE, KEY = PolicyKind.IDENTITY, PolicyKind.RESOURCE, PolicyKind.KEY
GET = "secretsmanager:GetSecretValue"


def doc(*statements: Any, **top: Any) -> str:
    return json.dumps({"Version": "2012-10-17", **top, "Statement": list(statements)})


ALLOW_GET = {"Effect": "Allow", "Action": GET, "Resource": "*"}
TO_BOB = {"Principal": {"AWS": "arn:aws:iam::123456789012:user/bob"}}

INVALID: list[tuple[str, str, PolicyKind, str]] = [
    ("not-json", "{\"Version\": ", IDENTITY, "not valid JSON"),
    ("not-an-object", "[]", IDENTITY, "must be a JSON object"),
    ("nan", '{"Version": "2012-10-17", "Statement": [], "Id": NaN}', IDENTITY, "NaN"),
    ("duplicate-key", '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
     '"Effect": "Deny", "Action": "*", "Resource": "*"}]}', IDENTITY, "more than once"),
    ("bad-version", doc(ALLOW_GET, Version="2019-10-19"), IDENTITY, "Version must be"),
    ("unknown-top-level", doc(ALLOW_GET, Owner="me"), IDENTITY, "Unknown top-level"),
    ("no-statement", json.dumps({"Version": "2012-10-17"}), IDENTITY, "no Statement"),
    ("empty-statement", json.dumps({"Version": "2012-10-17", "Statement": []}), IDENTITY,
     "must not be empty"),
    ("statement-not-object", doc("Allow"), IDENTITY, "Statement 1 must be an object"),
    ("missing-effect", doc({"Action": GET, "Resource": "*"}), IDENTITY, "missing Effect"),
    ("lowercase-effect", doc({**ALLOW_GET, "Effect": "allow"}), IDENTITY, "Effect must be"),
    ("action-and-not-action", doc({**ALLOW_GET, "NotAction": "kms:*"}), IDENTITY,
     "exactly one of Action or NotAction"),
    ("no-action", doc({"Effect": "Allow", "Resource": "*"}), IDENTITY,
     "exactly one of Action or NotAction"),
    ("resource-and-not-resource", doc({**ALLOW_GET, "NotResource": "arn:aws:s3:::b"}),
     IDENTITY, "both Resource and NotResource"),
    ("identity-without-resource", doc({"Effect": "Allow", "Action": GET}), IDENTITY,
     "must contain Resource or NotResource"),
    ("empty-action-list", doc({**ALLOW_GET, "Action": []}), IDENTITY, "non-empty"),
    ("action-not-string", doc({**ALLOW_GET, "Action": {"a": 1}}), IDENTITY, "non-empty"),
    ("action-two-colons", doc({**ALLOW_GET, "Action": "secretsmanager:Get:Secret"}), IDENTITY,
     "invalid action"),
    ("action-vendor-wildcard", doc({**ALLOW_GET, "Action": "secrets*:Get"}), IDENTITY,
     "invalid action"),
    ("resource-not-arn", doc({**ALLOW_GET, "Resource": "prod/db"}), IDENTITY,
     "invalid resource"),
    ("unknown-element", doc({**ALLOW_GET, "Effects": "Allow"}), IDENTITY, "unknown element"),
    ("sid-not-string", doc({**ALLOW_GET, "Sid": 7}), IDENTITY, "Sid must be a string"),
    ("duplicate-sid", doc({**ALLOW_GET, "Sid": "A"}, {**ALLOW_GET, "Sid": "A"}), IDENTITY,
     "unique"),
    ("identity-with-principal", doc({**ALLOW_GET, **TO_BOB}), IDENTITY,
     "must not have Principal"),
    ("identity-with-not-principal", doc({**ALLOW_GET, "NotPrincipal": {"AWS": "123456789012"}}),
     IDENTITY, "must not have Principal"),
    ("resource-without-principal", doc(ALLOW_GET), RESOURCE, "must name a Principal"),
    ("key-without-principal", doc(ALLOW_GET), KEY, "must name a Principal"),
    ("principal-and-not-principal", doc({**ALLOW_GET, **TO_BOB, "NotPrincipal": "*"}), RESOURCE,
     "both Principal and NotPrincipal"),
    ("principal-bare-arn-string", doc({**ALLOW_GET, "Principal": "arn:aws:iam::123456789012:root"}),
     RESOURCE, "must be \"*\" or an object"),
    ("principal-partial-wildcard", doc({**ALLOW_GET, "Principal": {
        "AWS": "arn:aws:iam::123456789012:user/*"}}), RESOURCE, "invalid principal"),
    ("principal-short-account", doc({**ALLOW_GET, "Principal": {"AWS": "12345"}}), RESOURCE,
     "invalid principal"),
    ("principal-unsupported-type", doc({**ALLOW_GET, "Principal": {"CanonicalUser": "abc"}}),
     RESOURCE, "unsupported principal type"),
    ("principal-bad-service", doc({**ALLOW_GET, "Principal": {"Service": "Secrets Manager"}}),
     RESOURCE, "invalid service principal"),
    ("unknown-operator", doc({**ALLOW_GET, "Condition": {"StringEqualz": {"aws:userid": "x"}}}),
     IDENTITY, "Unknown condition operator 'StringEqualz'"),
    ("unknown-qualifier", doc({**ALLOW_GET, "Condition": {
        "ForSomeValues:StringEquals": {"aws:TagKeys": "x"}}}), IDENTITY, "set qualifier"),
    ("null-if-exists", doc({**ALLOW_GET, "Condition": {"NullIfExists": {"aws:userid": "true"}}}),
     IDENTITY, "Null operator takes no qualifier"),
    ("condition-not-object", doc({**ALLOW_GET, "Condition": ["StringEquals"]}), IDENTITY,
     "Condition must be an object"),
    ("condition-key-no-colon", doc({**ALLOW_GET, "Condition": {"StringEquals": {"env": "x"}}}),
     IDENTITY, "service:key"),
    ("condition-empty-values", doc({**ALLOW_GET, "Condition": {"StringEquals": {"aws:userid": []}}}),
     IDENTITY, "no values"),
    ("condition-object-value", doc({**ALLOW_GET, "Condition": {
        "StringEquals": {"aws:userid": {"a": "b"}}}}), IDENTITY, "must be a string"),
    ("numeric-not-a-number", doc({**ALLOW_GET, "Condition": {
        "NumericLessThan": {"secretsmanager:RecoveryWindowInDays": "seven"}}}), IDENTITY,
     "not valid for NumericLessThan"),
    ("date-not-a-date", doc({**ALLOW_GET, "Condition": {
        "DateGreaterThan": {"aws:CurrentTime": "yesterday"}}}), IDENTITY,
     "not valid for DateGreaterThan"),
    ("ip-not-an-address", doc({**ALLOW_GET, "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0"}}}),
     IDENTITY, "not valid for IpAddress"),
    ("bool-not-boolean", doc({**ALLOW_GET, "Condition": {"Bool": {"aws:SecureTransport": "yes"}}}),
     IDENTITY, "not valid for Bool"),
]


@pytest.mark.parametrize("text,kind,fragment", [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_document_is_refused_with_a_message_naming_the_problem(
        text: str, kind: PolicyKind, fragment: str) -> None:
    with pytest.raises(MalformedPolicyDocumentException) as raised:
        parse_policy(text, kind)
    assert raised.value.code == "MalformedPolicyDocumentException"
    assert raised.value.message.startswith("This policy has invalid syntax.")
    assert fragment in raised.value.message


def test_resource_policy_over_20480_characters_is_refused_and_at_the_limit_accepted() -> None:
    base = doc({**ALLOW_GET, **TO_BOB, "Sid": ""})
    padded = base.replace('"Sid": ""', '"Sid": "' + "x" * (RESOURCE_POLICY_MAX_CHARS - len(base)) + '"')
    assert len(padded) == RESOURCE_POLICY_MAX_CHARS
    parse_policy(padded, RESOURCE)
    with pytest.raises(MalformedPolicyDocumentException, match="maximum is 20480"):
        parse_policy(padded.replace('"Sid": "', '"Sid": "y'), RESOURCE)


def test_identity_policies_have_no_size_limit_unless_one_is_given() -> None:
    many = doc(*[{**ALLOW_GET, "Sid": f"S{i}"} for i in range(400)])
    assert len(many) > RESOURCE_POLICY_MAX_CHARS
    assert len(parse_policy(many, IDENTITY).statements) == 400
    with pytest.raises(MalformedPolicyDocumentException, match="maximum is 6144"):
        parse_policy(many, IDENTITY, max_chars=6144)


def test_statement_may_be_a_single_object() -> None:
    policy = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": ALLOW_GET}), IDENTITY)
    assert len(policy.statements) == 1
    assert policy.statements[0].actions == (GET,)
    assert policy.statements[0].resources == ("*",)


def test_missing_version_defaults_to_2008_without_policy_variables() -> None:
    policy = parse_policy(json.dumps({"Statement": [ALLOW_GET]}), IDENTITY)
    assert policy.version == "2008-10-17"
    assert policy.variables is False
    assert parse_policy(doc(ALLOW_GET), IDENTITY).variables is True


def test_principal_forms_are_normalised() -> None:
    policy = parse_policy(doc(
        {**ALLOW_GET, "Principal": "*"},
        {**ALLOW_GET, "Principal": {"AWS": "*"}},
        {**ALLOW_GET, "Principal": {"AWS": ["123456789012", "arn:aws:iam::210987654321:role/x"]}},
        {**ALLOW_GET, "Principal": {"Service": "secretsmanager.amazonaws.com"}},
        {**ALLOW_GET, "NotPrincipal": {"AWS": "arn:aws:sts::123456789012:assumed-role/r/s"}},
    ), RESOURCE)
    first, second, accounts, service, negated = (s.principals for s in policy.statements)
    assert first.anyone and second.anyone
    assert accounts.aws == ("arn:aws:iam::123456789012:root", "arn:aws:iam::210987654321:role/x")
    assert not accounts.anyone
    assert service.services == ("secretsmanager.amazonaws.com",)
    assert negated.aws == ("arn:aws:sts::123456789012:assumed-role/r/s",)
    assert policy.statements[4].not_principal


def test_resource_policy_without_resource_applies_to_the_secret_it_is_attached_to() -> None:
    policy = parse_policy(doc({"Effect": "Allow", "Action": GET, **TO_BOB}), RESOURCE)
    assert policy.statements[0].resources == ("*",)


def test_condition_values_of_other_json_types_become_strings() -> None:
    policy = parse_policy(doc({**ALLOW_GET, "Condition": {
        "Bool": {"aws:SecureTransport": True},
        "NumericLessThan": {"secretsmanager:RecoveryWindowInDays": [7, 10.5]},
        "ForAnyValue:StringLikeIfExists": {"aws:TagKeys": "team*"}}}), IDENTITY)
    bool_, numeric, tags = policy.statements[0].conditions
    assert bool_.values == ("true",)
    assert numeric.values == ("7", "10.5")
    assert (tags.base, tags.qualifier, tags.if_exists) == ("StringLike", "ForAnyValue", True)


def test_parsed_documents_are_frozen() -> None:
    policy = parse_policy(doc(ALLOW_GET), IDENTITY, name="readers")
    assert policy.name == "readers"
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.statements[0].effect = "Deny"  # type: ignore[misc]


def test_decoded_documents_are_accepted_too() -> None:
    policy = parse_policy({"Version": "2012-10-17", "Statement": [ALLOW_GET]}, IDENTITY)
    assert policy.statements[0].label == "statement 1"
    named = parse_policy({"Statement": [{**ALLOW_GET, "Sid": "Read"}]}, IDENTITY)
    assert named.statements[0].label == "statement 1 (Read)"

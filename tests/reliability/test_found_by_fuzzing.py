"""Inputs the fuzzers found that once made the ledger fail with InternalServiceError (HTTP 500):
each is now refused with an AWS error, and its refusal is in the audit log."""
from __future__ import annotations

import pytest
from eventsourcing.utils import get_topic

from ledger.calls import ApiCallRecorded
from ledger.context import Caller
from ledger.errors import LedgerError
from tools import awsjson

SYSTEM = Caller.system()


def _refusal(ledger, operation: str, request: dict) -> LedgerError:
    with pytest.raises(LedgerError) as raised:
        ledger.call(operation, request, SYSTEM)
    topic = get_topic(ApiCallRecorded)
    last = ledger.recorder.select_notifications(0, 10**6, topics=[topic])[-1]
    record = ledger.mapper.to_domain_event(last)
    assert record.context["operation"] == operation
    assert record.error_code == raised.value.code  # the refusal itself was recorded
    return raised.value


@pytest.mark.parametrize("operation, request_", [
    ("CreateSecret", {"Name": "s", "SecretString": "value\ud800"}),
    ("CreateSecret", {"Name": "s", "Description": "\udfff", "SecretString": "v"}),
    ("CreateSecret", {"Name": "s", "Tags": [{"Key": "k", "Value": "\ud800"}]}),
    ("GetSecretValue", {"SecretId": "\ud800"}),
    ("ListSecrets", {"Filters": [{"Key": "name", "Values": ["\ud800"]}]}),
    ("GetRandomPassword", {"ExcludeCharacters": "\ud800"}),
])
def test_a_lone_surrogate_is_a_validation_error_not_a_crash(ledger, operation, request_):
    """JSON's `\\ud800` escape decodes to a string UTF-8 cannot encode, nor the log."""
    error = _refusal(ledger, operation, request_)
    assert error.code == "ValidationException"
    assert "valid Unicode" in error.message and "\ud800" not in error.message


def test_an_unknown_member_with_a_lone_surrogate_is_ignored_and_recorded_with_a_mark(ledger):
    """Unknown members are ignored, as AWS ignores them, but the audit record keeps them."""
    ledger.call("CreateSecret", {"Name": "s", "SecretString": "v", "Odd\ud800": ["\udfff"]},
                SYSTEM)
    topic = get_topic(ApiCallRecorded)
    last = ledger.recorder.select_notifications(0, 10**6, topics=[topic])[-1]
    record = ledger.mapper.to_domain_event(last)
    assert record.error_code is None and record.context["parameters"]["Odd?"] == ["?"]


def test_a_tag_without_a_key_is_an_invalid_parameter(ledger):
    error = _refusal(ledger, "CreateSecret", {"Name": "s", "Tags": [{"Value": "v"}]})
    assert error.code == "InvalidParameterException"


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"SecretId":' + b"[" * 100_000 + b"]}",
                                  b'{"a":' * 100_000 + b"1" + b"}" * 100_000])
def test_json_nested_past_the_parser_limit_is_a_serialization_error(body):
    with pytest.raises(awsjson.SerializationException):
        awsjson.decode_request("GetSecretValue", body)

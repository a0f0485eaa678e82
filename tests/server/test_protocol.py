"""The JSON 1.1 wire format as raw HTTP: error shapes, type errors, blobs, size limit, tokens."""
from __future__ import annotations

import base64
import http.client
import json
import uuid

import pytest

from tests.server.conftest import signed_request

TARGET = "secretsmanager."


def call(server, operation: str, body, **kwargs):
    text = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return signed_request(server.url, TARGET + operation, text, **kwargs)


def assert_error(response, code: str, message: str | None = None, status: int = 400) -> None:
    assert response.status_code == status, response.text
    document = response.json()
    assert set(document) == {"__type", "Message"}
    assert document["__type"] == code
    if message is not None:
        assert document["Message"] == message
    assert response.headers["x-amzn-RequestId"]


def test_success_is_json_1_1_with_a_request_id(server):
    response = call(server, "CreateSecret", {"Name": "wire/plain", "SecretString": "v1",
                                             "ClientRequestToken": str(uuid.uuid4())})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-amz-json-1.1"
    assert uuid.UUID(response.headers["x-amzn-RequestId"])
    assert set(response.json()) == {"ARN", "Name", "VersionId"}


def test_timestamps_are_epoch_seconds_on_the_wire(server):
    call(server, "CreateSecret", {"Name": "wire/dates"})
    document = call(server, "DescribeSecret", {"SecretId": "wire/dates"}).json()
    assert isinstance(document["CreatedDate"], float | int)
    assert isinstance(document["LastChangedDate"], float | int)


def test_secret_binary_travels_as_base64_both_ways(server):
    raw = bytes(range(256))
    encoded = base64.b64encode(raw).decode()
    created = call(server, "CreateSecret", {"Name": "wire/binary", "SecretBinary": encoded,
                                            "ClientRequestToken": str(uuid.uuid4())})
    assert created.status_code == 200, created.text
    document = call(server, "GetSecretValue", {"SecretId": "wire/binary"}).json()
    assert document["SecretBinary"] == encoded
    assert "SecretString" not in document


def test_bad_base64_in_secret_binary_is_a_serialization_error(server, audit):
    before = audit.position()
    response = call(server, "CreateSecret", {"Name": "wire/bad-b64", "SecretBinary": "!!notb64",
                                             "ClientRequestToken": str(uuid.uuid4())})
    assert_error(response, "SerializationException",
                 "The value of 'secretBinary' is not valid base64.")
    assert "notb64" not in response.text
    assert [type(e).__name__ for e in audit.events_after(before)] == ["ApiCallRecorded"]


@pytest.mark.parametrize("body", [b"{", b"", b"{\"Name\": }", b"\xff\xfe", b"NaN"])
def test_malformed_json_is_a_serialization_error(server, body):
    assert_error(call(server, "ListSecrets", body), "SerializationException")


def test_a_json_array_body_gets_aws_wording(server):
    assert_error(call(server, "ListSecrets", b"[]"), "SerializationException",
                 "Start of list found where not expected")


def test_a_json_scalar_body_is_a_serialization_error(server):
    assert_error(call(server, "ListSecrets", b"42"), "SerializationException")


@pytest.mark.parametrize(("body", "message"), [
    ({"SecretId": 7}, "NUMBER_VALUE can not be converted to a String"),
    ({"SecretId": True}, "TRUE_VALUE can not be converted to a String"),
    ({"SecretId": ["x"]}, "Start of list found where not expected"),
    ({"SecretId": {"a": 1}}, "Start of structure or map found where not expected."),
])
def test_wrong_json_type_for_a_string(server, body, message):
    assert_error(call(server, "DescribeSecret", body), "SerializationException", message)


@pytest.mark.parametrize(("body", "message"), [
    ({"SecretId": "x", "RecoveryWindowInDays": "7"}, "STRING_VALUE can not be converted to a Long"),
    ({"SecretId": "x", "RecoveryWindowInDays": True}, "TRUE_VALUE can not be converted to a Long"),
    ({"SecretId": "x", "ForceDeleteWithoutRecovery": "yes"},
     "STRING_VALUE can not be converted to an Boolean"),
    ({"SecretId": "x", "ForceDeleteWithoutRecovery": 1},
     "NUMBER_VALUE can not be converted to a Boolean"),
])
def test_wrong_json_type_for_numbers_and_booleans(server, body, message):
    assert_error(call(server, "DeleteSecret", body), "SerializationException", message)


def test_wrong_json_type_for_lists_and_structures(server):
    assert_error(call(server, "TagResource", {"SecretId": "x", "Tags": "k=v"}),
                 "SerializationException", "Expected list or null")
    assert_error(call(server, "TagResource", {"SecretId": "x", "Tags": ["k"]}),
                 "SerializationException", "Expected null")


def test_a_fractional_integer_is_a_serialization_error(server):
    assert_error(call(server, "ListSecrets", {"MaxResults": 1.5}), "SerializationException")


def test_shape_constraints_are_a_validation_exception(server):
    response = call(server, "ListSecrets", {"MaxResults": 0})
    assert_error(response, "ValidationException")
    assert "maxResults" in response.json()["Message"]


def test_a_missing_required_member_is_a_validation_exception(server):
    assert_error(call(server, "DescribeSecret", {}), "ValidationException",
                 "1 validation error detected: Value null at 'secretId' failed to satisfy "
                 "constraint: Member must not be null")


def test_null_members_count_as_absent_and_unknown_members_are_ignored(server):
    response = call(server, "ListSecrets", {"MaxResults": None, "NoSuchMember": 1})
    assert response.status_code == 200, response.text


def test_unknown_operation(server):
    assert_error(call(server, "LaunchRockets", {}), "UnknownOperationException")


def test_a_target_of_another_service_is_unknown(server):
    response = signed_request(server.url, "DynamoDB_20120810.ListTables", "{}")
    assert_error(response, "UnknownOperationException")


def test_a_missing_target_is_refused(server):
    response = signed_request(server.url, None, "{}", headers={"X-Amz-Target": ""})
    assert response.status_code == 400


def test_a_get_request_is_not_an_operation(server):
    response = signed_request(server.url, TARGET + "ListSecrets", "", method="GET")
    assert_error(response, "UnknownOperationException")


TOKEN_MISSING = "You must provide a ClientRequestToken value. We recommend a UUID-type value."


@pytest.mark.parametrize(("operation", "body"), [
    ("CreateSecret", {"Name": "wire/no-token", "SecretString": "v"}),
    ("UpdateSecret", {"SecretId": "wire/plain", "SecretString": "v"}),
    ("PutSecretValue", {"SecretId": "wire/plain", "SecretString": "v"}),
    ("PutSecretValue", {"SecretId": "wire/never-existed", "SecretString": "v"}),
])
def test_raw_value_writes_need_a_client_request_token(server, operation, body):
    assert_error(call(server, operation, body), "InvalidRequestException", TOKEN_MISSING)


def test_writes_without_a_value_need_no_token(server):
    assert call(server, "CreateSecret", {"Name": "wire/no-value"}).status_code == 200
    response = call(server, "UpdateSecret", {"SecretId": "wire/no-value", "Description": "d"})
    assert response.status_code == 200, response.text


def test_a_refused_request_writes_nothing_but_its_record(server, audit):
    before = audit.position()
    response = call(server, "CreateSecret", {"Name": "wire/partial", "SecretString": "v",
                                             "Tags": [{"Key": "k", "Value": 5}],
                                             "ClientRequestToken": str(uuid.uuid4())})
    assert_error(response, "SerializationException")
    events = audit.events_after(before)
    assert [type(e).__name__ for e in events] == ["ApiCallRecorded"]
    assert events[0].error_code == "SerializationException"
    assert call(server, "DescribeSecret", {"SecretId": "wire/partial"}).status_code == 400


def test_a_declared_body_over_the_limit_is_refused_before_reading(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.putrequest("POST", "/")
    connection.putheader("Content-Type", "application/x-amz-json-1.1")
    connection.putheader("X-Amz-Target", TARGET + "CreateSecret")
    connection.putheader("Content-Length", str(8 << 20))
    connection.endheaders()
    response = connection.getresponse()
    document = json.loads(response.read())
    connection.close()
    assert response.status == 413
    assert document["__type"] == "RequestEntityTooLargeException"


def test_a_streamed_body_over_the_limit_is_refused(server):
    body = json.dumps({"Name": "wire/huge", "SecretString": "x" * ((1 << 20) + 10)})
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    chunks = (body[i:i + 65536].encode() for i in range(0, len(body), 65536))
    connection.request("POST", "/", body=chunks, encode_chunked=True,
                       headers={"X-Amz-Target": TARGET + "CreateSecret",
                                "Content-Type": "application/x-amz-json-1.1"})
    response = connection.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["__type"] == "RequestEntityTooLargeException"
    connection.close()


def test_every_response_carries_the_request_id_it_was_audited_under(server, audit):
    ok = call(server, "ListSecrets", {})
    bad = call(server, "DescribeSecret", {"SecretId": "wire/absent"})
    for response, code in ((ok, None), (bad, "ResourceNotFoundException")):
        record = audit.call_for(response.headers["x-amzn-RequestId"])
        assert record.error_code == code

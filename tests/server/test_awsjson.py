"""Reading request bodies against the service model, and writing responses."""
from __future__ import annotations

import json

import pytest

from tools.awsjson import SerializationException, decode_request, encode, error_body


def decode(operation: str, document) -> dict:
    return decode_request(operation, json.dumps(document).encode())


def test_blobs_become_bytes_and_strings_stay_text():
    request = decode("PutSecretValue", {"SecretId": "s", "SecretBinary": "AAEC",
                                        "ClientRequestToken": "t"})
    assert request == {"SecretId": "s", "SecretBinary": b"\x00\x01\x02",
                       "ClientRequestToken": "t"}


def test_nulls_and_unknown_members_are_dropped_at_every_depth():
    request = decode("ListSecrets", {"MaxResults": None, "Extra": 1,
                                     "Filters": [{"Key": "name", "Values": ["a"], "Other": 2}]})
    assert request == {"Filters": [{"Key": "name", "Values": ["a"]}]}


def test_a_null_list_element_is_kept_for_validation_to_report():
    assert decode("UntagResource", {"SecretId": "s", "TagKeys": ["a", None]})["TagKeys"] == [
        "a", None]


@pytest.mark.parametrize(("value", "message"), [
    (2**31, "The value of 'maxResults' is out of range for an Integer."),
    (True, "TRUE_VALUE can not be converted to an Integer"),
    (False, "FALSE_VALUE can not be converted to an Integer"),
    ("5", "STRING_VALUE can not be converted to an Integer"),
])
def test_integer_members(value, message):
    with pytest.raises(SerializationException) as caught:
        decode("ListSecrets", {"MaxResults": value})
    assert caught.value.message == message


def test_a_nested_wrong_type_is_reported():
    with pytest.raises(SerializationException,
                       match="NUMBER_VALUE can not be converted to a String"):
        decode("ListSecrets", {"Filters": [{"Key": "name", "Values": [1]}]})


def test_base64_errors_never_echo_the_value():
    with pytest.raises(SerializationException) as caught:
        decode("PutSecretValue", {"SecretId": "s", "SecretBinary": "c2VjcmV0*"})
    assert "c2VjcmV0" not in caught.value.message


def test_non_ascii_base64_is_a_serialization_error():
    with pytest.raises(SerializationException):
        decode("PutSecretValue", {"SecretId": "s", "SecretBinary": "é"})


def test_infinity_is_not_json():
    with pytest.raises(SerializationException):
        decode_request("ListSecrets", b'{"MaxResults": Infinity}')


def test_responses_encode_blobs_as_base64_and_keep_unicode():
    assert json.loads(encode({"SecretBinary": b"\x00\xff", "Name": "caf\u00e9"})) == {
        "SecretBinary": "AP8=", "Name": "caf\u00e9"}


def test_error_body_shape():
    assert json.loads(error_body("ResourceNotFoundException", "m")) == {
        "__type": "ResourceNotFoundException", "Message": "m"}

"""Requests whose authentication can be read two ways are refused, never resolved by a rule
such as "the last one wins": a proxy, a log or a WAF in front of the server may read the other
one. Each test sends a correctly signed request over raw HTTP with one ambiguity added."""
from __future__ import annotations

import hashlib

import pytest

from tests.reliability.rawhttp import send
from tests.server.conftest import signed_headers

TARGET = "secretsmanager.ListSecrets"
BODY = b"{}"
INCOMPLETE = "IncompleteSignatureException"


def signed(server) -> list[tuple[str, str]]:
    """The header list of a ListSecrets request signed by the root key, Host first."""
    headers = signed_headers(server.url, TARGET, BODY)
    return [("Host", f"127.0.0.1:{server.port}"),
            *((name, value) for name, value in headers.items() if name.lower() != "host")]


def sent(server, headers: list[tuple[str, str]]):
    return send(server.port, "POST", "/", headers, BODY)


def authorization(headers: list[tuple[str, str]]) -> str:
    return next(value for name, value in headers if name.lower() == "authorization")


def replaced(headers, name: str, value: str) -> list[tuple[str, str]]:
    return [(k, value if k.lower() == name else v) for k, v in headers]


def test_the_unaltered_request_is_served(server):
    assert sent(server, signed(server)).status == 200


def test_two_authorization_headers_are_refused(server):
    headers = signed(server)
    real = authorization(headers)
    decoy = real.split("Signature=")[0] + "Signature=" + "0" * 64
    answer = sent(server, [("Authorization", decoy), *headers])
    assert answer.error()["__type"] == INCOMPLETE
    assert "Authorization" in answer.error()["Message"]


def test_a_second_authorization_header_in_another_case_is_refused(server):
    headers = signed(server)
    answer = sent(server, [*headers, ("AUTHORIZATION", authorization(headers))])
    assert answer.error()["__type"] == INCOMPLETE


@pytest.mark.parametrize("part", ["Signature", "Credential", "SignedHeaders"])
def test_a_repeated_authorization_parameter_is_refused(server, part):
    headers = signed(server)
    header = authorization(headers)
    value = header.split(part + "=", 1)[1].split(",", 1)[0]
    decoy = "0" * 64 if part == "Signature" else (
        "AKIADECOY00000000000/" + value.split("/", 1)[1] if part == "Credential" else value)
    answer = sent(server, replaced(headers, "authorization",
                                   header.replace(f"{part}={value}",
                                                  f"{part}={decoy}, {part}={value}")))
    assert answer.error()["__type"] == INCOMPLETE
    assert f"'{part}'" in answer.error()["Message"]


def test_an_unknown_authorization_parameter_is_refused(server):
    headers = signed(server)
    header = authorization(headers) + ", Credential2=AKIADECOY00000000000"
    answer = sent(server, replaced(headers, "authorization", header))
    assert answer.error()["__type"] == INCOMPLETE


@pytest.mark.parametrize("name", ["X-Amz-Target", "X-Amz-Date", "Host", "x-amz-content-sha256"])
def test_a_repeated_signed_header_is_refused_as_incomplete(server, name):
    """A duplicate of a header the signature and the routing depend on: which one counts?"""
    headers = signed(server)
    if name == "x-amz-content-sha256":  # unsigned, but checked against the body
        headers.append((name, hashlib.sha256(BODY).hexdigest()))
    value = next(v for k, v in headers if k.lower() == name.lower())
    answer = sent(server, [*headers, (name.upper(), value)])
    assert answer.error()["__type"] == INCOMPLETE
    assert name.lower() in answer.error()["Message"].lower()


def test_a_signed_headers_list_naming_a_header_twice_is_refused(server):
    headers = signed(server)
    header = authorization(headers)
    answer = sent(server, replaced(headers, "authorization",
                                   header.replace("SignedHeaders=", "SignedHeaders=host;")))
    assert answer.error()["__type"] == INCOMPLETE


@pytest.mark.parametrize("parameter", ["X-Amz-Credential", "X-Amz-Signature", "X-Amz-Algorithm"])
def test_query_string_credentials_next_to_the_header_are_refused(server, parameter):
    """Signed into the URL next to a valid Authorization header: two credentials in one
    request, and a proxy that reads the query string would see the decoy's."""
    path = f"/?{parameter}=AKIADECOY00000000000"
    headers = signed_headers(server.url, TARGET, BODY, path=path)
    listed = [("Host", f"127.0.0.1:{server.port}"),
              *((name, value) for name, value in headers.items() if name.lower() != "host")]
    answer = send(server.port, "POST", path, listed, BODY)
    assert answer.error()["__type"] == INCOMPLETE

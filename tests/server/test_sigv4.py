"""SigV4 verification against signatures botocore makes, and each failure's AWS wording."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ledger.context import Caller
from tests.server.conftest import sign_at
from tools.sigv4 import (
    IncompleteSignatureException, InvalidSignatureException, MissingAuthenticationTokenException,
    ReceivedRequest, SigV4Verifier, UnrecognizedClientException,
)

KEY_ID, SECRET = "AKIAUNITTEST00000001", "unit-secret"
NOW = datetime(2026, 3, 17, 12, 0, 0, tzinfo=timezone.utc)
CALLER = Caller(arn="arn:aws:iam::123456789012:user/unit", access_key_id=KEY_ID)


def verifier(now: datetime = NOW) -> SigV4Verifier:
    return SigV4Verifier(lambda key: (CALLER, SECRET) if key == KEY_ID else None,
                         clock=lambda: now)


def signed(body: bytes = b"{}", *, at: datetime = NOW, url: str = "http://127.0.0.1:4566/",
           headers: dict[str, str] | None = None, secret: str = SECRET,
           service: str = "secretsmanager", region: str = "eu-west-1") -> ReceivedRequest:
    """Sign as botocore does, then present the request as the server receives it."""
    request = AWSRequest(method="POST", url=url, data=body,
                         headers={"X-Amz-Target": "secretsmanager.ListSecrets",
                                  "Content-Type": "application/x-amz-json-1.1",
                                  **(headers or {})})
    signer = SigV4Auth(Credentials(KEY_ID, secret), service, region)
    sign_at(signer, request, at.strftime("%Y%m%dT%H%M%SZ"))
    host = url.split("/")[2]
    path, _, query = url.split(host, 1)[1].partition("?")
    received = [(k.lower(), v) for k, v in request.headers.items()] + [
        ("host", host), ("user-agent", "unit/1.0"), ("content-length", str(len(body)))]
    return ReceivedRequest("POST", path, query, received, body)


def with_header(request: ReceivedRequest, name: str, value: str | None) -> ReceivedRequest:
    headers = [(k, v) for k, v in request.headers if k != name]
    if value is not None:
        headers.append((name, value))
    return ReceivedRequest(request.method, request.path, request.query, headers, request.body)


def test_a_botocore_signature_verifies_and_yields_caller_and_region():
    verified = verifier().verify(signed())
    assert verified.caller == CALLER
    assert verified.region == "eu-west-1"
    assert verified.access_key_id == KEY_ID


def test_query_strings_and_extra_signed_headers_verify():
    request = signed(url="http://localhost:4566/?b=2&a=1",
                     headers={"X-Amz-Meta": "  spaced   value ", "X-Amz-Content-SHA256":
                              "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"})
    assert verifier().verify(request).region == "eu-west-1"


def test_a_declared_body_hash_that_does_not_match_is_refused():
    request = signed(headers={"X-Amz-Content-SHA256": "0" * 64})
    with pytest.raises(InvalidSignatureException, match="x-amz-content-sha256"):
        verifier().verify(request)


def test_a_changed_body_fails_the_signature():
    request = signed(b'{"MaxResults": 1}')
    tampered = ReceivedRequest("POST", "/", "", request.headers, b'{"MaxResults": 2}')
    with pytest.raises(InvalidSignatureException, match="^The request signature we calculated"):
        verifier().verify(tampered)


def test_a_changed_target_fails_the_signature():
    request = with_header(signed(), "x-amz-target", "secretsmanager.DeleteSecret")
    with pytest.raises(InvalidSignatureException):
        verifier().verify(request)


def test_a_wrong_secret_fails_the_signature_and_names_the_key():
    with pytest.raises(InvalidSignatureException) as caught:
        verifier().verify(signed(secret="other"))
    assert caught.value.access_key_id == KEY_ID
    assert caught.value.region == "eu-west-1"


def test_an_unknown_key():
    request = signed()
    request = with_header(request, "authorization",
                          request.header("authorization").replace(KEY_ID, "AKIAUNKNOWN000000000"))
    with pytest.raises(UnrecognizedClientException,
                       match="^The security token included in the request is invalid.$"):
        verifier().verify(request)


def test_no_authorization_header():
    with pytest.raises(MissingAuthenticationTokenException, match="^Missing Authentication Token$"):
        verifier().verify(with_header(signed(), "authorization", None))


def test_exactly_five_minutes_of_skew_is_accepted_either_way():
    verifier(NOW + timedelta(minutes=5)).verify(signed())
    verifier(NOW - timedelta(minutes=5)).verify(signed())


def test_expired_signature_wording():
    with pytest.raises(InvalidSignatureException) as caught:
        verifier(NOW + timedelta(minutes=5, seconds=1)).verify(signed())
    assert caught.value.message == ("Signature expired: 20260317T120000Z is now earlier than "
                                    "20260317T120001Z (20260317T120501Z - 5 min.)")


def test_signature_from_the_future_wording():
    with pytest.raises(InvalidSignatureException) as caught:
        verifier(NOW - timedelta(minutes=6)).verify(signed())
    assert caught.value.message == ("Signature not yet current: 20260317T120000Z is still later "
                                    "than 20260317T115900Z (20260317T115400Z + 5 min.)")


def test_scope_for_another_service():
    with pytest.raises(InvalidSignatureException) as caught:
        verifier().verify(signed(service="s3"))
    assert caught.value.message == (
        "Credential should be scoped to correct service: 'secretsmanager'. ")


def test_scope_date_must_match_x_amz_date():
    request = signed()
    request = with_header(request, "authorization",
                          request.header("authorization").replace("/20260317/", "/20260316/"))
    with pytest.raises(InvalidSignatureException, match="^Date in Credential scope does not match"):
        verifier().verify(request)


def test_scope_with_an_implausible_region():
    with pytest.raises(InvalidSignatureException, match="valid region"):
        verifier().verify(signed(region="US_WEST"))


@pytest.mark.parametrize(("header", "message"), [
    ("AWS4-HMAC-SHA256 Credential=A/B/C", "Authorization header requires 'Signature' parameter. "
     "Authorization header requires 'SignedHeaders' parameter."),
    ("AWS4-HMAC-SHA256 Credential=A/B/C, SignedHeaders=host, Signature=00",
     "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/"
     "term, got 'A/B/C'"),
    ("AWS AKIA:sig", "Unsupported AWS 'algorithm': 'AWS'. Sign requests with AWS4-HMAC-SHA256."),
])
def test_malformed_authorization_headers(header, message):
    with pytest.raises(IncompleteSignatureException) as caught:
        verifier().verify(with_header(signed(), "authorization", header))
    assert caught.value.message == message


@pytest.mark.parametrize(("dropped", "shown"), [
    ("host", "'Host' or ':authority'"), ("x-amz-date", "'X-Amz-Date'"),
    ("x-amz-target", "'X-Amz-Target'")])
def test_host_date_and_target_must_be_signed(dropped, shown):
    request = signed()
    header = request.header("authorization")
    signed_list = header.split("SignedHeaders=")[1].split(",")[0]
    kept = ";".join(h for h in signed_list.split(";") if h != dropped)
    request = with_header(request, "authorization", header.replace(signed_list, kept))
    with pytest.raises(IncompleteSignatureException) as caught:
        verifier().verify(request)
    assert caught.value.message == f"{shown} must be a 'SignedHeader' in the AWS Authorization."


def test_an_unparseable_date():
    request = with_header(signed(), "x-amz-date", "yesterday")
    with pytest.raises(IncompleteSignatureException, match="ISO-8601 'basic format'"):
        verifier().verify(request)


def test_a_non_hex_signature_is_a_mismatch_not_a_crash():
    request = signed()
    header = request.header("authorization")
    request = with_header(request, "authorization",
                          header.rsplit("Signature=", 1)[0] + "Signature=zz\u00e9")
    with pytest.raises(InvalidSignatureException):
        verifier().verify(request)


def test_presigned_query_authentication_is_not_accepted():
    request = with_header(signed(), "authorization", None)
    request = ReceivedRequest("POST", "/", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=x",
                              request.headers, request.body)
    with pytest.raises(IncompleteSignatureException, match="Query-string"):
        verifier().verify(request)

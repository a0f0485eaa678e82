"""Verification of AWS Signature Version 4 on incoming requests.

The canonical request and string to sign come from botocore's own `SigV4Auth`, fed with the
request as received and exactly the headers the client says it signed, so the server computes
what every botocore-based client computes. Signatures are compared in constant time.

Checks, in order: exactly one Authorization header, present and complete, each of its
parameters once; no second copy of a header read as one value (so no two readings of who
signed what); host, x-amz-date and x-amz-target are signed; the credential scope names service `secretsmanager`, a plausible
Region and the date of X-Amz-Date; the time is within five minutes of the server's clock; the
access key is known and active; the body hash (if sent) matches; the signature matches.
Each failure is reported with the error code and wording AWS uses for it.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

from ledger.context import Caller
from ledger.errors import LedgerError

SERVICE = "secretsmanager"
ALGORITHM = "AWS4-HMAC-SHA256"
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_SKEW = timedelta(minutes=5)
REQUIRED_SIGNED = ("host", "x-amz-date", "x-amz-target")
QUERY_CREDENTIALS = frozenset({"x-amz-algorithm", "x-amz-credential", "x-amz-signature",
                               "x-amz-signedheaders", "x-amz-security-token"})
PARAMETERS = ("Credential", "SignedHeaders", "Signature")
# Headers read as one value: a second copy would leave two readings of who signed what, when,
# for which operation, so a request repeating one is refused rather than resolved.
SINGLE_VALUED = ("authorization", "host", "x-amz-date", "x-amz-target", "x-amz-content-sha256",
                 "x-amz-security-token")
_REGION = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")

CredentialLookup = Callable[[str], "tuple[Caller, str] | None"]


class AuthError(LedgerError):
    """A request that failed authentication; carries what is known of who sent it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.access_key_id = ""
        self.region: str | None = None


class MissingAuthenticationTokenException(AuthError):
    code = "MissingAuthenticationTokenException"


class IncompleteSignatureException(AuthError):
    code = "IncompleteSignatureException"


class InvalidSignatureException(AuthError):
    code = "InvalidSignatureException"


class UnrecognizedClientException(AuthError):
    code = "UnrecognizedClientException"


SIGNATURE_MISMATCH = ("The request signature we calculated does not match the signature you "
                      "provided. Check your AWS Secret Access Key and signing method. Consult the "
                      "service documentation for details.")
INVALID_TOKEN = "The security token included in the request is invalid."


@dataclass(frozen=True)
class ReceivedRequest:
    """An HTTP request as it arrived: raw path and query, headers with lower-case names."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return ",".join(values) if values else None

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]


@dataclass(frozen=True)
class Authorization:
    """The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header."""

    access_key_id: str
    date: str
    region: str
    service: str
    terminator: str
    signed_headers: tuple[str, ...] = field(default_factory=tuple)
    signature: str = ""


@dataclass(frozen=True)
class Verified:
    caller: Caller
    access_key_id: str
    region: str


def parse_authorization(value: str | None) -> Authorization:
    if not value:
        raise MissingAuthenticationTokenException("Missing Authentication Token")
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise IncompleteSignatureException(
            f"Unsupported AWS 'algorithm': '{algorithm[:64]}'. Sign requests with {ALGORITHM}.")
    parts: dict[str, str] = {}
    for item in rest.split(","):
        key, equals, val = item.strip().partition("=")
        if not equals:
            raise IncompleteSignatureException(
                f"'{item.strip()[:64]}' not a valid key=value pair (missing equal-sign) in "
                "Authorization header.")
        if key not in PARAMETERS:
            raise IncompleteSignatureException(
                f"'{key[:64]}' is not a parameter of the {ALGORITHM} Authorization header.")
        if key in parts:
            raise IncompleteSignatureException(
                f"Authorization header has more than one '{key}' parameter.")
        parts[key] = val
    problems = [f"Authorization header requires '{name}' parameter."
                for name in ("Credential", "Signature", "SignedHeaders") if not parts.get(name)]
    if problems:
        raise IncompleteSignatureException(" ".join(problems))
    credential = parts["Credential"].split("/")
    if len(credential) != 5:
        raise IncompleteSignatureException(
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            f"keyid/date/region/service/term, got '{parts['Credential'][:256]}'")
    key_id, date, region, service, terminator = credential
    signed = tuple(h.strip().lower() for h in parts["SignedHeaders"].split(";"))
    repeated = sorted({name for name in signed if signed.count(name) > 1})
    if repeated or "" in signed:
        shown = f"names '{repeated[0][:64]}' more than once" if repeated else "has an empty name"
        raise IncompleteSignatureException(f"SignedHeaders {shown}.")
    return Authorization(key_id, date, region, service, terminator, signed, parts["Signature"])


class _Canonicaliser(SigV4Auth):
    """botocore's SigV4 with the header set fixed to what the client declared as signed."""

    def __init__(self, credentials: Credentials, region: str, signed: HTTPHeaders) -> None:
        super().__init__(credentials, SERVICE, region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        return self._signed


class SigV4Verifier:
    def __init__(self, credentials: CredentialLookup, *,
                 clock: Callable[[], datetime] | None = None,
                 max_skew: timedelta = MAX_SKEW) -> None:
        self._credentials = credentials
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._max_skew = max_skew

    def verify(self, request: ReceivedRequest) -> Verified:
        names = {name.lower() for name, _ in parse_qsl(request.query, keep_blank_values=True)}
        if names & QUERY_CREDENTIALS:  # alone, or a second credential next to the header
            raise IncompleteSignatureException("Query-string authentication is not supported; "
                                               "sign the Authorization header.")
        _check_single(request, "authorization")
        auth = parse_authorization(request.header("authorization"))
        try:
            for name in SINGLE_VALUED:
                _check_single(request, name)
            return self._verify(request, auth)
        except AuthError as error:
            error.access_key_id = auth.access_key_id[:128]
            error.region = auth.region if _REGION.fullmatch(auth.region) else None
            raise

    def _verify(self, request: ReceivedRequest, auth: Authorization) -> Verified:
        for name in REQUIRED_SIGNED:
            if name not in auth.signed_headers:
                shown = "'Host' or ':authority'" if name == "host" else f"'{_title(name)}'"
                raise IncompleteSignatureException(
                    f"{shown} must be a 'SignedHeader' in the AWS Authorization.")
        stamp = request.header("x-amz-date")
        if stamp is None:
            raise IncompleteSignatureException(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
                "header.")
        moment = _parse_timestamp(stamp)
        self._check_scope(auth, stamp)
        self._check_clock(stamp, moment)
        if request.header("x-amz-security-token") is not None:
            raise UnrecognizedClientException(INVALID_TOKEN)  # no temporary credentials exist here
        known = self._credentials(auth.access_key_id)
        if known is None:
            raise UnrecognizedClientException(INVALID_TOKEN)
        caller, secret = known
        declared = request.header("x-amz-content-sha256")
        if declared is not None and declared != hashlib.sha256(request.body).hexdigest():
            raise InvalidSignatureException(
                "The provided 'x-amz-content-sha256' header does not match what was computed.")
        expected = self._signature(request, auth, secret, stamp)
        if not _SIGNATURE.fullmatch(auth.signature) or not hmac.compare_digest(
                expected, auth.signature):
            raise InvalidSignatureException(SIGNATURE_MISMATCH)
        return Verified(caller, auth.access_key_id, auth.region)

    @staticmethod
    def _check_scope(auth: Authorization, stamp: str) -> None:
        if auth.service != SERVICE:
            raise InvalidSignatureException(
                f"Credential should be scoped to correct service: '{SERVICE}'. ")
        if auth.terminator != "aws4_request":
            raise InvalidSignatureException(
                "Credential should be scoped with a valid terminator: 'aws4_request', not "
                f"'{auth.terminator[:64]}'. ")
        if not _REGION.fullmatch(auth.region):
            raise InvalidSignatureException("Credential should be scoped to a valid region. ")
        if auth.date != stamp[:8]:
            raise InvalidSignatureException(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                f"from HTTP: '{auth.date[:16]}' != '{stamp[:8]}', from '{stamp}'.")

    def _check_clock(self, stamp: str, moment: datetime) -> None:
        now = self._clock()
        if moment < now - self._max_skew:
            raise InvalidSignatureException(
                f"Signature expired: {stamp} is now earlier than "
                f"{_format(now - self._max_skew)} ({_format(now)} - 5 min.)")
        if moment > now + self._max_skew:
            raise InvalidSignatureException(
                f"Signature not yet current: {stamp} is still later than "
                f"{_format(now + self._max_skew)} ({_format(now)} + 5 min.)")

    @staticmethod
    def _signature(request: ReceivedRequest, auth: Authorization, secret: str,
                   stamp: str) -> str:
        signed = HTTPHeaders()
        for name in auth.signed_headers:
            for value in request.all(name) or [""]:
                signed[name] = value
        url = "http://ledger" + request.path + (f"?{request.query}" if request.query else "")
        aws_request = AWSRequest(method=request.method, url=url, data=request.body)
        if "x-amz-content-sha256" in auth.signed_headers:
            aws_request.headers["X-Amz-Content-SHA256"] = signed["x-amz-content-sha256"]
        aws_request.context["timestamp"] = stamp
        signer = _Canonicaliser(Credentials(auth.access_key_id, secret), auth.region, signed)
        canonical = signer.canonical_request(aws_request)
        return signer.signature(signer.string_to_sign(aws_request, canonical), aws_request)


def _check_single(request: ReceivedRequest, name: str) -> None:
    if len(request.all(name)) > 1:
        raise IncompleteSignatureException(
            f"The request has more than one '{_title(name)}' header; send exactly one.")


def _parse_timestamp(stamp: str) -> datetime:
    try:
        return datetime.strptime(stamp, TIMESTAMP_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        raise IncompleteSignatureException(
            f"Date must be in ISO-8601 'basic format'. Got '{stamp[:64]}'.") from None


def _format(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime(TIMESTAMP_FORMAT)


def _title(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))

"""Hostile input to the running HTTP endpoint: every answer is a 4xx AWS JSON error, none is a
500, none hangs, and the log gains nothing but the audit records of the refused calls.

Bodies, headers and signatures come from `hostile.py`; correctly signed requests are signed
with the root key, so they pass authentication and reach the JSON and validation layers.
Size limits, endless bodies and deep nesting are also tested with fixed cases.
"""
from __future__ import annotations

import json
import socket
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings

from tests.reliability.hostile import (
    AUTH_FAILURES, EXISTING, PREFIX, Hostile, deep_nesting, hostile_requests, valid_body,
)
from tests.reliability.hostile_wire import deliver
from tests.reliability.log_guard import only_refusals_recorded
from tests.reliability.rawhttp import send, send_streaming
from tests.server.conftest import ROOT_ENV, ServerProcess, make_client, signed_headers

AUTH_CODES = {"IncompleteSignatureException", "InvalidSignatureException",
              "MissingAuthenticationTokenException", "UnrecognizedClientException"}
EXAMPLES, SLOW_EXAMPLES = 400, 6000
LIMIT = 1 << 20  # the server's default body limit
FAST = 5.0  # seconds within which an oversized request must be refused


def _settings(slow: bool) -> settings:
    return settings(max_examples=SLOW_EXAMPLES if slow else EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.large_base_example,
                                           HealthCheck.filter_too_much])


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[ServerProcess]:
    """Each refusal recorded at once and no throttling, so every answer has its own record
    (tests/server/test_refusals.py covers the counted records and the throttle)."""
    process = ServerProcess(tmp_path_factory.mktemp("fuzz") / "data", ROOT_ENV,
                            ["--refusal-interval", "0", "--refusal-burst", "1000000"]).start()
    make_client(process.url).create_secret(Name=EXISTING, SecretString="existing-value")
    yield process
    process.stop()


def _signed(server: ServerProcess, operation: str, body: bytes,
            extra: dict[str, str] | None = None) -> list[tuple[str, str]]:
    headers = signed_headers(server.url, PREFIX + operation, body, headers=extra)
    return [("Host", f"127.0.0.1:{server.port}"), *headers.items()]


def test_hostile_requests_get_aws_errors_and_change_nothing(server, request):
    seen: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    with only_refusals_recorded(server.data_dir, verify=True) as answered:

        @_settings(request.config.getoption("--slow"))
        @given(hostile_requests())
        def hostile(example: Hostile) -> None:
            answer = deliver(example, server.port)
            answered.add()
            code = answer.error()["__type"]
            seen[f"body:{example.body_kind}"] += 1
            seen[f"transport:{example.transport}"] += 1
            codes[code] += 1
            if example.transport == "signed":
                assert code not in AUTH_CODES, f"a correctly signed request failed: {code}"
            elif example.transport in AUTH_FAILURES:  # a body over the limit is refused first
                assert code in AUTH_CODES | {"RequestEntityTooLargeException"}, (
                    f"{example.transport} answered {code}")

        hostile()
    passed_auth = sum(n for code, n in codes.items() if code not in AUTH_CODES)
    print(f"\nhostile HTTP: {answered.count} requests, {passed_auth} past authentication; "
          f"answers {dict(codes.most_common())}; cases {dict(sorted(seen.items()))}")
    assert passed_auth >= answered.count // 2, "too few requests reached the JSON layer"


@pytest.mark.parametrize("form", ["open_lists", "closed_lists", "in_member", "objects"])
def test_json_nested_100_000_deep_is_a_serialization_error(server, form):
    body = deep_nesting(100_000, form)
    with only_refusals_recorded(server.data_dir) as answered:
        for operation in ("CreateSecret", "GetSecretValue", "ListSecrets"):
            answer = send(server.port, "POST", "/", _signed(server, operation, body), body)
            answered.add()
            assert answer.error()["__type"] == "SerializationException"
            assert answer.seconds < FAST


def test_declared_length_over_the_limit_is_refused_before_the_body_arrives(server):
    with only_refusals_recorded(server.data_dir) as answered:
        for declared in (LIMIT + 1, 10**12):
            head = (f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                    f"X-Amz-Target: {PREFIX}CreateSecret\r\n"
                    f"Content-Type: application/x-amz-json-1.1\r\n"
                    f"Content-Length: {declared}\r\n\r\n").encode()
            started = time.monotonic()
            answer, sent = send_streaming(server.port, head, iter([b'{"Name": "big", "Secre']))
            answered.add()
            assert answer.error()["__type"] == "RequestEntityTooLargeException"
            assert time.monotonic() - started < FAST
            assert sent <= 64


def test_endless_chunked_body_is_cut_off_at_the_limit(server):
    chunk = b"x" * 16384
    framed = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    head = (f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"X-Amz-Target: {PREFIX}CreateSecret\r\nContent-Type: application/x-amz-json-1.1\r\n"
            f"Transfer-Encoding: chunked\r\n\r\n").encode()
    endless = (framed for _ in range(100_000))  # 1.6 GB if the server read it all
    with only_refusals_recorded(server.data_dir) as answered:
        started = time.monotonic()
        answer, sent = send_streaming(server.port, head, endless)
        answered.add()
        assert answer.error()["__type"] == "RequestEntityTooLargeException"
        assert time.monotonic() - started < FAST
        assert sent < 64 * LIMIT, f"{sent} bytes went out before the answer"


def test_signed_body_just_over_the_limit_is_refused(server):
    body = json.dumps({"Name": "big", "SecretString": "s" * LIMIT}).encode()
    with only_refusals_recorded(server.data_dir) as answered:
        answer = send(server.port, "POST", "/", _signed(server, "CreateSecret", body), body)
        answered.add()
        assert answer.status == 413
        assert answer.error()["__type"] == "RequestEntityTooLargeException"


def test_a_stalled_body_does_not_hold_up_other_requests(server):
    """A client that declares a body and never sends it ties up its own connection only."""
    with socket.create_connection(("127.0.0.1", server.port)) as stalled:
        stalled.sendall(f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                        f"X-Amz-Target: {PREFIX}ListSecrets\r\nContent-Length: 100\r\n\r\n{{"
                        .encode())
        time.sleep(0.2)
        body = b'{"SecretId": "fuzz-missing-stall"}'
        answer = send(server.port, "POST", "/", _signed(server, "DescribeSecret", body), body)
        assert answer.error()["__type"] == "ResourceNotFoundException"
        assert answer.seconds < FAST


def test_a_body_never_sent_is_answered_408_when_the_body_timeout_passes(tmp_path):
    """A stalled client gets an AWS error and its connection back, not an open socket forever;
    the refusal is audited like any other (here one record each: `--refusal-interval 0`)."""
    stalling = ServerProcess(tmp_path / "data", ROOT_ENV,
                             args=["--body-timeout", "1", "--refusal-interval", "0"]).start()
    try:
        head = (f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{stalling.port}\r\n"
                f"X-Amz-Target: {PREFIX}ListSecrets\r\n"
                f"Content-Type: application/x-amz-json-1.1\r\nContent-Length: 100\r\n\r\n"
                ).encode()
        with only_refusals_recorded(stalling.data_dir) as answered:
            answer, sent = send_streaming(stalling.port, head, iter([b"{"]))
            answered.add()
        assert sent == 1
        assert answer.status == 408
        assert answer.error()["__type"] == "RequestTimeoutException"
    finally:
        assert stalling.stop() == 0


def _ensure_existing(client: Any) -> None:
    try:
        client.create_secret(Name=EXISTING, SecretString="existing-value")
    except ClientError as error:
        assert error.response["Error"]["Code"] == "ResourceExistsException"


@pytest.fixture(scope="module")
def control_server(tmp_path_factory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("control") / "data", ROOT_ENV).start()
    yield process
    process.stop()


@settings(max_examples=15, deadline=None)
@given(valid=valid_body())
def test_control_the_valid_bodies_succeed_when_signed_properly(control_server, valid):
    """The 'valid' bodies that hostile transports carry would change the ledger if let in."""
    _ensure_existing(make_client(control_server.url))
    operation, body = valid
    answer = send(control_server.port, "POST", "/", _signed(control_server, operation, body),
                  body)
    assert answer.status == 200, answer.body[:300]

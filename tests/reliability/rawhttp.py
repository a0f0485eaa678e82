"""HTTP requests with full control of the header list (duplicates, omissions) and of the body
stream (a declared length never sent, a chunked body that never ends), each with a deadline."""
from __future__ import annotations

import http.client
import json
import select
import socket
import time
from dataclasses import dataclass
from typing import Any

TIMEOUT = 10.0  # seconds; a request still unanswered by then counts as a hang
AWS_JSON = "application/x-amz-json-1.1"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes
    seconds: float

    def error(self) -> dict[str, Any]:
        """The body as an AWS JSON error; raises AssertionError if it is not one."""
        assert 400 <= self.status < 500, f"status {self.status}: {self.body[:300]!r}"
        assert self.headers.get("content-type") == AWS_JSON, self.headers
        document = json.loads(self.body)
        assert isinstance(document, dict), self.body[:300]
        assert isinstance(document.get("__type"), str) and document["__type"], document
        assert isinstance(document.get("Message"), str), document
        return document


def send(port: int, method: str, path: str, headers: list[tuple[str, str]], body: bytes,
         timeout: float = TIMEOUT) -> Answer:
    """One request on a fresh connection; headers go out exactly as listed (Host included),
    plus a Content-Length for a body when none is listed, so the framing is always sound."""
    if body and not any(name.lower() == "content-length" for name, _ in headers):
        headers = [*headers, ("Content-Length", str(len(body)))]
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        data = response.read()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data,
                      time.monotonic() - started)
    finally:
        connection.close()


def _read_answer(sock: socket.socket, deadline: float) -> Answer:
    """Read one HTTP/1.1 response with a Content-Length from a raw socket."""
    started, data = time.monotonic(), b""
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no complete answer in time; got {data[:200]!r}"
        sock.settimeout(remaining)
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a complete answer; got {data[:200]!r}"
        data += chunk
        head, sep, body = data.partition(b"\r\n\r\n")
        if not sep:
            continue
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        if len(body) >= length:
            status = int(lines[0].split()[1])
            return Answer(status, headers, body[:length], time.monotonic() - started)


def send_streaming(port: int, head: bytes, chunks: Any, timeout: float = TIMEOUT
                   ) -> tuple[Answer, int]:
    """Send `head` then body pieces from the iterator `chunks` until the server answers (or
    stops reading); returns the answer and how many body bytes went out before it came."""
    deadline = time.monotonic() + timeout
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        for chunk in chunks:
            readable, writable, _ = select.select([sock], [sock], [], 0.5)
            if readable:
                break
            assert time.monotonic() < deadline, "the server neither answered nor read on"
            if not writable:
                continue
            sock.settimeout(1.0)
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                break  # the server stopped reading: its answer should be waiting
            sent += len(chunk)
        return _read_answer(sock, deadline), sent

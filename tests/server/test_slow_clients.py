"""Slow, silent and endless clients: their connections are closed, and everyone else is still
served."""
from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

import pytest

from tests.server.conftest import ROOT_ENV, ServerProcess, make_client
from tests.server.test_tls import assert_refused, serve

PARTIAL = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
# a complete (unsigned, refused) request, then the next one's headers never finished
KEPT_ALIVE = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + PARTIAL


def open_sockets(port: int, count: int, first: bytes = b"") -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if first:
            sock.sendall(first)
        sock.setblocking(False)
        sockets.append(sock)
    return sockets


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server has closed it (whatever it answered before)."""
    try:
        while sock.recv(65536):
            pass
        return True
    except BlockingIOError:
        return False
    except OSError:  # reset
        return True


def dribble(sockets: list[socket.socket]) -> None:
    """One more header byte on each: a slowloris keeps its connection busy, never idle."""
    for sock in sockets:
        try:
            sock.send(b"a")
        except OSError:
            pass


def wait_until(done: Callable[[], bool], each: Callable[[], None] = lambda: None,
               timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return True
        each()
        time.sleep(0.2)
    return done()


def closing(sockets: list[socket.socket]) -> None:
    for sock in sockets:
        sock.close()


@pytest.fixture
def strict_server(tmp_path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "data", ROOT_ENV, args=["--header-timeout", "1"]).start()
    yield process
    process.stop()


def test_connections_that_never_finish_their_headers_are_closed_while_others_are_served(
        strict_server):
    port = strict_server.port
    silent = open_sockets(port, 10)
    slowloris = open_sockets(port, 10, PARTIAL) + open_sockets(port, 5, KEPT_ALIVE)
    try:
        client = make_client(strict_server.url)
        client.create_secret(Name="slow/db", SecretString="still-served")
        assert client.get_secret_value(SecretId="slow/db")["SecretString"] == "still-served"
        everyone = silent + slowloris
        assert wait_until(lambda: all(closed_by_server(s) for s in everyone),
                          each=lambda: dribble(slowloris))
        assert client.get_secret_value(SecretId="slow/db")["SecretString"] == "still-served"
    finally:
        closing(silent + slowloris)


def test_connections_beyond_max_connections_are_closed_on_arrival(tmp_path):
    server = ServerProcess(tmp_path / "data", ROOT_ENV,
                           args=["--max-connections", "4", "--header-timeout", "300"]).start()
    held = open_sockets(server.port, 10)
    try:
        assert wait_until(lambda: sum(closed_by_server(s) for s in held) >= 6, timeout=30)
        assert sum(not closed_by_server(s) for s in held) <= 4
        closing(held)
        assert make_client(server.url, retries=5).list_secrets()["SecretList"] == []
    finally:
        closing(held)
        server.stop()


def test_request_headers_past_64_kib_are_refused_not_read_into_memory(server, client):
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.sendall(PARTIAL)
    refused, answer = False, b""
    try:
        for _ in range(8000):  # 8 MB of headers, far past the limit
            sock.sendall(b"a" * 1000 + b"\r\nX-More: ")
    except OSError:  # closed by the server before all was sent
        refused = True
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except OSError:
        pass
    sock.close()
    assert refused or answer.startswith(b"HTTP/1.1 431 "), answer[:100]
    assert client.list_secrets()["ResponseMetadata"]["HTTPStatusCode"] == 200


@pytest.mark.parametrize("flag", [["--header-timeout", "0"], ["--max-connections", "0"]])
def test_limits_that_would_serve_no_one_are_refused(tmp_path, flag):
    assert_refused(serve(tmp_path, *flag), tmp_path, "--header-timeout must be above 0")

"""Connections are counted from acceptance, before TLS; silent ones give way to clients that
send requests, and one source address cannot take every slot."""
from __future__ import annotations

import socket

from tests.server.conftest import ROOT_ENV, ServerProcess, make_client
from tests.server.test_slow_clients import closed_by_server, closing, open_sockets, wait_until
from tests.server.test_tls import https_client, pki  # noqa: F401 (a fixture)


def still_open(sockets: list[socket.socket]) -> int:
    return sum(not closed_by_server(sock) for sock in sockets)


def open_sockets_from(source: str, port: int, count: int) -> list[socket.socket]:
    """Connections from another loopback address: another peer, as far as the server knows."""
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind((source, 0))
        sock.settimeout(10)
        sock.connect(("127.0.0.1", port))
        sock.setblocking(False)
        sockets.append(sock)
    return sockets


def test_silent_tls_sockets_are_capped_and_closed_before_any_handshake(tmp_path, pki):
    """No ClientHello ever: such sockets count against --max-connections and are closed after
    --header-timeout, not held uncounted for the event loop's 60 s handshake timeout."""
    ca, cert, key = pki
    server = ServerProcess(tmp_path / "data", ROOT_ENV, args=[
        "--tls-cert", str(cert), "--tls-key", str(key), "--max-connections", "10",
        "--header-timeout", "3"]).start()
    silent = open_sockets(server.port, 40)
    try:
        assert wait_until(lambda: still_open(silent) <= 10, timeout=30)
        client = https_client(f"https://127.0.0.1:{server.port}", str(ca))
        assert client.list_secrets()["SecretList"] == []
        assert wait_until(lambda: still_open(silent) == 0, timeout=40)
    finally:
        closing(silent)
        server.stop()


def test_silent_sockets_filling_every_slot_give_way_to_a_client_that_sends_a_request(
        tmp_path):
    server = ServerProcess(tmp_path / "data", ROOT_ENV, args=[
        "--max-connections", "20", "--header-timeout", "300"]).start()
    silent = open_sockets(server.port, 25)
    try:
        assert wait_until(lambda: still_open(silent) <= 20, timeout=30)  # all accepted
        client = make_client(server.url)  # one attempt: no retry hides a refused connection
        for _ in range(5):
            assert client.list_secrets()["SecretList"] == []
        assert still_open(silent) >= 15  # only as many as needed gave way
    finally:
        closing(silent)
        server.stop()


def test_one_peer_cannot_hold_more_than_its_share_of_connections(tmp_path):
    server = ServerProcess(tmp_path / "data", ROOT_ENV, args=[
        "--max-connections", "20", "--max-connections-per-peer", "5",
        "--header-timeout", "300"]).start()
    attacker = open_sockets_from("127.0.0.2", server.port, 30)
    try:
        assert wait_until(lambda: still_open(attacker) <= 5, timeout=30)
        mine = open_sockets(server.port, 4)  # with the client, 127.0.0.1 is at its limit
        client = make_client(server.url)
        assert client.list_secrets()["SecretList"] == []
        assert still_open(mine) == 4  # the other peer's flood closed none of them
        closing(mine)
    finally:
        closing(attacker)
        server.stop()

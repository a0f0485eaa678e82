"""How the endpoint listens: where, whether over TLS, and what a connection may hold.

`GetSecretValue` answers with the value; SigV4 protects a request's integrity, not its secrecy.
So plain HTTP is for loopback only: binding any other address needs a certificate and key, or
an explicit `--insecure-http`. The check runs before the ledger opens or a socket binds.

Connections are counted and capped from the moment they are accepted (`tools.admission`), a
TLS handshake must finish within the header timeout, and each request's headers must arrive
within a deadline and a size limit (`HeaderLimitsProtocol`), so slow, silent or endless
clients cannot hold sockets or memory.

TLS is started here (`AcceptedProtocol`, with `loop.start_tls`), not by uvicorn: uvicorn wraps
sockets in TLS before any protocol of ours sees them and passes no handshake timeout, so a
client that never sends a ClientHello would hold its socket, uncounted, for the event loop's
default 60 seconds.
"""
from __future__ import annotations

import asyncio
import functools
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ledger.keys.private_files import KeyFileError, read_private_file
from tools.admission import Admission, Slot

HEADER_TIMEOUT_SECONDS = 10.0
MAX_CONNECTIONS = 500  # well under the usual 1024 open files, with room for the database's
MAX_CONNECTIONS_PER_PEER = 64  # one source address's share; every local client is 127.0.0.1
MAX_HEADER_BYTES = 64 * 1024  # request line and headers of one request
HEADERS_TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n"
                     b"connection: close\r\n\r\n")


class TransportError(Exception):
    """A listening configuration that is refused; the message is one line for the operator."""


def is_loopback(host: str) -> bool:
    """Only `localhost` and loopback addresses; any other name may resolve beyond the host."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Listener:
    host: str = "127.0.0.1"
    port: int = 4566
    tls_cert: str | None = None
    tls_key: str | None = None
    insecure_http: bool = False
    header_timeout: float = HEADER_TIMEOUT_SECONDS
    max_connections: int = MAX_CONNECTIONS
    max_connections_per_peer: int = MAX_CONNECTIONS_PER_PEER

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def plain_beyond_loopback(self) -> bool:
        return not self.tls and not is_loopback(self.host)

    def check(self) -> None:
        """Refuse what would serve values in the clear, or fail later with a traceback."""
        if (self.tls_cert is None) != (self.tls_key is None):
            raise TransportError("--tls-cert and --tls-key go together")
        if self.tls:
            _load(self.tls_cert, self.tls_key)
        elif self.plain_beyond_loopback and not self.insecure_http:
            raise TransportError(
                f"refusing plain HTTP on {self.host}, beyond loopback: secret values would "
                "cross the network unencrypted; give --tls-cert and --tls-key (or "
                "--insecure-http to accept that)")
        if (not self.header_timeout > 0 or self.max_connections < 1
                or self.max_connections_per_peer < 1):
            raise TransportError("--header-timeout must be above 0, --max-connections and "
                                 "--max-connections-per-peer at least 1")

    def uvicorn_options(self) -> dict[str, Any]:
        """uvicorn gets no certificate: `AcceptedProtocol` starts TLS itself."""
        http = functools.partial(
            AcceptedProtocol, header_timeout=self.header_timeout,
            admission=Admission(self.max_connections, self.max_connections_per_peer),
            tls=_load(self.tls_cert, self.tls_key) if self.tls else None)
        return {"host": self.host, "port": self.port, "http": http}


def _load(cert: str | None, key: str | None) -> ssl.SSLContext:
    """The server's TLS context; the key file must be private, as the ledger's key files are."""
    try:
        read_private_file(Path(key))  # type: ignore[arg-type]
    except KeyFileError as error:
        raise TransportError(f"refusing --tls-key: {error}") from None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key)  # type: ignore[arg-type]
    except OSError as error:
        raise TransportError(f"cannot use --tls-cert {cert} with --tls-key {key}: "
                             f"{_reason(error)}") from None
    return context


def _reason(error: OSError) -> str:
    if isinstance(error, ssl.SSLError):  # a file that is not PEM, or another certificate's key
        return (error.reason.lower().replace("_", " ") if error.reason
                else "not a PEM certificate and its private key")
    return error.strerror or str(error)


class AcceptedProtocol(asyncio.Protocol):
    """A connection from its acceptance until HTTP takes over: counted in (or closed), then,
    for TLS, a handshake bounded by the header timeout, then handed to `HeaderLimitsProtocol`.

    The handshake's end and the hand-over are a loop turn apart; application data arriving in
    between comes here and is passed on, so nothing the client sent is lost.
    """

    def __init__(self, *, header_timeout: float, admission: Admission,
                 tls: ssl.SSLContext | None, **http_options: Any) -> None:
        self.header_timeout, self.admission, self.tls = header_timeout, admission, tls
        self.http_options = http_options
        self.early: list[bytes] = []
        self.slot: Slot | None = None
        self.handshake: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        peer = transport.get_extra_info("peername")
        self.slot = Slot(str(peer[0]) if peer else "", transport.close)
        if not self.admission.admit(self.slot):
            transport.close()
        elif self.tls is None:
            self._hand_over(transport)
        else:
            loop = asyncio.get_running_loop()
            self.handshake = loop.create_task(self._start_tls(transport))
            loop.call_soon(self._pass_on_early, transport)

    async def _start_tls(self, transport: asyncio.Transport) -> None:
        assert self.slot is not None
        try:
            secured = await asyncio.get_running_loop().start_tls(
                transport, self, self.tls, server_side=True,  # type: ignore[arg-type]
                ssl_handshake_timeout=self.header_timeout)
        except (OSError, ssl.SSLError, asyncio.TimeoutError, ConnectionError):
            transport.close()
            self.admission.release(self.slot)
            return
        self._hand_over(secured)  # type: ignore[arg-type]

    def _pass_on_early(self, transport: asyncio.Transport) -> None:
        """The bytes read before start_tls took the transport (the ClientHello, often) go to
        its TLS protocol. Callbacks run in the order scheduled: this runs after the task's
        first step (which swaps the protocol) and before the handshake starts."""
        tls, early, self.early = transport.get_protocol(), b"".join(self.early), []
        if tls is self or not early:
            return
        buffer = tls.get_buffer(len(early))  # type: ignore[attr-defined]
        while early:
            size = min(len(buffer), len(early))
            buffer[:size] = early[:size]
            tls.buffer_updated(size)  # type: ignore[attr-defined]
            early = early[size:]

    def _hand_over(self, transport: asyncio.Transport) -> None:
        http = HeaderLimitsProtocol(**self.http_options, header_timeout=self.header_timeout,
                                    admission=self.admission, slot=self.slot)
        transport.set_protocol(http)
        http.connection_made(transport)
        for data in self.early:
            http.data_received(data)

    def data_received(self, data: bytes) -> None:
        self.early.append(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.slot is not None:
            self.admission.release(self.slot)


class HeaderLimitsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus limits on request headers and a connection cap.

    uvicorn closes a keep-alive connection that stays silent after a response, but sets no
    time limit on a request's headers: not on a new connection, and not once a first byte has
    arrived, so a client sending nothing, or one header byte at a time, holds its socket
    forever. Nor does it bound their size with httptools (h11 has a limit, httptools none): a
    client could stream headers into memory until the process dies. `limit_concurrency` does
    not help: it answers 503 only once headers are complete. Hence a deadline, armed when a
    connection opens and after each response and cleared when the headers are in; a byte count
    from the start of each request to its headers' end (over-counting by at most one read).
    While the deadline is armed the connection counts as waiting, the first to be closed when
    the connection limits are reached (`tools.admission`).
    """

    def __init__(self, *args: Any, header_timeout: float, admission: Admission, slot: Slot,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout, self.admission, self.slot = header_timeout, admission, slot
        self.header_deadline: asyncio.TimerHandle | None = None
        self.header_bytes: int | None = None  # None: not inside a request's headers

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.slot.close = transport.close  # over TLS, closing says goodbye first
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.header_bytes is not None:
            self.header_bytes += len(data)
            if self.header_bytes > MAX_HEADER_BYTES and not self.transport.is_closing():
                self.transport.write(HEADERS_TOO_LARGE)
                self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.header_bytes = 0

    def on_headers_complete(self) -> None:
        self._disarm()
        self.header_bytes = None
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        waiting = not self.pipeline  # else the next request's headers are in already
        super().on_response_complete()
        if waiting and not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.admission.release(self.slot)
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self.header_deadline = self.loop.call_later(self.header_timeout, self.transport.close)
        self.admission.waiting(self.slot, True)

    def _disarm(self) -> None:
        if self.header_deadline is not None:
            self.header_deadline.cancel()
            self.header_deadline = None
            self.admission.waiting(self.slot, False)

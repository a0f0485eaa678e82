"""How the endpoint listens: where, whether over TLS, and what a connection may hold.

`GetSecretValue` answers with the value; SigV4 protects a request's integrity, not its secrecy.
So plain HTTP is for loopback only: binding any other address needs a certificate and key, or
an explicit `--insecure-http`. The check runs before the ledger opens or a socket binds.

Connections are capped, and each request's headers must arrive within a deadline and a size
limit (`HeaderLimitsProtocol`), so slow, silent or endless clients cannot hold sockets or memory.
"""
from __future__ import annotations

import asyncio
import functools
import ipaddress
import ssl
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT_SECONDS = 10.0
MAX_CONNECTIONS = 500  # well under the usual 1024 open files, with room for the database's
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
        if not self.header_timeout > 0 or self.max_connections < 1:
            raise TransportError("--header-timeout must be above 0 and --max-connections at "
                                 "least 1")

    def uvicorn_options(self) -> dict[str, Any]:
        http = functools.partial(HeaderLimitsProtocol, header_timeout=self.header_timeout,
                                 max_connections=self.max_connections)
        return {"host": self.host, "port": self.port, "ssl_certfile": self.tls_cert,
                "ssl_keyfile": self.tls_key, "http": http}


def _load(cert: str | None, key: str | None) -> None:
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key)  # type: ignore[arg-type]
    except OSError as error:
        raise TransportError(f"cannot use --tls-cert {cert} with --tls-key {key}: "
                             f"{_reason(error)}") from None


def _reason(error: OSError) -> str:
    if isinstance(error, ssl.SSLError):  # a file that is not PEM, or another certificate's key
        return (error.reason.lower().replace("_", " ") if error.reason
                else "not a PEM certificate and its private key")
    return error.strerror or str(error)


class HeaderLimitsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus limits on request headers and a connection cap.

    uvicorn closes a keep-alive connection that stays silent after a response, but sets no
    time limit on a request's headers: not on a new connection, and not once a first byte has
    arrived, so a client sending nothing, or one header byte at a time, holds its socket
    forever. Nor does it bound their size with httptools (h11 has a limit, httptools none): a
    client could stream headers into memory until the process dies. `limit_concurrency` does
    not help: it answers 503 only once headers are complete. Hence a deadline, armed when a
    connection opens and after each response and cleared when the headers are in; a byte count
    from the start of each request to its headers' end (over-counting by at most one read);
    and connections past the cap closed on arrival, unread, so the sockets held stay bounded.
    """

    def __init__(self, *args: Any, header_timeout: float, max_connections: int,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout, self.max_connections = header_timeout, max_connections
        self.header_deadline: asyncio.TimerHandle | None = None
        self.header_bytes: int | None = None  # None: not inside a request's headers

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            transport.close()
        else:
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
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self.header_deadline = self.loop.call_later(self.header_timeout, self.transport.close)

    def _disarm(self) -> None:
        if self.header_deadline is not None:
            self.header_deadline.cancel()
            self.header_deadline = None

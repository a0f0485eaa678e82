"""How the endpoint listens: where, whether over TLS, and the rule against plain HTTP abroad.

`GetSecretValue` answers with the value; SigV4 protects a request's integrity, not its secrecy.
So plain HTTP is for loopback only: binding any other address needs a certificate and key, or
an explicit `--insecure-http`. The check runs before the ledger opens or a socket binds.
"""
from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from typing import Any


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

    def uvicorn_options(self) -> dict[str, Any]:
        return {"host": self.host, "port": self.port, "ssl_certfile": self.tls_cert,
                "ssl_keyfile": self.tls_key}


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

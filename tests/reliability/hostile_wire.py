"""Put a `Hostile` request on the wire: sign it now with the root key, then apply its
transport change (which may break the signature on purpose)."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from tests.reliability.hostile import Hostile
from tests.reliability.rawhttp import Answer, send
from tests.server.conftest import signed_headers

STAMP = "%Y%m%dT%H%M%SZ"


def _stamp(offset: timedelta) -> str:
    return (datetime.now(timezone.utc) + offset).strftime(STAMP)


def wire(request: Hostile, port: int) -> tuple[list[tuple[str, str]], bytes]:
    """The header list and body to send for `request`."""
    change, body = request.transport, request.body
    signing: dict[str, object] = {}
    extra: dict[str, str] = {}
    if change == "wrong_secret":
        signing["secret"] = "not-the-root-secret-access-key-000000000"
    elif change == "unknown_key":
        signing["key_id"] = "AKIAFUZZUNKNOWN00001"
    elif change == "wrong_service":
        signing["service"] = "kms"
    elif change in ("expired", "future"):
        signing["timestamp"] = _stamp(timedelta(minutes=-20 if change == "expired" else 20))
    elif change == "security_token":
        extra["X-Amz-Security-Token"] = "FQoGZXIvYXdzEFUZZTOKEN"
    elif change == "sha256_mismatch":
        extra["X-Amz-Content-Sha256"] = hashlib.sha256(body + b"other").hexdigest()
    url = f"http://127.0.0.1:{port}"
    headers = signed_headers(url, request.target, body, headers=extra, method=request.method,
                             path=request.path, **signing)  # type: ignore[arg-type]
    items = [("Host", f"127.0.0.1:{port}"), *headers.items()]
    if change == "dup_target":
        items.append(("X-Amz-Target", request.extra))
    elif change == "dup_content_type":
        items.append(("Content-Type", "application/json"))
    elif change == "no_content_type":
        items = [(k, v) for k, v in items if k != "Content-Type"]
    elif change == "no_date":
        items = [(k, v) for k, v in items if k != "X-Amz-Date"]
    elif change == "bad_date":
        items = [(k, "20260101" if k == "X-Amz-Date" else v) for k, v in items]
    elif change in ("no_auth", "query_auth"):
        items = [(k, v) for k, v in items if k != "Authorization"]
    elif change in ("bad_signature", "garbage_auth", "truncated_auth"):
        items = [(k, _broken(v, change, request.extra) if k == "Authorization" else v)
                 for k, v in items]
    elif change == "body_tampered":
        body = body + b" "
        items = [(k, str(len(body)) if k == "Content-Length" else v) for k, v in items]
    return items, body


def _broken(authorization: str, change: str, extra: str) -> str:
    if change == "garbage_auth":
        return extra
    if change == "truncated_auth":
        return authorization[:int(extra)]
    flipped = "0" if authorization[-1] != "0" else "1"
    return authorization[:-1] + flipped


def deliver(request: Hostile, port: int) -> Answer:
    headers, body = wire(request, port)
    return send(port, request.method, request.path, headers, body)

"""The AWS Secrets Manager endpoint: JSON 1.1 over HTTP, SigV4-authenticated, on Starlette.

A thin adapter. Per request it reads the body (bounded), verifies the signature, decodes the
members against the service model, and hands the call to `SecretsLedger.call` with the caller's
identity, address, user agent, Region and request id. Every business rule stays in the ledger;
this module only maps `LedgerError.code` to an HTTP status and a `{"__type", "Message"}` body.
Requests refused after authentication (protocol errors) are audited one by one through
`record_rejected_call`. Requests refused before it (no or a bad signature, an unknown key, a body
too large or too slow) are throttled per (source IP, claimed key id) and counted into one record
per group and interval (`ledger.refusals`), so an anonymous client cannot grow the log at will.

While serving, a background thread ends passed recovery windows (`purge_expired`). Shutdown
lets in-flight requests finish, stops that thread and closes the ledger.
"""
from __future__ import annotations

import json
import logging
import signal
import threading
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from ledger.application import HANDLERS, SecretsLedger
from ledger.context import Caller
from ledger.errors import (
    InternalServiceError, InvalidRequestException, LedgerError, UnknownOperationException,
)
from ledger.principals import Principals, RecentCredentials
from ledger.refusals import RefusalKey, RefusalTally
from tools import awsjson
from tools.forwarding import TrustedProxies
from tools.sigv4 import AuthError, ReceivedRequest, SigV4Verifier, parse_authorization
from tools.throttle import FailureThrottle
from tools.transport import Listener

TARGET_PREFIX = "secretsmanager."
MAX_BODY_BYTES = 1 << 20
BODY_TIMEOUT_SECONDS = 30.0  # a client that declares a body must send it within this time
REFUSAL_INTERVAL = 60.0  # seconds a group of unauthenticated refusals is counted before its record
REFUSAL_BURST, REFUSAL_RATE = 50, 5.0  # per (source IP, key id): refusals at once, then per second
WORKER_THREADS = 12  # below the SQLite pool's 15 connections, so no worker waits for one
MAX_NAME = 128
RATE_EXCEEDED = "Rate exceeded"
TOKEN_MISSING = "You must provide a ClientRequestToken value. We recommend a UUID-type value."
# Operations whose idempotency token SDKs always fill in; True: only when a value is sent.
TOKEN_REQUIRED = {"CreateSecret": True, "UpdateSecret": True, "PutSecretValue": False,
                  "RotateSecret": False}
ERROR_STATUS = {"InternalServiceError": 500, "RequestEntityTooLargeException": 413,
                "RequestTimeoutException": 408}

access_log = logging.getLogger("secrets_ledger.access")
server_log = logging.getLogger("secrets_ledger.server")


class RequestEntityTooLargeException(LedgerError):
    code = "RequestEntityTooLargeException"


class RequestTimeoutException(LedgerError):
    code = "RequestTimeoutException"


class ThrottlingException(LedgerError):
    code = "ThrottlingException"


@dataclass(frozen=True)
class Meta:
    """What is known of a request before it is authenticated."""

    request_id: str
    operation: str
    source_ip: str
    user_agent: str
    secure_transport: bool = False  # this connection is TLS (a proxy's hop counts, not before)


@dataclass
class Reply:
    status: int
    body: bytes
    caller: Caller | None = None
    error_code: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def check_client_token(operation: str, request: dict[str, Any]) -> None:
    """SDKs always send ClientRequestToken; a raw request without one is refused, as AWS does."""
    only_with_value = TOKEN_REQUIRED.get(operation)
    if only_with_value is None or request.get("ClientRequestToken") is not None:
        return
    has_value = "SecretString" in request or "SecretBinary" in request
    if has_value or not only_with_value:
        raise InvalidRequestException(TOKEN_MISSING)


class Endpoint:
    """The request pipeline: bounded read, authenticate, decode, call the ledger, render."""

    def __init__(self, ledger: SecretsLedger, verifier: SigV4Verifier, max_body: int,
                 worker_threads: int, body_timeout: float, proxies: TrustedProxies,
                 refusals: RefusalTally | None, throttle: FailureThrottle) -> None:
        self.ledger, self.verifier, self.max_body = ledger, verifier, max_body
        self.body_timeout, self.proxies = body_timeout, proxies
        self.limiter = anyio.CapacityLimiter(worker_threads)
        self.refusals, self.throttle = refusals, throttle  # refusals None: record each at once

    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        target = request.headers.get("x-amz-target", "")
        operation = target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else target
        meta = Meta(request_id=str(uuid.uuid4()), operation=operation[:MAX_NAME],
                    source_ip=self._source_ip(request),
                    user_agent=request.headers.get("user-agent", "")[:1024],
                    secure_transport=request.scope.get("scheme") == "https")
        try:
            body = await self._read_body(request)
        except ClientDisconnect:  # gone before its request was complete: no one to answer
            _log_access(meta, Reply(499, b""), time.perf_counter() - started)
            return Response(status_code=400)
        except (RequestEntityTooLargeException, RequestTimeoutException) as error:
            key_id = _unverified_key_id(request.headers.get("authorization"))
            reply = await anyio.to_thread.run_sync(self._refuse_unauthenticated, meta, error,
                                                   key_id, None, limiter=self.limiter)
        else:
            received = ReceivedRequest(
                method=request.method, path=request.scope.get("raw_path", b"/").decode("latin-1"),
                query=request.scope.get("query_string", b"").decode("latin-1"),
                headers=[(k.decode("latin-1").lower(), v.decode("latin-1"))
                         for k, v in request.scope["headers"]],
                body=body)
            reply = await anyio.to_thread.run_sync(self.serve, received, meta,
                                                   limiter=self.limiter)
        _log_access(meta, reply, time.perf_counter() - started)
        return Response(reply.body, status_code=reply.status, media_type=awsjson.CONTENT_TYPE,
                        headers={"x-amzn-RequestId": meta.request_id})

    def _source_ip(self, request: Request) -> str:
        peer = request.client.host if request.client else ""
        return self.proxies.source_ip(peer, request.headers.getlist("x-forwarded-for"))

    async def _read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            raise RequestEntityTooLargeException(self._too_large())
        chunks: list[bytes] = []
        with anyio.move_on_after(self.body_timeout) as deadline:
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > self.max_body:
                    raise RequestEntityTooLargeException(self._too_large())
                chunks.append(chunk)
        if deadline.cancelled_caught:  # a stalled client must not hold its connection forever
            raise RequestTimeoutException(
                f"The request body was not received within {self.body_timeout:g} seconds.")
        return b"".join(chunks)

    def _too_large(self) -> str:
        return f"Request body is larger than the limit of {self.max_body} bytes."

    # ---- the synchronous part, run on a worker thread -------------------------------------
    def serve(self, received: ReceivedRequest, meta: Meta) -> Reply:
        account = self.ledger.config.account_id
        try:
            verified = self.verifier.verify(received)
        except AuthError as error:
            return self._refuse_unauthenticated(meta, error, error.access_key_id, error.region)
        except Exception as error:  # a fault of ours, not the caller's
            return self._crash(meta, error, Caller.unauthenticated("", account), None)
        caller, region = verified.caller, verified.region
        try:
            operation = self._operation(received, meta)
            request = awsjson.decode_request(operation, received.body)
            check_client_token(operation, request)
        except LedgerError as error:
            return self._refuse(meta, error, caller, region)
        except Exception as error:
            return self._crash(meta, error, caller, region)
        try:
            result = self.ledger.call(operation, request, caller, source_ip=meta.source_ip,
                                      user_agent=meta.user_agent, request_id=meta.request_id,
                                      region=region, secure_transport=meta.secure_transport)
            return Reply(200, awsjson.encode(result), caller)
        except LedgerError as error:  # the ledger has recorded it
            return _error_reply(error, caller)
        except Exception as error:
            return self._crash(meta, error, caller, region)

    @staticmethod
    def _operation(received: ReceivedRequest, meta: Meta) -> str:
        served = (received.method == "POST" and received.path in ("/", "")
                  and received.header("x-amz-target") == TARGET_PREFIX + meta.operation
                  and meta.operation in HANDLERS)
        if not served:
            name = meta.operation or "(none)"
            raise UnknownOperationException(f"The operation {name} is not supported.")
        return meta.operation

    def _refuse(self, meta: Meta, error: LedgerError, caller: Caller,
                region: str | None) -> Reply:
        """Answer a request refused before the ledger ran it, and audit the refusal."""
        try:
            self.ledger.record_rejected_call(meta.operation, error, caller,
                                             source_ip=meta.source_ip,
                                             user_agent=meta.user_agent,
                                             request_id=meta.request_id, region=region)
        except Exception as failure:
            _log_fault("could not record a rejected call", failure, meta)
            return _error_reply(InternalServiceError("The request could not be audited."), caller)
        return _error_reply(error, caller)

    def _refuse_unauthenticated(self, meta: Meta, error: LedgerError, access_key_id: str,
                                region: str | None) -> Reply:
        """Answer a request refused before authentication: ThrottlingException once its (source
        IP, claimed key id) has used up its refusals, and counted into a group record."""
        caller = Caller.unauthenticated(access_key_id, self.ledger.config.account_id)
        throttled = not self.throttle.allow((meta.source_ip, access_key_id))
        answer = ThrottlingException(RATE_EXCEEDED) if throttled else error
        if self.refusals is None:
            return self._refuse(meta, answer, caller, region)
        operation = meta.operation if meta.operation in HANDLERS else ""
        self.refusals.add(RefusalKey(meta.source_ip, access_key_id, error.code, operation),
                          self.ledger.now(), throttled=throttled, request_id=meta.request_id,
                          message=error.message, user_agent=meta.user_agent, region=region)
        return _error_reply(answer, caller)

    def flush_refusals(self, everything: bool = False) -> None:
        """Store the groups of refusals whose interval has passed (all: at shutdown); groups
        that cannot be stored now are kept for the next attempt."""
        if self.refusals is None:
            return
        groups = self.refusals.take(None if everything else self.ledger.now())
        if not groups:
            return
        try:
            self.ledger.record_refusals(groups)
        except Exception as failure:
            server_log.error({"event": "could not record refusals", **_fault_fields(failure)})
            self.refusals.restore(groups)

    def _crash(self, meta: Meta, error: Exception, caller: Caller, region: str | None) -> Reply:
        _log_fault("request failed", error, meta)
        return self._refuse(meta, InternalServiceError("An internal error occurred."), caller,
                            region)


def _error_reply(error: LedgerError, caller: Caller | None) -> Reply:
    status = ERROR_STATUS.get(error.code, 400)
    return Reply(status, awsjson.error_body(error.code, error.message), caller, error.code)


def _unverified_key_id(header: str | None) -> str:
    try:
        return parse_authorization(header).access_key_id[:MAX_NAME]
    except AuthError:
        return ""


# ---- logging --------------------------------------------------------------------------------
class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line; dict messages are merged in as fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"),
            "level": record.levelname, "logger": record.name}
        if isinstance(record.msg, dict):
            entry.update(record.msg)
        else:
            entry["message"] = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            entry.update(_fault_fields(record.exc_info[1]))
        return json.dumps(entry, default=str)


def logging_config(level: str) -> dict[str, Any]:
    """For uvicorn's `log_config`: every line on stderr is JSON, ours and uvicorn's."""
    handler = {"class": "logging.StreamHandler", "formatter": "json",
               "stream": "ext://sys.stderr"}
    loggers = {name: {"handlers": ["stderr"], "level": level.upper(), "propagate": False}
               for name in ("uvicorn", "uvicorn.error", "secrets_ledger", "ledger",
                            "projections")}
    return {"version": 1, "disable_existing_loggers": False,
            "formatters": {"json": {"()": JsonLinesFormatter}},
            "handlers": {"stderr": handler}, "loggers": loggers}


def _log_access(meta: Meta, reply: Reply, seconds: float) -> None:
    caller = reply.caller
    access_log.info({
        "request_id": meta.request_id, "operation": meta.operation, "status": reply.status,
        "error_code": reply.error_code, "principal": caller.arn if caller else "",
        "access_key_id": caller.access_key_id if caller else "", "source_ip": meta.source_ip,
        "duration_ms": round(seconds * 1000, 3)})


def _fault_fields(error: BaseException) -> dict[str, Any]:
    """Type and call stack only: an exception's message could quote data it was handed."""
    frames = traceback.extract_tb(error.__traceback__)
    return {"exception": type(error).__name__,
            "stack": [f"{frame.filename}:{frame.lineno} {frame.name}" for frame in frames]}


def _log_fault(what: str, error: BaseException, meta: Meta) -> None:
    server_log.error({"event": what, "request_id": meta.request_id,
                      "operation": meta.operation, **_fault_fields(error)})


# ---- background upkeep ----------------------------------------------------------------------
DIGEST_CHECK_SECONDS = 1.0


class UpkeepThread(threading.Thread):
    """While the server runs: ends passed recovery and key pending windows every
    `purge_interval` seconds (None: never), writes each signed digest when it falls due,
    traffic or not, so a quiet interval still gets its (empty) digest, and stores the groups of
    unauthenticated refusals whose interval has passed."""

    def __init__(self, ledger: SecretsLedger, purge_interval: float | None,
                 flush_refusals: Callable[[], None] = lambda: None) -> None:
        super().__init__(name="ledger-upkeep", daemon=True)
        self.ledger, self.purge_interval = ledger, purge_interval
        self.flush_refusals = flush_refusals
        self.tick = min(purge_interval or DIGEST_CHECK_SECONDS, DIGEST_CHECK_SECONDS)
        self._stopping = threading.Event()

    def run(self) -> None:
        next_purge = time.monotonic()
        while True:
            if self.purge_interval and time.monotonic() >= next_purge:
                self._purge()
                next_purge = time.monotonic() + self.purge_interval
            self.ledger.integrity.write_digest_if_due()  # logs its own failures
            self.flush_refusals()  # logs its own failures
            if self._stopping.wait(self.tick):
                return

    def _purge(self) -> None:
        try:
            purged = self.ledger.purge_expired()
            if purged:
                server_log.info({"event": "purged", "resources": purged})
        except Exception as error:
            server_log.error({"event": "purge failed", "exception": type(error).__name__})

    def stop(self) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join(timeout=30)


# ---- the application ------------------------------------------------------------------------
def create_app(ledger: SecretsLedger, *, verifier: SigV4Verifier | None = None,
               max_body: int = MAX_BODY_BYTES, purge_interval: float | None = 300,
               worker_threads: int = WORKER_THREADS, close_ledger: bool = True,
               body_timeout: float = BODY_TIMEOUT_SECONDS,
               trusted_proxies: TrustedProxies | None = None,
               refusal_interval: float = REFUSAL_INTERVAL, refusal_burst: float = REFUSAL_BURST,
               refusal_rate: float = REFUSAL_RATE) -> Starlette:
    """The ASGI app; access keys are looked up in the ledger's principals unless given.
    `refusal_interval` 0 records each unauthenticated refusal at once instead of counting."""
    verifier = verifier or SigV4Verifier(RecentCredentials(Principals(ledger)))
    refusals = RefusalTally(refusal_interval) if refusal_interval > 0 else None
    endpoint = Endpoint(ledger, verifier, max_body, worker_threads, body_timeout,
                        trusted_proxies or TrustedProxies(), refusals,
                        FailureThrottle(refusal_rate, refusal_burst))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        upkeep = UpkeepThread(ledger, purge_interval, endpoint.flush_refusals)
        upkeep.start()
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(upkeep.stop)
            await anyio.to_thread.run_sync(endpoint.flush_refusals, True)
            if close_ledger:
                ledger.close()

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
    return Starlette(routes=[Route("/{path:path}", endpoint.handle, methods=methods)],
                     lifespan=lifespan)


def run(app: Starlette, listener: Listener | None = None, log_level: str = "info") -> None:
    """Serve until SIGINT/SIGTERM; in-flight requests finish before the ledger closes.

    uvicorn re-raises the stop signal once it has shut down; the handler below turns that into
    a normal exit, so a graceful stop ends with status 0.
    """
    listener = listener or Listener()
    config = uvicorn.Config(app, **listener.uvicorn_options(), log_level=log_level.lower(),
                            log_config=logging_config(log_level), access_log=False,
                            lifespan="on", timeout_graceful_shutdown=30, server_header=False,
                            proxy_headers=False)  # the peer is the source: tools.forwarding
    if listener.plain_beyond_loopback:
        server_log.warning({"event": "serving plain HTTP beyond loopback (--insecure-http): "
                                     "secret values cross the network unencrypted",
                            "host": listener.host})
    if listener.tls:  # uvicorn, which does not start the TLS itself, will say http://
        server_log.info({"event": "serving HTTPS", "host": listener.host, "port": listener.port})
    if threading.current_thread() is threading.main_thread():
        for stop_signal in (signal.SIGINT, signal.SIGTERM):
            signal.signal(stop_signal, _stopped)
    uvicorn.Server(config).run()


def _stopped(signum: int, frame: Any) -> None:
    """Outside uvicorn's own handling (its re-raise, or a signal during start-up): exit 0."""
    raise SystemExit(0)

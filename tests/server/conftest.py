"""The real server in a subprocess on a free loopback port, and the clients that drive it."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from eventsourcing.utils import get_topic

from ledger.application import SecretsLedger
from ledger.calls import ApiCallRecorded
from ledger.config import LedgerConfig

ROOT_KEY_ID = "AKIATESTROOT00000001"
ROOT_SECRET = "test-root-secret-access-key-0000000000000"
REGION = "us-west-2"
PROJECT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """`python -m tools.cli serve` on 127.0.0.1; stdout and stderr go to files."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None,
                 args: list[str] | None = None) -> None:
        self.data_dir, self.port = data_dir, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stdout_path = data_dir.parent / f"{data_dir.name}-{self.port}.out"
        self.stderr_path = data_dir.parent / f"{data_dir.name}-{self.port}.err"
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LEDGER_"))}
        self.env = {**base, **(env or {})}
        self.args = args or []
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> ServerProcess:
        self.spawn()
        return self.wait_listening(timeout)

    def spawn(self) -> subprocess.Popen:
        """Start the process without waiting for it to listen (crash tests kill it early)."""
        command = [sys.executable, "-m", "tools.cli", "serve", "--port", str(self.port),
                   "--data-dir", str(self.data_dir), *self.args]
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            self.process = subprocess.Popen(command, cwd=PROJECT, env=self.env, stdout=out,
                                            stderr=err, stdin=subprocess.DEVNULL)
        return self.process

    def wait_listening(self, timeout: float = 30) -> ServerProcess:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n"
                                   + self.stderr_path.read_text())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not start listening in time")

    def stop(self, timeout: float = 30) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def stdout(self) -> str:
        return self.stdout_path.read_text() if self.stdout_path.exists() else ""

    def stderr(self) -> str:
        return self.stderr_path.read_text() if self.stderr_path.exists() else ""

    def access_log(self) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.stderr().splitlines() if line.strip()]
        return [line for line in lines if line.get("logger") == "secrets_ledger.access"]


ROOT_ENV = {"LEDGER_ROOT_ACCESS_KEY_ID": ROOT_KEY_ID,
            "LEDGER_ROOT_SECRET_ACCESS_KEY": ROOT_SECRET}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[ServerProcess]:
    """One server per test module, with root credentials from the environment."""
    process = ServerProcess(tmp_path_factory.mktemp("server") / "data", ROOT_ENV).start()
    yield process
    process.stop()


def make_client(url: str, region: str = REGION, key_id: str = ROOT_KEY_ID,
                secret: str = ROOT_SECRET, retries: int = 1) -> Any:
    return boto3.session.Session().client(
        "secretsmanager", endpoint_url=url, region_name=region, aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": retries, "mode": "standard"}))


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Any:
    return make_client(server.url)


class AuditLog:
    """Reads the server's log from the same data directory, as a second process would."""

    def __init__(self, data_dir: Path) -> None:
        self.ledger = SecretsLedger(LedgerConfig(data_dir=data_dir))

    def calls(self) -> list[ApiCallRecorded]:
        topic = get_topic(ApiCallRecorded)
        notes = self.ledger.recorder.select_notifications(start=None, limit=1_000_000,
                                                          topics=[topic])
        return [self.ledger.mapper.to_domain_event(note) for note in notes]

    def call_for(self, request_id: str) -> ApiCallRecorded:
        found = [c for c in self.calls() if c.context["request_id"] == request_id]
        assert len(found) == 1, f"{len(found)} records for request {request_id}"
        return found[0]

    def position(self) -> int:
        return self.ledger.recorder.max_notification_id() or 0

    def events_after(self, position: int) -> list[Any]:
        notes = self.ledger.recorder.select_notifications(start=position, limit=1_000_000,
                                                          inclusive_of_start=False)
        return [self.ledger.mapper.to_domain_event(note) for note in notes]

    def close(self) -> None:
        self.ledger.close()


@pytest.fixture(scope="module")
def audit(server: ServerProcess) -> Iterator[AuditLog]:
    log = AuditLog(server.data_dir)
    yield log
    log.close()


def signed_request(url: str, target: str | None, body: bytes | str, *,
                   key_id: str = ROOT_KEY_ID, secret: str = ROOT_SECRET, region: str = REGION,
                   service: str = "secretsmanager", headers: dict[str, str] | None = None,
                   timestamp: str | None = None, method: str = "POST") -> requests.Response:
    """A raw request signed with botocore's SigV4Auth; `timestamp` backdates the signature."""
    data = body.encode() if isinstance(body, str) else body
    signed = signed_headers(url, target, data, key_id=key_id, secret=secret, region=region,
                            service=service, headers=headers, timestamp=timestamp, method=method)
    return requests.request(method, url + "/", headers=signed, data=data, timeout=30)


def signed_headers(url: str, target: str | None, data: bytes, *, key_id: str = ROOT_KEY_ID,
                   secret: str = ROOT_SECRET, region: str = REGION,
                   service: str = "secretsmanager", headers: dict[str, str] | None = None,
                   timestamp: str | None = None, method: str = "POST",
                   path: str = "/") -> dict[str, str]:
    """The headers of a request to `url + path` signed with botocore's SigV4Auth."""
    all_headers = {"Content-Type": "application/x-amz-json-1.1", **(headers or {})}
    if target is not None:
        all_headers["X-Amz-Target"] = target
    request = AWSRequest(method=method, url=url + path, headers=all_headers, data=data)
    signer = SigV4Auth(Credentials(key_id, secret), service, region)
    if timestamp is None:
        signer.add_auth(request)
    else:
        sign_at(signer, request, timestamp)
    return dict(request.prepare().headers)


def sign_at(signer: SigV4Auth, request: AWSRequest, timestamp: str) -> None:
    """Sign as botocore does, but at a chosen time (stale and future requests)."""
    request.context["timestamp"] = timestamp
    request.headers["X-Amz-Date"] = timestamp
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    request.headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={signer.credentials.access_key}/"
        f"{signer.credential_scope(request)}, "
        f"SignedHeaders={signer.signed_headers(signer.headers_to_sign(request))}, "
        f"Signature={signature}")

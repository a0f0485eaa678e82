"""A steady boto3 write load that remembers every attempt and whether it was acknowledged.

Each write carries its own ClientRequestToken, which becomes the VersionId, so after a crash
every attempt can be looked for in the log: an acknowledged one must be there in full, an
unanswered one (the server died mid-request) must be there in full or not at all.
"""
from __future__ import annotations

import random
import string
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

VERSIONS_PER_SECRET = 80  # below the 100-version quota, even counting unanswered attempts
POOL = 5  # secrets written at any one time


@dataclass(frozen=True)
class Attempt:
    operation: str
    name: str
    version_id: str
    value_type: str  # "SecretString" or "SecretBinary"
    value: bytes


@dataclass
class Tally:
    """Every write attempt, split by what the client heard back."""

    acknowledged: list[Attempt] = field(default_factory=list)
    unanswered: list[Attempt] = field(default_factory=list)  # connection lost mid-request
    unsent: list[Attempt] = field(default_factory=list)  # connection refused: server down
    cut_short: list[Attempt] = field(default_factory=list)  # acknowledged, body lost
    refused: list[tuple[Attempt, str]] = field(default_factory=list)  # an AWS error came back
    reads: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def random_text(rng: random.Random, length: int = 24) -> str:
    return "".join(rng.choice(string.ascii_letters) for _ in range(length))


class SecretPool:
    """The handful of secret names being written; a name is retired before its quota fills."""

    def __init__(self, rng: random.Random) -> None:
        self._rng, self._lock = rng, threading.Lock()
        self._serial = 0
        self._writes: dict[str, int] = {}
        self.live: list[str] = []  # names whose CreateSecret was acknowledged
        self._pending: list[str] = [self._new_name() for _ in range(POOL)]

    def _new_name(self) -> str:
        self._serial += 1
        return f"crash/s{self._serial:04d}"

    def take(self) -> tuple[str, bool]:
        """A name to write, and whether it must be created first."""
        with self._lock:
            if self._pending:
                return self._pending.pop(), True
            name = self._rng.choice(list(self._writes))
            self._writes[name] += 1
            if self._writes[name] >= VERSIONS_PER_SECRET:
                del self._writes[name]
                self._pending.append(self._new_name())
            return name, False

    def created_ok(self, name: str) -> None:
        with self._lock:
            self._writes.setdefault(name, 1)
            self.live.append(name)

    def create_failed(self, name: str) -> None:
        """Unknown outcome: never reuse the name (it may exist); write a fresh one instead."""
        with self._lock:
            self._pending.append(self._new_name())


class WriteLoad:
    """`threads` writers (CreateSecret, UpdateSecret, PutSecretValue) and one reader."""

    def __init__(self, make_client: Callable[[], Any], threads: int = 4, seed: int = 8) -> None:
        self._make_client, self._threads = make_client, threads
        self._rng = random.Random(seed)
        self.pool = SecretPool(random.Random(seed + 1))
        self.tally = Tally()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []
        self.crashes: list[BaseException] = []  # a load thread that died fails the test

    def start(self) -> None:
        for index in range(self._threads):
            rng = random.Random(self._rng.getrandbits(64))
            self._workers.append(threading.Thread(target=self._guarded,
                                                  args=(self._write_loop, rng),
                                                  name=f"writer-{index}", daemon=True))
        self._workers.append(threading.Thread(target=self._guarded, args=(self._read_loop,),
                                              name="reader", daemon=True))
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=60)
        assert not any(w.is_alive() for w in self._workers), "a load thread did not stop"
        assert not self.crashes, f"load threads failed: {self.crashes!r}"

    def _guarded(self, loop: Callable[..., None], *args: Any) -> None:
        try:
            loop(*args)
        except BaseException as error:
            self.crashes.append(error)
            raise

    # ---- writers ------------------------------------------------------------------------
    def _write_loop(self, rng: random.Random) -> None:
        client = self._make_client()
        while not self._stop.is_set():
            name, create = self.pool.take()
            attempt, request = _next_write(rng, name, create)
            method = {"CreateSecret": client.create_secret, "UpdateSecret": client.update_secret,
                      "PutSecretValue": client.put_secret_value}[attempt.operation]
            try:
                response = method(**request)
            except ClientError as error:
                self._record(self.tally.refused, (attempt, error.response["Error"]["Code"]))
                if create:
                    self.pool.create_failed(name)
                self._stop.wait(0.01)
                continue
            except EndpointConnectionError:  # refused: nothing reached a server
                self._record(self.tally.unsent, attempt)
                if create:
                    self.pool.create_failed(name)
                self._stop.wait(0.1)
                continue
            except BotoCoreError:  # reset or closed mid-request: the outcome is unknown
                self._record(self.tally.unanswered, attempt)
                if create:
                    self.pool.create_failed(name)
                self._stop.wait(0.05)
                continue
            assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
            if "VersionId" in response:
                assert response["VersionId"] == attempt.version_id
            else:  # 200 arrived, the body was cut off by the kill: still acknowledged
                self._record(self.tally.cut_short, attempt)
            self._record(self.tally.acknowledged, attempt)
            if create:
                self.pool.created_ok(name)

    def _record(self, into: list[Any], item: Any) -> None:
        with self.tally.lock:
            into.append(item)

    # ---- a reader, so the read models are being caught up when the server dies -----------
    def _read_loop(self) -> None:
        client = self._make_client()
        while not self._stop.is_set():
            try:
                if self.tally.reads % 4 == 0:
                    client.list_secrets(MaxResults=20)
                else:
                    names = self.pool.live[-POOL:] or ["crash/none"]
                    client.describe_secret(SecretId=names[self.tally.reads % len(names)])
                self.tally.reads += 1
            except (ClientError, BotoCoreError):
                self._stop.wait(0.02)


def _next_write(rng: random.Random, name: str, create: bool) -> tuple[Attempt, dict[str, Any]]:
    version_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    binary = rng.random() < 0.25
    value = (random_text(rng, 24).encode() if not binary
             else bytes(rng.getrandbits(8) for _ in range(32)))
    value_type = "SecretBinary" if binary else "SecretString"
    member = {value_type: value if binary else value.decode()}
    if create:
        operation = "CreateSecret"
        request = {"Name": name, "ClientRequestToken": version_id, **member}
    elif rng.random() < 0.5:
        operation = "UpdateSecret"
        request = {"SecretId": name, "ClientRequestToken": version_id, **member}
        if rng.random() < 0.2:
            request["Description"] = f"description {rng.randrange(10**6)}"
    else:
        operation = "PutSecretValue"
        request = {"SecretId": name, "ClientRequestToken": version_id, **member}
    return Attempt(operation, name, version_id, value_type, value), request

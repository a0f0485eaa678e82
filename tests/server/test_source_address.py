"""The source address policies and the trail rest on: the TCP peer, unless a trusted proxy
says otherwise; a header a client writes itself is not evidence."""
from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import botocore.exceptions
import pytest

from tests.server.conftest import PROJECT, ROOT_ENV, AuditLog, ServerProcess, make_client
from tests.server.test_auth import cli
from tools.forwarding import TrustedProxies

OFFICE = "203.0.113.0/24"
OFFICE_ONLY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
    "Condition": {"IpAddress": {"aws:SourceIp": OFFICE}}}]})


def forwarding(client: Any, value: str) -> Any:
    """The client adds `X-Forwarded-For: value`, unsigned, to every request it sends."""
    def add(request: Any, **_: Any) -> None:
        request.headers["X-Forwarded-For"] = value
    client.meta.events.register("before-send.secrets-manager", add)
    return client


def office_user(server: ServerProcess, name: str) -> dict[str, str]:
    """A user allowed to read values only from the office network, and a secret to read."""
    make_client(server.url).create_secret(Name=f"{name}/db", SecretString="office-only")
    cli(server, "create", name)
    cli(server, "policies", "put", name, "office", OFFICE_ONLY)
    return cli(server, "access-keys", "create", name)


def read_as(server: ServerProcess, key: dict[str, str], name: str, forwarded_for: str) -> Any:
    client = forwarding(make_client(server.url, key_id=key["AccessKeyId"],
                                    secret=key["SecretAccessKey"]), forwarded_for)
    return client.get_secret_value(SecretId=f"{name}/db")


def denied_request_id(call: Any) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call()
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    return caught.value.response["ResponseMetadata"]["RequestId"]


def test_a_forged_forwarded_for_neither_meets_a_source_ip_condition_nor_enters_the_trail(
        server, audit):
    key = office_user(server, "mallory")
    request_id = denied_request_id(lambda: read_as(server, key, "mallory", "203.0.113.7"))
    assert audit.call_for(request_id).context["source_ip"] == "127.0.0.1"
    root = forwarding(make_client(server.url), "198.51.100.1")
    listed = root.list_secrets()
    assert audit.call_for(listed["ResponseMetadata"]["RequestId"]).context["source_ip"] \
        == "127.0.0.1"


@pytest.fixture(scope="module")
def behind_proxy(tmp_path_factory) -> Iterator[ServerProcess]:
    """A server told that loopback and 10.0.0.0/8 are its proxies."""
    process = ServerProcess(tmp_path_factory.mktemp("proxied") / "data", ROOT_ENV,
                            args=["--trusted-proxy", "127.0.0.1",
                                  "--trusted-proxy", "10.0.0.0/8"]).start()
    yield process
    process.stop()


def test_behind_trusted_proxies_the_client_is_the_right_most_untrusted_hop(behind_proxy):
    key = office_user(behind_proxy, "alice")
    value = read_as(behind_proxy, key, "alice", "203.0.113.7, 10.1.2.3")
    assert value["SecretString"] == "office-only"
    # the proxy appended the real client, 198.51.100.9; the office address is the client's lie
    denied_request_id(lambda: read_as(behind_proxy, key, "alice", "203.0.113.7, 198.51.100.9"))


def test_the_trail_records_the_hop_the_trusted_proxies_vouch_for(behind_proxy):
    client = forwarding(make_client(behind_proxy.url), "203.0.113.7, 198.51.100.9, 10.1.2.3")
    request_id = client.list_secrets()["ResponseMetadata"]["RequestId"]
    log = AuditLog(behind_proxy.data_dir)
    try:
        assert log.call_for(request_id).context["source_ip"] == "198.51.100.9"
    finally:
        log.close()


PROXIES = TrustedProxies([ipaddress.ip_network("127.0.0.1"), ipaddress.ip_network("10.0.0.0/8")])


@pytest.mark.parametrize(("peer", "headers", "source"), [
    ("192.0.2.5", ["203.0.113.7"], "192.0.2.5"),               # the peer is no proxy
    ("127.0.0.1", [], "127.0.0.1"),                            # a proxy, no header
    ("127.0.0.1", ["203.0.113.7"], "203.0.113.7"),
    ("127.0.0.1", ["6.6.6.6, 203.0.113.7, 10.0.0.9"], "203.0.113.7"),
    ("127.0.0.1", ["6.6.6.6", "203.0.113.7"], "203.0.113.7"),  # repeated headers form one list
    ("127.0.0.1", ["10.0.0.8, 10.0.0.9"], "10.0.0.8"),         # proxies all the way
    ("127.0.0.1", ["203.0.113.7, not-an-ip, 10.0.0.9"], "10.0.0.9"),
    ("::ffff:127.0.0.1", ["203.0.113.7"], "203.0.113.7"),      # a dual-stack socket's peer
    ("", ["203.0.113.7"], ""),
])
def test_forwarded_for_is_read_from_the_right_through_trusted_proxies_only(peer, headers,
                                                                          source):
    assert PROXIES.source_ip(peer, headers) == source


def test_no_proxy_is_trusted_unless_named():
    assert TrustedProxies().source_ip("127.0.0.1", ["203.0.113.7"]) == "127.0.0.1"


def test_a_trusted_proxy_that_is_no_address_is_refused_on_the_command_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tools.cli", "serve", "--data-dir",
                             str(tmp_path / "data"), "--trusted-proxy", "localhost"],
                            cwd=PROJECT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--trusted-proxy: not an IP address or CIDR block: 'localhost'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()

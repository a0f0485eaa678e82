"""HTTPS: values cross the network encrypted, and plain HTTP stays on loopback."""
from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import botocore.exceptions
import pytest
import requests
from botocore.config import Config
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.server.conftest import (
    PROJECT, REGION, ROOT_ENV, ROOT_KEY_ID, ROOT_SECRET, ServerProcess, make_client,
)
from tests.server.test_auth import cli
from tools.transport import is_loopback


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def make_pki(directory: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate it issues for 127.0.0.1 and localhost: (ca, cert, key)."""
    now = datetime.now(timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("test CA")).issuer_name(_name("test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    cert = (x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(_pem(ca))
    paths[1].write_bytes(_pem(cert))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    paths[2].chmod(0o600)
    return paths


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> tuple[Path, Path, Path]:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def https_server(tmp_path_factory, pki) -> Iterator[ServerProcess]:
    _, cert, key = pki
    process = ServerProcess(tmp_path_factory.mktemp("https") / "data", ROOT_ENV,
                            args=["--tls-cert", str(cert), "--tls-key", str(key)])
    process.url = f"https://127.0.0.1:{process.port}"
    yield process.start()
    process.stop()


def https_client(url: str, verify: str | bool, key_id: str = ROOT_KEY_ID,
                 secret: str = ROOT_SECRET) -> object:
    return boto3.session.Session().client(
        "secretsmanager", endpoint_url=url, region_name=REGION, aws_access_key_id=key_id,
        aws_secret_access_key=secret, verify=verify,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def test_clients_with_the_ca_bundle_read_and_write_over_https(https_server, pki):
    client = https_client(https_server.url, str(pki[0]))
    client.create_secret(Name="tls/db", SecretString="over-tls")
    assert client.get_secret_value(SecretId="tls/db")["SecretString"] == "over-tls"


def test_the_https_port_answers_no_plain_http(https_server):
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(https_server.url.replace("https:", "http:") + "/", data=b"{}", timeout=30)


def test_a_client_without_the_ca_bundle_does_not_trust_the_server(https_server):
    with pytest.raises(botocore.exceptions.SSLError):
        https_client(https_server.url, True).list_secrets()


TLS_ONLY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "secretsmanager:ListSecrets", "Resource": "*"},
    {"Effect": "Deny", "Action": "*", "Resource": "*",
     "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})


def tls_only_user(server: ServerProcess) -> dict[str, str]:
    cli(server, "create", "tls-only")
    cli(server, "policies", "put", "tls-only", "tls", TLS_ONLY)
    return cli(server, "access-keys", "create", "tls-only")


def test_a_policy_denying_insecure_transport_refuses_plain_http_and_allows_https(
        https_server, pki, server):
    key = tls_only_user(https_server)
    https_client(https_server.url, str(pki[0]), key["AccessKeyId"],
                 key["SecretAccessKey"]).list_secrets()
    key = tls_only_user(server)
    plain = make_client(server.url, key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        plain.list_secrets()
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"


def serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tools.cli", "serve", "--data-dir",
                           str(tmp_path / "data"), "--port", "0", *args], cwd=PROJECT,
                          capture_output=True, text=True, timeout=60)


def assert_refused(result: subprocess.CompletedProcess, tmp_path: Path, says: str) -> None:
    """Exit 2 with one line, before the ledger was opened (so before anything was bound)."""
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and says in result.stderr, result.stderr
    assert not (tmp_path / "data").exists()


# Documentation addresses: nothing on this host can bind them, so no test ever listens beyond
# loopback, even against code that would not refuse.
@pytest.mark.parametrize("host", ["192.0.2.1", "2001:db8::1"])
def test_plain_http_beyond_loopback_is_refused_before_binding(tmp_path, host):
    assert_refused(serve(tmp_path, "--host", host), tmp_path,
                   f"refusing plain HTTP on {host}, beyond loopback")


def test_insecure_http_allows_it_with_a_warning(tmp_path):
    result = serve(tmp_path, "--host", "192.0.2.1", "--insecure-http")  # then fails to bind
    assert "serving plain HTTP beyond loopback (--insecure-http)" in result.stderr


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost"])
def test_loopback_hosts_need_no_tls(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.1", "ledger.internal", ""])
def test_every_other_host_is_beyond_loopback(host):
    assert not is_loopback(host)


def test_a_certificate_without_its_key_is_refused(tmp_path, pki):
    assert_refused(serve(tmp_path, "--tls-cert", str(pki[1])), tmp_path,
                   "--tls-cert and --tls-key go together")


def test_a_key_that_does_not_match_the_certificate_is_refused(tmp_path, pki):
    other = make_pki(tmp_path)
    assert_refused(serve(tmp_path, "--tls-cert", str(pki[1]), "--tls-key", str(other[2])),
                   tmp_path, "cannot use --tls-cert")


def test_a_missing_certificate_file_is_refused(tmp_path, pki):
    assert_refused(serve(tmp_path, "--tls-cert", str(tmp_path / "none.pem"),
                         "--tls-key", str(pki[2])), tmp_path, "cannot use --tls-cert")


def test_a_tls_key_other_users_can_read_is_refused(tmp_path, pki):
    exposed = tmp_path / "exposed-key.pem"
    exposed.write_bytes(pki[2].read_bytes())
    exposed.chmod(0o644)
    assert_refused(serve(tmp_path, "--tls-cert", str(pki[1]), "--tls-key", str(exposed)),
                   tmp_path, "can be read by other users (mode 0644)")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_a_tls_key_owned_by_another_user_is_refused(tmp_path, pki):
    foreign = tmp_path / "foreign-key.pem"
    foreign.write_bytes(pki[2].read_bytes())
    foreign.chmod(0o600)
    os.chown(foreign, 65534, 65534)  # nobody: it could have replaced the key
    assert_refused(serve(tmp_path, "--tls-cert", str(pki[1]), "--tls-key", str(foreign)),
                   tmp_path, "not this user")

"""Clients other than boto3: the aws CLI and the AWS Secrets Manager caching client."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest
from aws_secretsmanager_caching import SecretCache, SecretCacheConfig

from tests.server.conftest import REGION, ROOT_KEY_ID, ROOT_SECRET

AWS = shutil.which("aws", path=os.path.dirname(sys.executable)) or shutil.which("aws")


def aws(server, tmp_path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=ROOT_KEY_ID, AWS_SECRET_ACCESS_KEY=ROOT_SECRET,
               AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), AWS_PAGER="")
    result = subprocess.run([AWS, "--endpoint-url", server.url, "--output", "json",
                             "secretsmanager", *args], env=env, capture_output=True, text=True,
                            timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.mark.skipif(AWS is None, reason="the aws CLI is not installed")
def test_aws_cli_create_update_from_file_and_read(server, tmp_path):
    name = f"cli/{uuid.uuid4().hex[:8]}"
    created = json.loads(aws(server, tmp_path, "create-secret", "--name", name,
                             "--secret-string", "first").stdout)
    assert created["Name"] == name
    value_file = tmp_path / "value.json"
    value_file.write_text('{"password": "from-a-file"}')
    updated = json.loads(aws(server, tmp_path, "update-secret", "--secret-id", name,
                             "--secret-string", f"file://{value_file}").stdout)
    assert updated["ARN"] == created["ARN"]
    assert updated["VersionId"] != created["VersionId"]
    read = json.loads(aws(server, tmp_path, "get-secret-value", "--secret-id", name).stdout)
    assert read["SecretString"] == '{"password": "from-a-file"}'
    assert read["VersionId"] == updated["VersionId"]
    described = json.loads(aws(server, tmp_path, "describe-secret", "--secret-id", name).stdout)
    assert set(described["VersionIdsToStages"]) == {created["VersionId"], updated["VersionId"]}


@pytest.mark.skipif(AWS is None, reason="the aws CLI is not installed")
def test_aws_cli_reports_the_error_code(server, tmp_path):
    result = aws(server, tmp_path, "get-secret-value", "--secret-id", "cli/absent", check=False)
    assert result.returncode != 0
    assert "ResourceNotFoundException" in result.stderr
    assert "Secrets Manager can't find the specified secret." in result.stderr


def test_caching_client_reads_then_refreshes_after_an_update(server, client):
    name = f"cache/{uuid.uuid4().hex[:8]}"
    client.create_secret(Name=name, SecretString="v1")
    cache = SecretCache(config=SecretCacheConfig(), client=client)
    assert cache.get_secret_string(name) == "v1"
    client.update_secret(SecretId=name, SecretString="v2")
    assert cache.get_secret_string(name) == "v1"  # served from the cache
    assert cache.refresh_secret_now(name)
    assert cache.get_secret_string(name) == "v2"


def test_caching_client_picks_up_an_update_when_its_interval_passes(server, client):
    name = f"cache/{uuid.uuid4().hex[:8]}"
    client.create_secret(Name=name, SecretBinary=b"b1")
    cache = SecretCache(config=SecretCacheConfig(secret_refresh_interval=1), client=client)
    assert cache.get_secret_binary(name) == b"b1"
    client.put_secret_value(SecretId=name, SecretBinary=b"b2")
    time.sleep(1.1)
    assert cache.get_secret_binary(name) == b"b2"

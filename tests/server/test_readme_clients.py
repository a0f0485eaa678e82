"""The README's client examples work against a freshly started server, as written."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import boto3
import pytest

from tests.server.conftest import PROJECT, ServerProcess
from tests.server.test_lifecycle import root_key_from

README = (PROJECT / "README.md").read_text()
EXAMPLE_URL = "http://127.0.0.1:4566"


def block(language: str) -> str:
    (found,) = re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)
    return found


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_boto3_and_aws_cli_examples_run(tmp_path, capsys):
    server = ServerProcess(tmp_path / "ledger-data").start()
    try:
        key_id, secret = root_key_from(server.stdout())
        example = (block("py").replace(EXAMPLE_URL, server.url)
                   .replace("AKIAEXAMPLEROOTKEY01", key_id)
                   .replace("example-root-secret-access-key-000000000", secret))
        exec(compile(example, "README.md", "exec"), {})
        assert capsys.readouterr().out.strip() == "s3cr3t"
        (tmp_path / "new-value.json").write_text('{"password": "rotated"}')
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        env["AWS_CONFIG_FILE"] = str(tmp_path / "no-config")
        script = block("sh").replace(EXAMPLE_URL, server.url)
        result = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        client = boto3.client("secretsmanager", endpoint_url=server.url, region_name="us-west-2",
                              aws_access_key_id=key_id, aws_secret_access_key=secret)
        assert client.get_secret_value(SecretId="prod/db")["SecretString"] == (
            '{"password": "rotated"}')
    finally:
        server.stop()

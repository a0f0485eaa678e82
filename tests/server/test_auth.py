"""SigV4 at the endpoint: each way a request can fail to authenticate, and who a caller is."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import botocore.exceptions
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ledger.principals import CREDENTIALS_FRESHNESS
from tests.server.conftest import (
    PROJECT, ROOT_ENV, ROOT_KEY_ID, ROOT_SECRET, ServerProcess, make_client, signed_request,
)

TARGET = "secretsmanager.ListSecrets"
MISMATCH = ("The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service "
            "documentation for details.")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Each refusal before authentication recorded at once (`--refusal-interval 0`), so each
    can be found by its request id; test_refusals.py covers the default, counted records."""
    process = ServerProcess(tmp_path_factory.mktemp("server") / "data", ROOT_ENV,
                            ["--refusal-interval", "0"]).start()
    yield process
    process.stop()


def stamp(delta: timedelta) -> str:
    return (datetime.now(timezone.utc) + delta).strftime("%Y%m%dT%H%M%SZ")


def assert_rejected(audit, response, code: str, key_id: str = "") -> str:
    """The error is AWS's, and the log gained exactly one failed-call record and nothing else."""
    assert response.status_code == 400, response.text
    assert response.json()["__type"] == code
    request_id = response.headers["x-amzn-RequestId"]
    record = audit.call_for(request_id)
    assert record.error_code == code
    assert record.error_message == response.json()["Message"]
    assert record.context["caller"]["access_key_id"] == key_id
    assert record.context["caller"]["arn"] == ""
    assert record.context["parameters"] == {}
    return response.json()["Message"]


def rejected_only(audit, before: int) -> None:
    assert [type(e).__name__ for e in audit.events_after(before)] == ["ApiCallRecorded"]


def test_no_authorization_header(server, audit):
    before = audit.position()
    response = requests.post(server.url + "/", data="{}", timeout=30,
                             headers={"X-Amz-Target": TARGET})
    message = assert_rejected(audit, response, "MissingAuthenticationTokenException")
    assert message == "Missing Authentication Token"
    rejected_only(audit, before)


def test_unknown_access_key(server, audit):
    response = signed_request(server.url, TARGET, "{}", key_id="AKIANOBODY0000000000")
    message = assert_rejected(audit, response, "UnrecognizedClientException",
                              "AKIANOBODY0000000000")
    assert message == "The security token included in the request is invalid."


def test_wrong_secret_key_writes_nothing_but_the_failed_call(server, audit):
    before = audit.position()
    body = json.dumps({"Name": "auth/never", "SecretString": "s",
                       "ClientRequestToken": "t-0000000000000000000000000000001"})
    response = signed_request(server.url, "secretsmanager.CreateSecret", body,
                              secret="not-the-secret")
    assert assert_rejected(audit, response, "InvalidSignatureException", ROOT_KEY_ID) == MISMATCH
    rejected_only(audit, before)
    assert audit.call_for(response.headers["x-amzn-RequestId"]).context["operation"] == (
        "CreateSecret")


def test_a_replayed_request_older_than_fifteen_minutes_is_refused(server, audit):
    before = audit.position()
    body = '{"Name": "auth/replayed"}'
    response = signed_request(server.url, "secretsmanager.CreateSecret", body,
                              timestamp=stamp(-timedelta(minutes=16)))
    message = assert_rejected(audit, response, "InvalidSignatureException", ROOT_KEY_ID)
    assert message.startswith("Signature expired: ")
    assert message.endswith(" - 5 min.)")
    rejected_only(audit, before)


def test_a_request_six_minutes_old_is_already_stale(server, audit):
    response = signed_request(server.url, TARGET, "{}", timestamp=stamp(-timedelta(minutes=6)))
    assert assert_rejected(audit, response, "InvalidSignatureException",
                           ROOT_KEY_ID).startswith("Signature expired: ")


def test_a_request_four_minutes_old_is_accepted(server):
    response = signed_request(server.url, TARGET, "{}", timestamp=stamp(-timedelta(minutes=4)))
    assert response.status_code == 200, response.text


def test_a_request_from_the_future_is_refused(server, audit):
    response = signed_request(server.url, TARGET, "{}", timestamp=stamp(timedelta(minutes=7)))
    assert assert_rejected(audit, response, "InvalidSignatureException",
                           ROOT_KEY_ID).startswith("Signature not yet current: ")


def test_a_credential_scoped_to_another_service(server, audit):
    response = signed_request(server.url, TARGET, "{}", service="dynamodb")
    assert assert_rejected(audit, response, "InvalidSignatureException", ROOT_KEY_ID) == (
        "Credential should be scoped to correct service: 'secretsmanager'. ")


def test_a_body_changed_after_signing(server, audit):
    request = AWSRequest(method="POST", url=server.url + "/", data=b'{"MaxResults": 1}',
                         headers={"X-Amz-Target": TARGET})
    signer = SigV4Auth(Credentials(ROOT_KEY_ID, ROOT_SECRET), "secretsmanager", "us-west-2")
    signer.add_auth(request)
    response = requests.post(server.url + "/", data=b'{"MaxResults": 2}', timeout=30,
                             headers=dict(request.prepare().headers))
    assert assert_rejected(audit, response, "InvalidSignatureException", ROOT_KEY_ID) == MISMATCH


def test_a_session_token_is_not_accepted(server, audit):
    client = make_client(server.url)
    client.meta.events.register(
        "before-sign.secretsmanager.*",
        lambda request, **_: request.headers.__setitem__("X-Amz-Security-Token", "token"))
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        client.list_secrets()
    assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_the_target_header_must_be_signed(server, audit):
    request = AWSRequest(method="POST", url=server.url + "/", data=b"{}")
    signer = SigV4Auth(Credentials(ROOT_KEY_ID, ROOT_SECRET), "secretsmanager", "us-west-2")
    signer.add_auth(request)
    response = requests.post(server.url + "/", data=b"{}", timeout=30,
                             headers={**request.prepare().headers, "X-Amz-Target": TARGET})
    assert_rejected(audit, response, "IncompleteSignatureException", ROOT_KEY_ID)


def test_boto3_with_a_wrong_secret_gets_invalid_signature(server):
    client = make_client(server.url, secret="wrong")
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        client.list_secrets()
    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_the_arn_region_follows_the_client_region(server, client, audit):
    west = client.create_secret(Name="auth/region-west")
    east = make_client(server.url, region="eu-central-1").create_secret(Name="auth/region-eu")
    assert west["ARN"].startswith("arn:aws:secretsmanager:us-west-2:123456789012:secret:")
    assert east["ARN"].startswith("arn:aws:secretsmanager:eu-central-1:123456789012:secret:")
    record = audit.call_for(east["ResponseMetadata"]["RequestId"])
    assert record.context["region"] == "eu-central-1"


def test_request_id_header_is_botocores_request_id_and_the_audited_one(server, client, audit):
    response = client.list_secrets()
    request_id = response["ResponseMetadata"]["RequestId"]
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] == request_id
    assert audit.call_for(request_id).context["operation"] == "ListSecrets"


def test_caller_identity_address_and_agent_reach_the_audit_record(server, client, audit):
    response = client.describe_secret(SecretId="auth/region-west")
    context = audit.call_for(response["ResponseMetadata"]["RequestId"]).context
    assert context["caller"]["arn"] == "arn:aws:iam::123456789012:root"
    assert context["caller"]["principal_type"] == "Root"
    assert context["caller"]["access_key_id"] == ROOT_KEY_ID
    assert context["source_ip"] == "127.0.0.1"
    assert "Boto3/" in context["user_agent"]


LIST_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "secretsmanager:ListSecrets", "Resource": "*"}]})


def cli(server, *args: str) -> dict:
    result = subprocess.run([sys.executable, "-m", "tools.cli", "principals", *args,
                             "--data-dir", str(server.data_dir)], cwd=PROJECT,
                            capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout) if result.stdout.strip() else {}


def test_a_cli_user_calls_as_itself_until_its_key_is_deleted(server, audit):
    user = cli(server, "create", "alice")
    assert user["Arn"] == "arn:aws:iam::123456789012:user/alice"
    key = cli(server, "access-keys", "create", "alice")
    cli(server, "policies", "put", "alice", "list", LIST_POLICY)
    alice = make_client(server.url, key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])
    response = alice.list_secrets()
    caller = audit.call_for(response["ResponseMetadata"]["RequestId"]).context["caller"]
    assert caller["arn"] == user["Arn"]
    assert caller["principal_type"] == "IAMUser"
    assert caller["principal_id"] == user["PrincipalId"]
    cli(server, "access-keys", "delete", key["AccessKeyId"])
    time.sleep(CREDENTIALS_FRESHNESS + 0.1)  # the server may reuse a lookup this long
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        alice.list_secrets()
    assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_a_role_key_calls_as_the_role(server, audit):
    role = cli(server, "create", "deployer", "--role")
    key = cli(server, "access-keys", "create", "deployer")
    cli(server, "policies", "put", "deployer", "list", LIST_POLICY)
    response = make_client(server.url, key_id=key["AccessKeyId"],
                           secret=key["SecretAccessKey"]).list_secrets()
    caller = audit.call_for(response["ResponseMetadata"]["RequestId"]).context["caller"]
    assert caller["arn"] == "arn:aws:iam::123456789012:role/deployer" == role["Arn"]
    assert caller["principal_type"] == "Role"

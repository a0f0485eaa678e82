"""The CloudTrail record structure (eventVersion 1.11) the audit trail must follow."""
from __future__ import annotations

import re
import uuid
from typing import Any

EVENT_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
REQUIRED = {
    "eventVersion": str, "userIdentity": dict, "eventTime": str, "eventSource": str,
    "eventName": str, "awsRegion": str, "sourceIPAddress": str, "userAgent": str,
    "requestID": str, "eventID": str, "readOnly": bool, "resources": list, "eventType": str,
    "managementEvent": bool, "recipientAccountId": str, "eventCategory": str,
}
NULLABLE = {"requestParameters": dict, "responseElements": dict}
OPTIONAL = {"errorCode": str, "errorMessage": str, "additionalEventData": dict}
IDENTITY = {"type", "principalId", "arn", "accountId", "accessKeyId", "userName", "invokedBy",
            "sessionContext"}
IDENTITY_TYPES = {"Root", "IAMUser", "AssumedRole", "Role", "FederatedUser", "Directory",
                  "AWSAccount", "AWSService", "Unknown", "SAMLUser", "WebIdentityUser"}


def check_record(record: dict[str, Any]) -> None:
    """Raise AssertionError naming the first way `record` departs from the structure."""
    for name, kind in REQUIRED.items():
        assert isinstance(record.get(name), kind), f"{name}: {record.get(name)!r}"
    for name, kind in NULLABLE.items():
        assert name in record, f"{name} missing"
        assert record[name] is None or isinstance(record[name], kind), name
    for name, kind in OPTIONAL.items():
        assert name not in record or isinstance(record[name], kind), name
    unknown = set(record) - set(REQUIRED) - set(NULLABLE) - set(OPTIONAL)
    assert not unknown, f"fields CloudTrail does not have: {unknown}"
    assert record["eventVersion"] == "1.11"
    assert EVENT_TIME.fullmatch(record["eventTime"]), record["eventTime"]
    assert record["eventSource"] == "secretsmanager.amazonaws.com"
    assert record["eventType"] in ("AwsApiCall", "AwsServiceEvent")
    assert record["managementEvent"] is True and record["eventCategory"] == "Management"
    assert uuid.UUID(record["eventID"])
    assert ("errorCode" in record) == ("errorMessage" in record)
    assert len(record["userAgent"]) <= 1024
    identity = record["userIdentity"]
    assert set(identity) <= IDENTITY, set(identity) - IDENTITY
    if record["eventType"] == "AwsServiceEvent":
        assert identity == {"accountId": record["recipientAccountId"],
                            "invokedBy": "secretsmanager.amazonaws.com"}
        assert record["sourceIPAddress"] == record["userAgent"] == "secretsmanager.amazonaws.com"
        assert record["requestParameters"] is None and record["responseElements"] is None
        assert record["readOnly"] is False
        assert record["additionalEventData"]["SecretId"].startswith("arn:aws:secretsmanager:")
    elif identity.get("type") == "Unknown":  # a caller that did not authenticate
        assert "errorCode" in record and "arn" not in identity
    else:
        assert identity["type"] in IDENTITY_TYPES and identity["arn"].startswith("arn:aws:")
    if record["readOnly"] or "errorCode" in record:
        assert record["responseElements"] is None
    for resource in record["resources"]:
        assert set(resource) == {"ARN", "accountId", "type"}
        assert resource["type"] == "AWS::SecretsManager::Secret"
    for key in record["requestParameters"] or {}:
        assert key[:1].islower(), f"requestParameters member not camelCase: {key}"

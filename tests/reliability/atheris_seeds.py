"""Seed inputs for the atheris target: the operation's index byte, then a JSON body. Kept apart
from the target so tests can write them without importing (and instrumenting) under atheris."""
from __future__ import annotations

import json
from pathlib import Path

from ledger.application import HANDLERS

OPERATIONS = sorted(HANDLERS)
SEEDS = {
    "CreateSecret": {"Name": "seed", "SecretString": "v", "Tags": [{"Key": "k", "Value": "v"}],
                     "ClientRequestToken": "0" * 32},
    "PutSecretValue": {"SecretId": "seed", "SecretBinary": "AAEC", "VersionStages": ["L"],
                       "ClientRequestToken": "1" * 32},
    "UpdateSecretVersionStage": {"SecretId": "seed", "VersionStage": "L",
                                 "MoveToVersionId": "0" * 32},
    "ListSecrets": {"Filters": [{"Key": "name", "Values": ["s"]}], "MaxResults": 5},
    "GetRandomPassword": {"PasswordLength": 12, "ExcludeCharacters": "abc"},
    "BatchGetSecretValue": {"SecretIdList": ["seed", "other"]},
    "DeleteSecret": {"SecretId": "seed", "RecoveryWindowInDays": 7},
}


def write_seeds(directory: Path) -> None:
    """One file per seed request: the operation byte, then the JSON body."""
    directory.mkdir(parents=True, exist_ok=True)
    for operation, document in SEEDS.items():
        data = bytes([OPERATIONS.index(operation)]) + json.dumps(document).encode()
        (directory / f"seed-{operation}").write_bytes(data)

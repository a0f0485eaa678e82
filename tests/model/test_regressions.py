"""Discrepancies the model-based test found, each pinned to the smallest call sequence."""
from __future__ import annotations

import random

import pytest

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig
from ledger.errors import LedgerError
from ledger.secret import Limits
from tests.grants import grant_full_access

NAME = "app/db"
V1, V2, V3, V4 = (f"00000000-0000-0000-0000-00000000000{i}" for i in (1, 2, 3, 4))


def _stages(ledger, caller) -> dict[str, list[str]]:
    response = ledger.call("ListSecretVersionIds", {"SecretId": NAME, "IncludeDeprecated": True},
                           caller)
    return {v["VersionId"]: sorted(v.get("VersionStages", [])) for v in response["Versions"]}


def _error(ledger, caller, operation: str, request: dict) -> str:
    with pytest.raises(LedgerError) as caught:
        ledger.call(operation, request, caller)
    return caught.value.code


@pytest.mark.parametrize("listed", [["AWSCURRENT", "AWSPREVIOUS"], ["AWSPREVIOUS", "AWSCURRENT"]])
def test_previous_goes_to_the_version_current_left_even_when_the_put_lists_it(
        ledger, caller, listed):
    """§3: whenever AWSCURRENT moves, the version that lost it receives AWSPREVIOUS. A put
    listing both labels used to leave AWSPREVIOUS on the new version when AWSCURRENT came
    first in the list, so the old version lost every label."""
    ledger.call("CreateSecret", {"Name": NAME, "SecretString": "one", "ClientRequestToken": V1},
                caller)
    response = ledger.call("PutSecretValue", {"SecretId": NAME, "SecretString": "two",
                                              "ClientRequestToken": V2, "VersionStages": listed},
                           caller)
    assert response["VersionStages"] == ["AWSCURRENT"]
    assert _stages(ledger, caller) == {V1: ["AWSPREVIOUS"], V2: ["AWSCURRENT"]}


def test_previous_listed_for_a_first_value_stays_with_it(ledger, caller):
    """With no AWSCURRENT to leave, a listed AWSPREVIOUS is an ordinary label."""
    ledger.call("CreateSecret", {"Name": NAME}, caller)
    response = ledger.call("PutSecretValue", {"SecretId": NAME, "SecretString": "one",
                                              "ClientRequestToken": V1,
                                              "VersionStages": ["AWSPREVIOUS"]}, caller)
    assert sorted(response["VersionStages"]) == ["AWSCURRENT", "AWSPREVIOUS"]


def test_stage_update_on_a_secret_in_its_recovery_window_names_the_window(ledger, caller):
    """§6: a scheduled secret refuses changes with InvalidRequestException, as every other write
    does; the version check used to come first and answer InvalidParameterException."""
    ledger.call("CreateSecret", {"Name": NAME, "SecretString": "one", "ClientRequestToken": V1},
                caller)
    ledger.call("DeleteSecret", {"SecretId": NAME}, caller)
    request = {"SecretId": NAME, "VersionStage": "blue", "MoveToVersionId": V3}
    assert _error(ledger, caller, "UpdateSecretVersionStage", request) == \
        "InvalidRequestException"


def test_reserved_tag_key_is_refused_before_the_secret_is_looked_up(ledger, caller):
    """Request-only checks come before the lookup, as CreateSecret and DeleteSecret do them."""
    request = {"SecretId": "no/such/secret", "Tags": [{"Key": "aws:owner", "Value": "x"}]}
    assert _error(ledger, caller, "TagResource", request) == "InvalidParameterException"


def test_a_version_exactly_a_day_old_is_not_yet_removed(clock, caller):
    """Decisions: cleanup removes label-less versions *older than* 24 hours. One created exactly
    24 hours before the write used to be removed; now the write is refused at the quota."""
    ledger = SecretsLedger(LedgerConfig(data_dir=None, limits=Limits(max_versions=3)),
                           clock=clock, rng=random.Random(7))
    grant_full_access(ledger, "user/alice")
    ledger.call("CreateSecret", {"Name": NAME, "SecretString": "one", "ClientRequestToken": V1},
                caller)
    for token, value in ((V2, "two"), (V3, "three")):
        ledger.call("UpdateSecret", {"SecretId": NAME, "SecretString": value,
                                     "ClientRequestToken": token}, caller)
    clock.advance(hours=24)
    request = {"SecretId": NAME, "SecretString": "four", "ClientRequestToken": V4}
    assert _error(ledger, caller, "UpdateSecret", request) == "LimitExceededException"
    assert set(_stages(ledger, caller)) == {V1, V2, V3}
    clock.advance(milliseconds=1)
    ledger.call("UpdateSecret", request, caller)
    assert _stages(ledger, caller) == {V2: [], V3: ["AWSPREVIOUS"], V4: ["AWSCURRENT"]}

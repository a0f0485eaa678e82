"""Wildcard and ARN matching; the compiled fast path must agree with the reference matcher."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.policies.matching import (action_matches, arn_matches, compile_actions, compile_arns,
                                      glob_match, is_account_root, role_of_session)

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"
pieces = st.text(alphabet="ab:*?/-", max_size=12)


@settings(max_examples=200, deadline=None)
@given(pieces, st.text(alphabet="ab:/-", max_size=12))
def test_compiled_arn_patterns_agree_with_the_reference(pattern: str, value: str) -> None:
    assert (compile_arns((pattern,)).fullmatch(value) is not None) == arn_matches(pattern, value)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="sS:gG*?", min_size=1, max_size=8), min_size=1, max_size=3),
       st.text(alphabet="sS:gG", max_size=8))
def test_compiled_action_patterns_agree_with_the_reference(patterns: list[str], action: str) -> None:
    expected = any(action_matches(p, action) for p in patterns)
    assert (compile_actions(tuple(patterns)).fullmatch(action) is not None) == expected


def test_wildcards_in_the_resource_part_may_cover_colons_and_slashes() -> None:
    assert arn_matches("arn:aws:secretsmanager:*:*:secret:*", ARN)
    assert arn_matches("arn:aws:secretsmanager:us-east-1:123456789012:*", ARN)
    assert arn_matches("arn:aws:secretsmanager::123456789012:secret:prod/*", ARN) is False


def test_short_patterns_let_their_last_part_absorb_the_rest() -> None:
    assert arn_matches("arn:aws:secretsmanager:*", ARN)
    assert not arn_matches("arn:aws:kms:*", ARN)


def test_glob_is_case_sensitive_unless_asked() -> None:
    assert not glob_match("PROD/*", "prod/db")
    assert glob_match("PROD/*", "prod/db", ignore_case=True)
    assert glob_match("a.b", "a.b") and not glob_match("a.b", "axb")


def test_principal_helpers() -> None:
    assert role_of_session("arn:aws:sts::123456789012:assumed-role/app/s1") == (
        "arn:aws:iam::123456789012:role/app")
    assert role_of_session("arn:aws:iam::123456789012:role/app") is None
    assert is_account_root("arn:aws:iam::123456789012:root", "123456789012")
    assert not is_account_root("arn:aws:iam::123456789012:root", "210987654321")
    assert not is_account_root("arn:aws:iam::123456789012:user/root")

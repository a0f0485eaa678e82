"""Wildcard and ARN matching; the compiled fast path must agree with the reference matcher, and
the matcher with fnmatch's reading of `*` and `?`, in time that grows with pattern times value."""
from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.policies.matching import (Unresolvable, action_matches, arn_matches, compile_actions,
                                      compile_arns, glob_match, is_account_root,
                                      resolve_variable, role_of_session)

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"
pieces = st.text(alphabet="ab:*?/-", max_size=12)


@settings(max_examples=200, deadline=None)
@given(pieces, st.text(alphabet="ab:/-", max_size=12))
def test_compiled_arn_patterns_agree_with_the_reference(pattern: str, value: str) -> None:
    assert compile_arns((pattern,)).matches(value) == arn_matches(pattern, value)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="sS:gG*?", min_size=1, max_size=8), min_size=1, max_size=3),
       st.text(alphabet="sS:gG", max_size=8))
def test_compiled_action_patterns_agree_with_the_reference(patterns: list[str], action: str) -> None:
    expected = any(action_matches(p, action) for p in patterns)
    assert compile_actions(tuple(patterns)).matches(action) == expected


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


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet="ab*?.\\\n", max_size=14), st.text(alphabet="ab.\\\n", max_size=14))
def test_glob_agrees_with_fnmatch_on_stars_and_question_marks(pattern: str, value: str) -> None:
    """fnmatch's `*` and `?` are IAM's (fnmatch's `[` classes are left out of the alphabet)."""
    assert glob_match(pattern, value) == fnmatch.fnmatchcase(value, pattern)


def _segment_regex(part: str, last: bool) -> str:
    star, one = (".*", ".") if last else ("[^:]*", "[^:]")
    return "".join(star if c == "*" else one if c == "?" else re.escape(c) for c in part)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ab:*?", max_size=10), st.text(alphabet="ab:", max_size=10))
def test_arn_matching_agrees_with_per_part_regex_reading(pattern: str, arn: str) -> None:
    """The reading ArnLike had when it was a regex: wildcards stay inside their part."""
    if pattern == "*":
        expected = True
    else:
        parts = pattern.split(":", 5)
        expected = re.fullmatch(":".join(_segment_regex(p, i == len(parts) - 1)
                                         for i, p in enumerate(parts)), arn, re.DOTALL) is not None
    assert arn_matches(pattern, arn) == expected


PATHOLOGICAL = """
from ledger.policies.matching import action_matches, arn_matches, glob_match, resolve_variable
value = "a" * 1000
lookup = {"aws:username": ["bob"]}.get
assert not glob_match("*a" * 12 + "*b", value)
assert glob_match("*a" * 12 + "*", value)
assert not glob_match("*a?" * 12 + "*b", value)
assert not arn_matches("arn:*:*:*:*:" + "*a" * 12 + "*b", "arn:aws:s:r:1:" + value)
assert not action_matches("s*" * 12 + "x", "s" * 1000)
assert not glob_match("${" * 10000, "x", lookup=lookup)
assert glob_match("${" * 10000, "${" * 10000, lookup=lookup)
try:
    resolve_variable("aws:nothing" + " " * 20000 + ", 'unterminated", lookup)
except Exception as error:
    assert type(error).__name__ == "Unresolvable"
print("done")
"""


def test_patterns_that_make_a_backtracking_matcher_explode_answer_at_once() -> None:
    """`*a*a...*b` against 1,000 `a`s is ~10^24 splits for a backtracking matcher and one scan
    here; 20 KB of `${` or of spaces (a policy's size limit) parse in one pass. Run in a child
    process so that a regression fails after a minute instead of hanging the suite."""
    done = subprocess.run([sys.executable, "-c", PATHOLOGICAL], capture_output=True, text=True,
                          timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.strip() == "done", done.stderr


def test_variables_defaults_and_escapes() -> None:
    lookup = {"aws:username": ["bob"], "aws:userid": ["AID1"]}.get
    with pytest.raises(Unresolvable):
        resolve_variable("aws:nothing , 'unterminated", lookup)
    assert glob_match("${aws:username}/${*}-${?}-${$}${", "bob/*-?-$${", lookup=lookup)
    assert glob_match("${aws:username}${aws:userid}", "bobAID1", lookup=lookup)
    assert resolve_variable("aws:nothing ,  'fallback' ", lookup) == "fallback"
    assert resolve_variable(" aws:username , 'x'", lookup) == "bob"

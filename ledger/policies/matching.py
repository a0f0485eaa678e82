"""Wildcard, ARN and policy-variable matching shared by the Action, Resource and Condition checks.

IAM's `*` matches any run of characters and `?` exactly one; everything else is literal. Patterns
are compiled once and cached, because the same few patterns are tried on every request. Policy
variables (`${aws:username}`, `${key, 'default'}`, `${*}`, `${?}`, `${$}`) exist only in
`2012-10-17` documents; a variable whose key the request lacks makes that one pattern unmatchable,
which is how IAM treats it (the element simply does not match).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

Lookup = Callable[[str], "Sequence[str] | None"]
"""Returns the request's values for a condition key (case-insensitive), or None when absent."""

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_LITERAL_VARIABLES = {"*": "*", "?": "?", "$": "$"}
_DEFAULT = re.compile(r"^\s*([^,]+?)\s*,\s*'([^']*)'\s*$")


class Unresolvable(Exception):
    """A policy variable names a key the request does not carry and gives no default."""


def _tokens(pattern: str, lookup: Lookup | None) -> list[tuple[str, str]]:
    """Split a pattern into ('glob', text) parts and ('literal', text) parts from variables."""
    if lookup is None or "${" not in pattern:
        return [("glob", pattern)]
    parts: list[tuple[str, str]] = []
    position = 0
    for found in _VARIABLE.finditer(pattern):
        parts.append(("glob", pattern[position:found.start()]))
        parts.append(("literal", resolve_variable(found.group(1), lookup)))
        position = found.end()
    parts.append(("glob", pattern[position:]))
    return parts


def resolve_variable(body: str, lookup: Lookup) -> str:
    """The text one `${...}` stands for; multi-valued keys cannot be variables, as in IAM."""
    if body in _LITERAL_VARIABLES:
        return _LITERAL_VARIABLES[body]
    default = _DEFAULT.match(body)
    key, fallback = (default.group(1), default.group(2)) if default else (body.strip(), None)
    values = lookup(key)
    if values is not None and len(values) == 1:
        return values[0]
    if fallback is not None:
        return fallback
    raise Unresolvable(key)


def substitute(text: str, lookup: Lookup | None) -> str:
    """Replace variables in a value compared without wildcards (StringEquals and friends)."""
    return "".join(text for _, text in _tokens(text, lookup))


@lru_cache(maxsize=4096)
def _compiled(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_match(pattern: str, value: str, *, ignore_case: bool = False,
               lookup: Lookup | None = None) -> bool:
    """Whether `value` matches an IAM wildcard pattern (with variables when `lookup` is given)."""
    try:
        tokens = _tokens(pattern, lookup)
    except Unresolvable:
        return False
    if len(tokens) == 1:
        return _compiled(pattern, ignore_case).fullmatch(value) is not None
    body = "".join(
        re.escape(text) if kind == "literal"
        else "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
        for kind, text in tokens)
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.fullmatch(body, value, flags) is not None


def _segment(pattern: str, last: bool) -> str:
    """One ARN part as regex; only the last part's wildcards may cover a colon."""
    star, one = (".*", ".") if last else ("[^:]*", "[^:]")
    return "".join(star if c == "*" else one if c == "?" else re.escape(c) for c in pattern)


def _arn_regex(pattern: str) -> str:
    if pattern == "*":
        return ".*"
    parts = pattern.split(":", 5)
    return ":".join(_segment(part, i == len(parts) - 1) for i, part in enumerate(parts))


@lru_cache(maxsize=1024)
def compile_arns(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One regex equal to `any(arn_matches(p, arn) for p in patterns)` without variables."""
    return re.compile("|".join(f"(?:{_arn_regex(p)})" for p in patterns), re.DOTALL)


@lru_cache(maxsize=1024)
def compile_actions(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One case-insensitive regex equal to `any(action_matches(p, a) for p in patterns)`."""
    return re.compile("|".join(f"(?:{_compiled(p, True).pattern})" for p in patterns),
                      re.DOTALL | re.IGNORECASE)


def action_matches(pattern: str, action: str) -> bool:
    """Actions compare case-insensitively: `SecretsManager:get*` covers `secretsmanager:GetSecretValue`."""
    return pattern == "*" or _compiled(pattern, True).fullmatch(action) is not None


def arn_matches(pattern: str, arn: str, lookup: Lookup | None = None) -> bool:
    """ARN matching as ArnLike defines it: each colon-separated part on its own.

    The sixth part (the resource) may itself hold colons, as a secret's `secret:name-AbCdEf`
    does. A wildcard cannot reach across a part boundary, so `arn:aws:iam:*:role/x` (account
    part missing) matches nothing; only a pattern's last part absorbs the rest of the ARN, which
    keeps short patterns such as `arn:aws:iam::*` meaningful. Case-sensitive throughout.
    """
    if pattern == "*":
        return True
    pattern_parts = pattern.split(":", 5)
    arn_parts = arn.split(":", len(pattern_parts) - 1)
    if len(arn_parts) != len(pattern_parts):
        return False
    return all(glob_match(p, a, lookup=lookup) for p, a in zip(pattern_parts, arn_parts))


def account_of(arn: str) -> str | None:
    """The account id in an ARN (`arn:aws:iam::123456789012:user/bob` -> `123456789012`)."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[4]:
        return parts[4]
    return None


def role_of_session(arn: str) -> str | None:
    """`arn:aws:sts::1:assumed-role/Name/session` -> `arn:aws:iam::1:role/Name`, else None.

    A resource policy names the role; the caller arrives as a session of it.
    """
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "sts" or not parts[5].startswith("assumed-role/"):
        return None
    pieces = parts[5].split("/")
    if len(pieces) < 3:
        return None
    return f"arn:{parts[1]}:iam::{parts[4]}:role/{pieces[1]}"


def is_account_root(arn: str, account_id: str | None = None) -> bool:
    """`arn:aws:iam::<account>:root`: the account principal, and the root user's own ARN."""
    parts = arn.split(":", 5)
    return (len(parts) == 6 and parts[0] == "arn" and parts[2] == "iam" and parts[5] == "root"
            and (account_id is None or parts[4] == account_id))

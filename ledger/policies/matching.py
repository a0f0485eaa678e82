"""Wildcard, ARN and policy-variable matching shared by the Action, Resource and Condition checks.

IAM's `*` matches any run of characters and `?` exactly one; everything else is literal. Policy
variables (`${aws:username}`, `${key, 'default'}`, `${*}`, `${?}`, `${$}`) exist only in
`2012-10-17` documents; a variable whose key the request lacks makes that one pattern unmatchable,
which is how IAM treats it (the element simply does not match).

Patterns come from callers (any principal may attach a resource policy to its own secret), so
matching must never take more than time proportional to pattern times value: a pattern is split
at its stars into fixed-width pieces, and the pieces are placed greedily, each at the leftmost
place after the one before (the standard wildcard algorithm: a later piece can always use the
room an earlier, leftmost one left). No backtracking regular expression is involved, so a pattern
such as `*a*a*a*a*b` costs one scan, not one per way of splitting the value. Variables are parsed
by hand for the same reason.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

Lookup = Callable[[str], "Sequence[str] | None"]
"""Returns the request's values for a condition key (case-insensitive), or None when absent."""

_LITERAL_VARIABLES = {"*": "*", "?": "?", "$": "$"}
ANY = None
"""A `?` inside a piece: any one character."""


class Unresolvable(Exception):
    """A policy variable names a key the request does not carry and gives no default."""


# ---- policy variables -------------------------------------------------------------------------
def _tokens(pattern: str, lookup: Lookup | None) -> list[tuple[str, str]]:
    """Split a pattern into ('glob', text) parts and ('literal', text) parts from variables."""
    if lookup is None or "${" not in pattern:
        return [("glob", pattern)]
    parts: list[tuple[str, str]] = []
    position = 0
    while (start := pattern.find("${", position)) >= 0:
        end = pattern.find("}", start + 2)
        if end < 0:  # no closing brace anywhere after: the rest is plain text
            break
        parts.append(("glob", pattern[position:start]))
        parts.append(("literal", resolve_variable(pattern[start + 2:end], lookup)))
        position = end + 1
    parts.append(("glob", pattern[position:]))
    return parts


def _default(body: str) -> tuple[str, str] | None:
    """`key, 'fallback'` -> (key, fallback); None when the body is not of that form."""
    key, comma, rest = body.partition(",")
    key, rest = key.strip(), rest.strip()
    if (not comma or not key or len(rest) < 2 or rest[0] != "'" or rest[-1] != "'"
            or "'" in rest[1:-1]):
        return None
    return key, rest[1:-1]


def resolve_variable(body: str, lookup: Lookup) -> str:
    """The text one `${...}` stands for; multi-valued keys cannot be variables, as in IAM."""
    if body in _LITERAL_VARIABLES:
        return _LITERAL_VARIABLES[body]
    default = _default(body)
    key, fallback = default if default else (body.strip(), None)
    values = lookup(key)
    if values is not None and len(values) == 1:
        return values[0]
    if fallback is not None:
        return fallback
    raise Unresolvable(key)


def substitute(text: str, lookup: Lookup | None) -> str:
    """Replace variables in a value compared without wildcards (StringEquals and friends)."""
    return "".join(text for _, text in _tokens(text, lookup))


# ---- wildcards --------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Piece:
    """Text between two stars: fixed width, literal except for its `?` positions."""

    text: str
    any_one: re.Pattern[str] | None  # set when the piece holds a `?`: literals and `.` only

    @classmethod
    def of(cls, chars: Sequence[str | None]) -> _Piece:
        text = "".join(c or "?" for c in chars)
        if ANY not in chars:
            return cls(text, None)
        source = "".join("." if c is ANY else re.escape(c) for c in chars)
        return cls(text, re.compile(source, re.DOTALL))  # no quantifier: nothing to backtrack

    def at(self, value: str, index: int) -> bool:
        if self.any_one is None:
            return value.startswith(self.text, index)
        return self.any_one.match(value, index, index + len(self.text)) is not None

    def find(self, value: str, start: int, end: int) -> int:
        """The leftmost index in [start, end - width] where the piece fits, or -1."""
        if self.any_one is None:
            return value.find(self.text, start, end)
        found = self.any_one.search(value, start, end)
        return found.start() if found else -1


@dataclass(frozen=True)
class Wildcard:
    """A compiled IAM wildcard pattern: `pieces` are the texts between its stars."""

    pieces: tuple[_Piece, ...]
    ignore_case: bool = False

    @classmethod
    def parse(cls, tokens: Iterable[tuple[str, str]], ignore_case: bool = False) -> Wildcard:
        """From `_tokens`: `*` and `?` are wildcards in glob text, literal in variable values."""
        pieces: list[_Piece] = []
        current: list[str | None] = []
        for kind, text in tokens:
            if ignore_case:
                text = text.lower()
            if kind == "literal":
                current.extend(text)
                continue
            for char in text:
                if char == "*":
                    pieces.append(_Piece.of(current))
                    current = []
                else:
                    current.append(ANY if char == "?" else char)
        pieces.append(_Piece.of(current))
        return cls(tuple(pieces), ignore_case)

    def matches(self, value: str) -> bool:
        if self.ignore_case:
            value = value.lower()
        pieces = self.pieces
        first, last = pieces[0], pieces[-1]
        if len(pieces) == 1:
            if first.any_one is None:
                return value == first.text
            return len(value) == len(first.text) and first.at(value, 0)
        if len(pieces) == 2 and not first.text and not last.text:
            return True  # `*`
        end = len(value) - len(last.text)
        if end < len(first.text) or not first.at(value, 0) or not last.at(value, end):
            return False
        position = len(first.text)
        for piece in self.pieces[1:-1]:
            found = piece.find(value, position, end) if piece.text else position
            if found < 0:
                return False
            position = found + len(piece.text)
        return True


@lru_cache(maxsize=4096)
def wildcard(pattern: str, ignore_case: bool = False) -> Wildcard:
    """The compiled form of a pattern without variables (cached: the same few recur)."""
    return Wildcard.parse([("glob", pattern)], ignore_case)


def glob_match(pattern: str, value: str, *, ignore_case: bool = False,
               lookup: Lookup | None = None) -> bool:
    """Whether `value` matches an IAM wildcard pattern (with variables when `lookup` is given)."""
    if lookup is None or "${" not in pattern:
        return wildcard(pattern, ignore_case).matches(value)
    try:
        tokens = _tokens(pattern, lookup)
    except Unresolvable:
        return False
    return Wildcard.parse(tokens, ignore_case).matches(value)


# ---- actions and ARNs -------------------------------------------------------------------------
def action_matches(pattern: str, action: str) -> bool:
    """Actions compare case-insensitively: `SecretsManager:get*` covers `secretsmanager:GetSecretValue`."""
    return pattern == "*" or wildcard(pattern, True).matches(action)


@dataclass(frozen=True)
class ActionPatterns:
    """A statement's Action (or NotAction) patterns, compiled once."""

    patterns: tuple[Wildcard, ...]

    def matches(self, action: str) -> bool:
        return any(p.matches(action) for p in self.patterns)


@lru_cache(maxsize=1024)
def compile_actions(patterns: tuple[str, ...]) -> ActionPatterns:
    """Equal to `any(action_matches(p, a) for p in patterns)`, with the parsing done once."""
    return ActionPatterns(tuple(wildcard(p, True) for p in patterns))


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


@dataclass(frozen=True)
class ArnPatterns:
    """A statement's Resource (or NotResource) patterns without variables, compiled once."""

    patterns: tuple[tuple[Wildcard, ...] | None, ...]  # None: the pattern `*`

    def matches(self, arn: str) -> bool:
        for parts in self.patterns:
            if parts is None:
                return True
            arn_parts = arn.split(":", len(parts) - 1)
            if len(arn_parts) != len(parts):
                continue
            for part, text in zip(parts, arn_parts):
                if not part.matches(text):
                    break
            else:
                return True
        return False


@lru_cache(maxsize=1024)
def compile_arns(patterns: tuple[str, ...]) -> ArnPatterns:
    """Equal to `any(arn_matches(p, arn) for p in patterns)` for patterns without variables."""
    return ArnPatterns(tuple(None if p == "*" else tuple(wildcard(part)
                                                          for part in p.split(":", 5))
                             for p in patterns))


# ---- principals -------------------------------------------------------------------------------
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

"""The Condition element: operators, their parsing and their evaluation against a request.

Evaluation follows the IAM documentation ("Condition operators" and "Conditions with multiple
context keys or values"):

* several operators in one block, and several keys under one operator, are ANDed; several
  values for one key are ORed (NOR for a negated operator: none may match);
* a key the request lacks makes the operator false, except that a negated operator
  (`StringNotEquals`, `StringNotLike`, `ArnNotEquals`, `ArnNotLike`, `NumericNotEquals`,
  `DateNotEquals`, `NotIpAddress`) is then true. `...IfExists` is true when the key is absent;
  `Null` tests presence itself;
* `ForAllValues:` is true when every request value satisfies the operator, and also when the key
  is absent or empty; `ForAnyValue:` needs at least one value that satisfies it and is false when
  the key is absent. With a negated operator each request value is tested with the negation;
* a plain operator given a multi-valued key (which IAM advises against) is true when any request
  value matches, and its negation when none does.

Documents are validated when parsed, so evaluation never meets an unknown operator or a value it
cannot read from the policy; an unreadable value from the request simply does not match.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from ledger.policies.matching import Lookup, Unresolvable, arn_matches, glob_match, substitute

SET_QUALIFIERS = ("ForAnyValue", "ForAllValues")
IF_EXISTS = "IfExists"


class ConditionSyntaxError(ValueError):
    """A condition the grammar rejects; the document parser turns it into MalformedPolicyDocument."""


def _number(text: str) -> float:
    return float(text)


def _date(text: str) -> datetime:
    try:
        moment = datetime.fromtimestamp(float(text), tz=timezone.utc)
    except ValueError:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@lru_cache(maxsize=1024)
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text.strip(), strict=False)


def _boolean(text: str) -> str:
    if text.lower() not in ("true", "false"):
        raise ValueError(text)
    return text.lower()


def _in_network(value: str, policy: str, _: Lookup | None) -> bool:
    try:
        return ipaddress.ip_address(value.strip()) in _network(policy)
    except ValueError:
        return False


def _numeric(test: Callable[[float, float], bool]) -> Callable[[str, str, Lookup | None], bool]:
    def compare(value: str, policy: str, _: Lookup | None) -> bool:
        try:
            return test(_number(value), _number(policy))
        except ValueError:
            return False
    return compare


def _dated(test: Callable[[datetime, datetime], bool]) -> Callable[[str, str, Lookup | None], bool]:
    def compare(value: str, policy: str, _: Lookup | None) -> bool:
        try:
            return test(_date(value), _date(policy))
        except (ValueError, OverflowError, OSError):
            return False
    return compare


def _equals(value: str, policy: str, lookup: Lookup | None) -> bool:
    try:
        return value == substitute(policy, lookup)
    except Unresolvable:  # a variable the request cannot fill never matches
        return False


def _equals_ignore_case(value: str, policy: str, lookup: Lookup | None) -> bool:
    try:
        return value.casefold() == substitute(policy, lookup).casefold()
    except Unresolvable:
        return False


def _like(value: str, policy: str, lookup: Lookup | None) -> bool:
    return glob_match(policy, value, lookup=lookup)


def _arn(value: str, policy: str, lookup: Lookup | None) -> bool:
    return arn_matches(policy, value, lookup)


def _bool(value: str, policy: str, _: Lookup | None) -> bool:
    return value.lower() == policy.lower()


def _binary(value: str, policy: str, _: Lookup | None) -> bool:
    return value == policy


@dataclass(frozen=True)
class Operator:
    """One base operator: how a request value is compared with one policy value."""

    compare: Callable[[str, str, Lookup | None], bool]
    negated: bool = False
    check_value: Callable[[str], Any] | None = None


_lt, _le = (lambda a, b: a < b), (lambda a, b: a <= b)
_gt, _ge = (lambda a, b: a > b), (lambda a, b: a >= b)
_eq = lambda a, b: a == b  # noqa: E731

OPERATORS: Mapping[str, Operator] = {
    "StringEquals": Operator(_equals),
    "StringNotEquals": Operator(_equals, negated=True),
    "StringEqualsIgnoreCase": Operator(_equals_ignore_case),
    "StringNotEqualsIgnoreCase": Operator(_equals_ignore_case, negated=True),
    "StringLike": Operator(_like),
    "StringNotLike": Operator(_like, negated=True),
    "NumericEquals": Operator(_numeric(_eq), check_value=_number),
    "NumericNotEquals": Operator(_numeric(_eq), negated=True, check_value=_number),
    "NumericLessThan": Operator(_numeric(_lt), check_value=_number),
    "NumericLessThanEquals": Operator(_numeric(_le), check_value=_number),
    "NumericGreaterThan": Operator(_numeric(_gt), check_value=_number),
    "NumericGreaterThanEquals": Operator(_numeric(_ge), check_value=_number),
    "DateEquals": Operator(_dated(_eq), check_value=_date),
    "DateNotEquals": Operator(_dated(_eq), negated=True, check_value=_date),
    "DateLessThan": Operator(_dated(_lt), check_value=_date),
    "DateLessThanEquals": Operator(_dated(_le), check_value=_date),
    "DateGreaterThan": Operator(_dated(_gt), check_value=_date),
    "DateGreaterThanEquals": Operator(_dated(_ge), check_value=_date),
    "Bool": Operator(_bool, check_value=_boolean),
    "BinaryEquals": Operator(_binary),
    "IpAddress": Operator(_in_network, check_value=_network),
    "NotIpAddress": Operator(_in_network, negated=True, check_value=_network),
    "ArnEquals": Operator(_arn),
    "ArnLike": Operator(_arn),
    "ArnNotEquals": Operator(_arn, negated=True),
    "ArnNotLike": Operator(_arn, negated=True),
    "Null": Operator(_bool, check_value=_boolean),
}


@dataclass(frozen=True)
class Condition:
    """One key under one operator, e.g. `StringEquals` `secretsmanager:ResourceTag/env` [`prod`]."""

    operator: str
    base: str
    qualifier: str | None
    if_exists: bool
    key: str
    values: tuple[str, ...]

    @property
    def negated(self) -> bool:
        return OPERATORS[self.base].negated


def parse_operator(name: str) -> tuple[str, str | None, bool]:
    """`ForAnyValue:StringLikeIfExists` -> (`StringLike`, `ForAnyValue`, True)."""
    qualifier = None
    base = name
    if ":" in name:
        qualifier, base = name.split(":", 1)
        if qualifier not in SET_QUALIFIERS:
            raise ConditionSyntaxError(f"Unknown condition set qualifier {qualifier!r}.")
    if_exists = base.endswith(IF_EXISTS) and base not in OPERATORS
    if if_exists:
        base = base[: -len(IF_EXISTS)]
    if base not in OPERATORS:
        raise ConditionSyntaxError(f"Unknown condition operator {name!r}.")
    if base == "Null" and (if_exists or qualifier):
        raise ConditionSyntaxError(f"The Null operator takes no qualifier: {name!r}.")
    return base, qualifier, if_exists


def _scalar(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    raise ConditionSyntaxError(f"Condition value for {where} must be a string, number or boolean.")


def parse_conditions(block: Any) -> tuple[Condition, ...]:
    """Validate a Condition element and flatten it to one `Condition` per operator and key."""
    if not isinstance(block, Mapping):
        raise ConditionSyntaxError("Condition must be an object of operators.")
    parsed: list[Condition] = []
    for name, keys in block.items():
        base, qualifier, if_exists = parse_operator(name)
        if not isinstance(keys, Mapping) or not keys:
            raise ConditionSyntaxError(f"Condition operator {name} must map keys to values.")
        for key, raw in keys.items():
            if key.count(":") < 1 or key.startswith(":") or " " in key:
                raise ConditionSyntaxError(f"Condition key {key!r} must have the form service:key.")
            items = raw if isinstance(raw, list) else [raw]
            if not items:
                raise ConditionSyntaxError(f"Condition key {key} under {name} has no values.")
            values = tuple(_scalar(item, f"{name} {key}") for item in items)
            check = OPERATORS[base].check_value
            for value in values:
                try:
                    if check is not None:
                        check(value)
                except (ValueError, OverflowError, OSError):
                    raise ConditionSyntaxError(
                        f"Condition value {value!r} is not valid for {name}.") from None
            parsed.append(Condition(name, base, qualifier, if_exists, key, values))
    return tuple(parsed)


def _as_strings(values: Sequence[str] | None) -> Sequence[str] | None:
    return values if values else None


def condition_holds(condition: Condition, lookup: Lookup, variables: bool) -> bool:
    """Whether one operator-and-key pair is satisfied by the request (see the module doc)."""
    present = _as_strings(lookup(condition.key))
    if condition.base == "Null":
        return any((value == "true") == (present is None) for value in condition.values)
    operator = OPERATORS[condition.base]
    if present is None:
        if condition.if_exists or condition.qualifier == "ForAllValues":
            return True
        if condition.qualifier == "ForAnyValue":
            return False
        return operator.negated
    resolver = lookup if variables else None

    def matches(value: str) -> bool:
        return any(operator.compare(value, policy, resolver) for policy in condition.values)

    if condition.qualifier == "ForAllValues":
        return all(matches(v) != operator.negated for v in present)
    if condition.qualifier == "ForAnyValue":
        return any(matches(v) != operator.negated for v in present)
    found = any(matches(v) for v in present)
    return not found if operator.negated else found


def conditions_hold(conditions: Sequence[Condition], lookup: Lookup, variables: bool) -> bool:
    return all(condition_holds(condition, lookup, variables) for condition in conditions)

"""Filtering, sorting and paging for ListSecrets and BatchGetSecretValue.

Pure functions over ListSecrets-shaped entries (`Name`, `Description`, `Tags`, `PrimaryRegion`,
`OwningService`, `ARN`, dates as epoch seconds), so both operations and every view backend share
one reading of AWS's rules. Decisions where AWS is silent are stated next to the code they govern.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from ledger.errors import InvalidNextTokenException, InvalidParameterException

T = TypeVar("T")
E = TypeVar("E", bound=Mapping[str, Any])
Entry = Mapping[str, Any]

INVALID_NEXT_TOKEN = "The NextToken value is invalid."
_MAX_TOKEN = 4096  # NextTokenType's max length
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_ALNUM_RUN = re.compile(r"[A-Za-z0-9]+")


# --- filters -------------------------------------------------------------------------------------

def _tag_keys(entry: Entry) -> list[str]:
    return [tag.get("Key", "") for tag in entry.get("Tags") or []]


def _tag_values(entry: Entry) -> list[str]:
    return [tag.get("Value", "") for tag in entry.get("Tags") or []]


def _field(name: str) -> Callable[[Entry], list[str]]:
    return lambda entry: [entry[name]] if entry.get(name) is not None else []


def _prefix(case_sensitive: bool) -> Callable[[str, list[str]], bool]:
    if case_sensitive:
        return lambda value, attrs: any(a.startswith(value) for a in attrs)
    return lambda value, attrs: any(a.lower().startswith(value.lower()) for a in attrs)


def _words(text: str) -> list[str]:
    """Split as the console search does: at punctuation, letter/digit changes, camelCase humps."""
    return [w.lower() for w in _WORD.findall(text)]


def _attribute_words(attrs: Iterable[str]) -> set[str]:
    # Whole alphanumeric runs are kept too, so "mydatabase" still finds "MyDatabase".
    words: set[str] = set()
    for attr in attrs:
        words.update(_words(attr))
        words.update(run.lower() for run in _ALNUM_RUN.findall(attr))
    return words


def _all_attributes(entry: Entry) -> list[str]:
    singles = [entry.get(k) for k in ("Name", "Description", "PrimaryRegion", "OwningService")]
    return [s for s in singles if s is not None] + _tag_keys(entry) + _tag_values(entry)


def _word_match(value: str, attrs: list[str]) -> bool:
    """Every word of the value must prefix some word of some attribute (no words: matches)."""
    words = _attribute_words(attrs)
    return all(any(w.startswith(q) for w in words) for q in _words(value))


# key -> (attributes of an entry, how one filter value matches them)
_FILTERS: dict[str, tuple[Callable[[Entry], list[str]], Callable[[str, list[str]], bool]]] = {
    "name": (_field("Name"), _prefix(True)),
    "description": (_field("Description"), _prefix(False)),
    "tag-key": (_tag_keys, _prefix(True)),
    "tag-value": (_tag_values, _prefix(True)),
    "primary-region": (_field("PrimaryRegion"), _prefix(True)),
    "owning-service": (_field("OwningService"), _prefix(True)),
    "all": (_all_attributes, _word_match),
}


def check_filters(filters: Sequence[Mapping[str, Any]]) -> None:
    """Refuse unknown keys and empty value lists even when there is nothing to filter."""
    for f in filters:
        if f.get("Key") not in _FILTERS:
            raise InvalidParameterException(
                f"Invalid filter key: {f.get('Key')!r}. Valid keys: {', '.join(_FILTERS)}.")
        if not f.get("Values"):
            raise InvalidParameterException(f"Filter {f['Key']!r} needs at least one value.")


def matches_filters(entry: Entry, filters: Sequence[Mapping[str, Any]]) -> bool:
    """True when the entry passes every filter (filters are AND'ed).

    Within one filter, values are OR'ed and a leading "!" negates a value: the entry must match
    at least one plain value (if there are any) and none of the negated ones. So
    ``["prod", "!prod/old"]`` keeps ``prod/db`` and drops ``prod/old-db``. A negated value excludes
    an entry if *any* of its attributes match (``!env`` on tag-key drops every secret with a tag
    key starting "env"); an entry lacking the attribute matches no value, so passes negations.
    """
    check_filters(filters)
    return _passes(entry, filters)


def filter_entries(entries: Iterable[E], filters: Sequence[Mapping[str, Any]] | None) -> list[E]:
    """The entries that pass `filters`, in their original order."""
    filters = filters or []
    check_filters(filters)
    return [e for e in entries if _passes(e, filters)]


def _passes(entry: Entry, filters: Sequence[Mapping[str, Any]]) -> bool:
    for f in filters:
        attributes, match = _FILTERS[f["Key"]]
        attrs = attributes(entry)
        plain = [v for v in f["Values"] if not v.startswith("!")]
        negated = [v[1:] for v in f["Values"] if v.startswith("!")]
        if plain and not any(match(v, attrs) for v in plain):
            return False
        if any(match(v, attrs) for v in negated):
            return False
    return True


# --- sorting -------------------------------------------------------------------------------------

_SORT_FIELDS = {
    "created-date": "CreatedDate",
    "last-accessed-date": "LastAccessedDate",
    "last-changed-date": "LastChangedDate",
    "name": "Name",
}


def sort_entries(entries: Iterable[E], sort_by: str | None, sort_order: str | None) -> list[E]:
    """Order entries for a listing; the order must be total so offset paging is repeatable.

    Defaults: SortBy ``created-date`` (the model says so) and SortOrder ``asc`` (the model gives
    none; oldest first keeps earlier pages stable while secrets are being created). Entries lacking
    the field (e.g. never accessed) come last in either order, because they carry no value to rank.
    Ties break on ARN ascending in either order. Names compare case-sensitively by code point.
    """
    field = _SORT_FIELDS.get(sort_by or "created-date")
    if field is None:
        raise InvalidParameterException(
            f"Invalid SortBy: {sort_by!r}. Valid values: {', '.join(_SORT_FIELDS)}.")
    if (sort_order or "asc") not in ("asc", "desc"):
        raise InvalidParameterException(
            f"Invalid SortOrder: {sort_order!r}. Valid values: asc, desc.")
    by_arn = sorted(entries, key=lambda e: e.get("ARN") or "")
    present = [e for e in by_arn if e.get(field) is not None]
    missing = [e for e in by_arn if e.get(field) is None]
    # sorted() is stable even with reverse=True, so the ARN order survives among equal values.
    present.sort(key=lambda e: e[field], reverse=sort_order == "desc")
    return present + missing


# --- paging --------------------------------------------------------------------------------------

def request_fingerprint(request: Mapping[str, Any],
                        ignore: Iterable[str] = ("NextToken", "MaxResults")) -> str:
    """A short stable hash of the query, so a NextToken only resumes the query that issued it.

    Absent and ``None`` members hash alike. Callers sharing tokens across operations should put
    the operation name into `request`.
    """
    skip = set(ignore)
    query = {k: v for k, v in request.items() if k not in skip and v is not None}
    canonical = json.dumps(query, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def paginate(items: Sequence[T], max_results: int | None, next_token: str | None,
             request_fingerprint: str, default_max: int = 100) -> tuple[list[T], str | None]:
    """One page of `items` and the token for the next page (``None`` on the last page).

    The token is urlsafe base64 of ``{"offset": n, "query": fingerprint}``, not HMAC-signed: it only
    selects a page of results the caller may already list with the same query, so a forged offset
    gains nothing. The fingerprint catches replay against a different query. An offset past the end
    (entries deleted meanwhile) gives an empty last page.
    """
    size = default_max if max_results is None else max_results
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise InvalidParameterException("MaxResults must be a positive integer.")
    start = 0 if next_token is None else _decode_token(next_token, request_fingerprint)
    end = start + size
    following = _encode_token(end, request_fingerprint) if end < len(items) else None
    return list(items[start:end]), following


def _encode_token(offset: int, fingerprint: str) -> str:
    raw = json.dumps({"offset": offset, "query": fingerprint}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_token(token: str, fingerprint: str) -> int:
    """One error for every failure, so the token's format is no oracle."""
    if len(token) > _MAX_TOKEN:
        raise InvalidNextTokenException(INVALID_NEXT_TOKEN)
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode("ascii")).decode())
    except (binascii.Error, ValueError, RecursionError):
        raise InvalidNextTokenException(INVALID_NEXT_TOKEN) from None
    offset = data.get("offset") if isinstance(data, dict) else None
    valid = (isinstance(offset, int) and not isinstance(offset, bool) and offset >= 0
             and data.get("query") == fingerprint)
    if not valid:
        raise InvalidNextTokenException(INVALID_NEXT_TOKEN)
    return offset

"""GetRandomPassword: build a password from the character classes AWS documents.

Nothing here logs, and no error message carries a generated character: a password is a secret value.
"""
from __future__ import annotations

import random
import secrets
import string
from collections.abc import Mapping
from typing import Any

from ledger.errors import InvalidParameterException

DEFAULT_LENGTH = 32
MAX_LENGTH = 4096
PUNCTUATION = string.punctuation  # !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~, the set AWS documents


def generate_password(request: Mapping[str, Any], rng: random.Random | None = None) -> str:
    """Return a password for an AWS-shaped GetRandomPassword request (PascalCase keys, optional).

    `rng` exists so tests can be deterministic; production uses the OS's CSPRNG.
    """
    rng = rng if rng is not None else secrets.SystemRandom()
    length = _length(request)
    classes = _character_classes(request)
    pool = "".join(classes)
    if not pool:
        raise InvalidParameterException(
            "ExcludeCharacters and the Exclude* parameters leave no characters to build a "
            "password from.")
    required = classes if _flag(request, "RequireEachIncludedType", True) else []
    if length < len(required):
        raise InvalidParameterException(
            f"PasswordLength {length} is too short to include a character of each of the "
            f"{len(required)} required character types.")
    chars = [rng.choice(cls) for cls in required]
    chars += [rng.choice(pool) for _ in range(length - len(chars))]
    rng.shuffle(chars)
    return "".join(chars)


def _character_classes(request: Mapping[str, Any]) -> list[str]:
    """The included classes, minus ExcludeCharacters; a class emptied that way counts as excluded.

    Treating an emptied class as excluded (rather than as an error) lets a caller drop, say, all
    digits through ExcludeCharacters alone, which is what that parameter promises.
    """
    candidates = [
        ("ExcludeLowercase", False, string.ascii_lowercase),
        ("ExcludeUppercase", False, string.ascii_uppercase),
        ("ExcludeNumbers", False, string.digits),
        ("ExcludePunctuation", False, PUNCTUATION),
        ("IncludeSpace", True, " "),
    ]
    excluded = set(request.get("ExcludeCharacters") or "")
    classes = []
    for key, wanted_when, chars in candidates:
        if _flag(request, key, False) is wanted_when:
            kept = "".join(c for c in chars if c not in excluded)
            if kept:
                classes.append(kept)
    return classes


def _length(request: Mapping[str, Any]) -> int:
    """Bounds are validated upstream from the service model; rechecked so a bad call cannot hang."""
    length = request.get("PasswordLength")
    if length is None:
        return DEFAULT_LENGTH
    if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= MAX_LENGTH:
        raise InvalidParameterException(
            f"PasswordLength must be an integer from 1 to {MAX_LENGTH}.")
    return length


def _flag(request: Mapping[str, Any], key: str, default: bool) -> bool:
    value = request.get(key)
    return default if value is None else bool(value)

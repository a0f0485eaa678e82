"""Secret names and ARNs: the charset rule, the random suffix, and name-or-ARN parsing."""
from __future__ import annotations

import re
import string
from dataclasses import dataclass
from random import Random

from ledger.errors import ValidationException

_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]+")
_SERVICE_NAME = re.compile(r"[A-Za-z0-9/_+=.@!-]+")  # services name theirs like rds!db-...
_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}")
_SUFFIX_ALPHABET = string.ascii_letters + string.digits
INVALID_NAME = ("Invalid name. Must be a valid name containing alphanumeric characters, "
                "or any of the following: -/_+=.@!")


def check_name(name: str, service_owned: bool = False) -> None:
    """AWS applies the same charset to CreateSecret's Name and to every non-ARN SecretId.

    Secrets that AWS services create for themselves may also contain "!" (RDS names its own
    `rds!db-...`), so lookups accept it, while callers creating a secret may not use it.
    """
    if not (_SERVICE_NAME if service_owned else _NAME).fullmatch(name):
        raise ValidationException(INVALID_NAME)


def secret_arn(region: str, account_id: str, name: str, rng: Random) -> str:
    """The suffix makes a re-created secret's ARN differ, so old ARN-scoped grants don't carry over."""
    suffix = "".join(rng.choice(_SUFFIX_ALPHABET) for _ in range(6))
    return f"arn:aws:secretsmanager:{region}:{account_id}:secret:{name}-{suffix}"


@dataclass(frozen=True)
class SecretRef:
    """A parsed SecretId: which names to try in the index, and what ARN must then match."""

    candidate_names: tuple[str, ...]
    raw: str
    is_arn: bool

    def accepts(self, name: str, arn: str) -> bool:
        if not self.is_arn:
            return name == self.raw
        if arn == self.raw:
            return True
        # A partial ARN is the full ARN minus "-XXXXXX"; AWS refuses it when the name itself
        # ends in something that looks like a suffix, because that is ambiguous.
        return arn[:-7] == self.raw and not _SUFFIX.search(name[-7:])


def parse_secret_id(secret_id: str) -> SecretRef:
    if not secret_id.startswith("arn:"):
        check_name(secret_id, service_owned=True)
        return SecretRef((secret_id,), secret_id, False)
    parts = secret_id.split(":", 6)
    if len(parts) < 7 or parts[2] != "secretsmanager" or parts[5] != "secret" or not parts[6]:
        return SecretRef((), secret_id, True)
    tail = parts[6]
    names = [tail[:-7]] if _SUFFIX.fullmatch(tail[-7:]) and len(tail) > 7 else []
    names.append(tail)
    return SecretRef(tuple(names), secret_id, True)

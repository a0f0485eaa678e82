"""The published digest file: one signed digest as a JSON document outside the database.

As CloudTrail delivers its digest files to S3, the ledger writes each signed digest to a
directory the database's writers need not control, so deleting or rewriting digests in the
database no longer deletes the evidence. A file carries the exact signed body, the signature,
and, for a reader's convenience, the fields that chain files together (the signing key's
fingerprint, the previous digest's hash and signature), plus the chain tips its body hashes.
Only the body and signature are trusted; the copies beside them must agree with the body.

The content is a function of the digest alone, so two processes publishing one digest write
identical bytes.
"""
from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any

from ledger.integrity.digest import Digest, parse_time

FILE_FORMAT = "secrets-ledger-digest-file/1"
PREFIX, SUFFIX = "digest-", ".json"
MAX_FILE_BYTES = 1 << 20  # a digest file is a few KiB; the cap keeps a planted huge one out
# Copies of body fields a reader sees without parsing the body; checked against it.
HEADER = ("sequence", "start_position", "end_position", "digest_start_time", "digest_end_time",
          "public_key_fingerprint", "previous_digest_hash", "previous_digest_signature")


class UnreadableDigestFile(ValueError):
    """Not a digest file, or its header disagrees with its signed body."""


def file_name(digest: Digest) -> str:
    """Named after its place, its positions and its time:
    digest-00000003_positions-41-57_20261203T181500Z.json (sorted names are in order)."""
    end = parse_time(digest.fields["digest_end_time"]).strftime("%Y%m%dT%H%M%SZ")
    return (f"{PREFIX}{digest.sequence:08d}_positions-{digest.start_position}-"
            f"{digest.end_position}_{end}{SUFFIX}")


def read_file(path: Path) -> bytes:
    """The bytes of a digest file, which must be a regular file of at most MAX_FILE_BYTES.
    The directory is evidence others may tamper with: a symbolic link is not followed (it
    could point at /dev/zero) and a FIFO is not waited on; either raises UnreadableDigestFile."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        raise UnreadableDigestFile("is a symbolic link, not a digest file"
                                   if error.errno == errno.ELOOP
                                   else f"cannot be read: {error.strerror}") from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise UnreadableDigestFile("is not a regular file")
    with os.fdopen(descriptor, "rb") as handle:
        content = handle.read(MAX_FILE_BYTES + 1)
    if len(content) > MAX_FILE_BYTES:
        raise UnreadableDigestFile(f"is larger than {MAX_FILE_BYTES} bytes, not a digest file")
    return content


def is_digest_file(name: str) -> bool:
    return name.startswith(PREFIX) and name.endswith(SUFFIX)


def render(digest: Digest, chain_tips: bytes) -> bytes:
    fields = digest.fields
    document: dict[str, Any] = {
        "format": FILE_FORMAT, **{name: fields[name] for name in HEADER},
        "digest_hash": digest.hash, "signature": digest.signature.hex(),
        "body": digest.body.decode("ascii"), "chain_tips": chain_tips.decode("ascii")}
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()


def parse(content: bytes) -> Digest:
    """The digest a file holds; UnreadableDigestFile if it holds none or contradicts itself."""
    try:
        document = json.loads(content)
        if document.get("format") != FILE_FORMAT:
            raise UnreadableDigestFile("not a secrets-ledger digest file")
        digest = Digest(int(document["sequence"]), document["body"].encode("ascii"),
                        bytes.fromhex(document["signature"]),
                        document["chain_tips"].encode("ascii"))
        fields = digest.fields
    except UnreadableDigestFile:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeError) as error:
        raise UnreadableDigestFile(f"unreadable ({type(error).__name__})") from error
    differing = [name for name in (*HEADER, "digest_hash")
                 if document.get(name) != (digest.hash if name == "digest_hash"
                                           else fields.get(name))]
    if differing:
        raise UnreadableDigestFile(f"its {', '.join(differing)} disagree with its signed body")
    return digest

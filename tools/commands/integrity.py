"""`verify`, `prove`, `check-proof`, `digest`, `public-key` and `purge`: the log's integrity
from the shell.

`verify` and `prove` open the database read-only and need no root key when given the public
key, so an auditor can run them on a copy of the data directory. `verify --digests DIR` also
checks the database against the digest files `digest` and `serve` publish with `--digest-dir`.
Exit statuses of `verify`: 0 proven, 1 tampering detected, 2 usage, 3 nothing proves a range.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ledger.integrity.digest_writer import UnsignableRange
from ledger.integrity.inclusion import ProofUnavailable, build_proof
from ledger.integrity.proof import check_proof
from ledger.integrity.publisher import PublishConflict
from ledger.integrity.published import PublishedFiles
from ledger.integrity.signing import (
    SIGNING_KEY_MATERIAL, load_public_key, public_key_pem, read_signing_key_file,
)
from ledger.config import LedgerConfig
from ledger.integrity.store import IntegrityStore, SQLiteIntegrityStore
from ledger.integrity.verify import UNPROVEN_GRACE, verify
from ledger.keys.envelope import SealBroken
from ledger.keys.rootkey import ROOT_KEY_ENV, ROOT_KEY_FILE
from tools.commands.audit import parse_time
from tools.commands.common import (
    add_data_dir, data_dir_of, existing_ledger_file, open_ledger, print_json, store_overrides,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    check = subparsers.add_parser("verify", help="check the hash chains and signed digests")
    add_data_dir(check)
    check.add_argument("--from", dest="start", type=_moment, default=None,
                       help="first time to check (ISO 8601 or epoch seconds)")
    check.add_argument("--to", dest="end", type=_moment, default=None, help="last time to check")
    check.add_argument("--public-key", type=Path, action="append", default=None,
                       help="a published digest public key (PEM); repeat it for keys used "
                            "before a rotation (each digest names its key's fingerprint); "
                            "default: the ledger's own")
    check.add_argument("--digests", type=Path, default=None, metavar="DIR",
                       help="the published digest files (written by --digest-dir) to check "
                            "the database against; without them, digests removed from the "
                            "database cannot be detected")
    check.add_argument("--max-age", type=_duration, default=None, metavar="DURATION",
                       help="with --digests: fail if the newest file is older (90m, 2h, 1d), "
                            "so removing the latest files is caught")
    check.set_defaults(handler=run_verify)

    prove = subparsers.add_parser("prove", help="print an inclusion proof for one event")
    add_data_dir(prove)
    prove.add_argument("event_id", metavar="EVENT_ID",
                       help="log position (notification id) or originator_id:version")
    prove.set_defaults(handler=run_prove)

    checker = subparsers.add_parser(
        "check-proof", help="check an inclusion proof with the published public key alone")
    checker.add_argument("proof", type=Path, metavar="PROOF",
                         help="the JSON `prove` printed (a file, or - for stdin)")
    checker.add_argument("--public-key", type=Path, required=True,
                         help="the published digest public key (PEM)")
    checker.set_defaults(handler=run_check_proof)

    digest = subparsers.add_parser("digest", help="sign a digest of the log now")
    add_data_dir(digest)
    add_digest_dir(digest)
    digest.set_defaults(handler=run_digest)

    key = subparsers.add_parser("public-key", help="print the digest public key (PEM)")
    add_data_dir(key)
    key.set_defaults(handler=run_public_key)

    purge = subparsers.add_parser("purge", help="end every recovery window and key pending "
                                                 "window that has passed")
    add_data_dir(purge)
    purge.set_defaults(handler=run_purge)


def add_digest_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--digest-dir", type=Path, default=None, metavar="DIR",
                        help="also write every signed digest as a file here (never rewritten; "
                             "digests made before are published the first time); keep DIR "
                             "where the database's writers cannot delete")


_DURATION = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _duration(text: str) -> timedelta:
    found = _DURATION.fullmatch(text.strip())
    if not found or int(found[1]) == 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration: a positive number and s, m, h or d (90m, 2h, 1d)")
    try:
        return timedelta(**{_UNITS[found[2]]: int(found[1])})
    except OverflowError:
        raise argparse.ArgumentTypeError(f"{text!r} is too long a duration") from None


def _moment(text: str) -> datetime:
    """ISO 8601, or epoch seconds; one the calendar cannot hold is a usage error."""
    try:
        seconds = float(text)
    except ValueError:
        return parse_time(text)
    try:
        return datetime.fromtimestamp(seconds, timezone.utc)
    except (OverflowError, OSError, ValueError):  # inf, nan, 1e300
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time: epoch seconds must fall in years 1-9999") from None


def _open_store(args: argparse.Namespace) -> tuple[IntegrityStore, Any]:
    """The SQLite file opened read-only; on PostgreSQL, the ledger's own connection (the
    second value keeps the ledger, and so its connections, alive while the store is used)."""
    if LedgerConfig.from_environ(**store_overrides(args)).backend == "postgres":
        ledger = open_ledger(args)
        return ledger.integrity.store, ledger
    return SQLiteIntegrityStore.open_file(existing_ledger_file(args)), None


def run_verify(args: argparse.Namespace) -> int:
    data_dir = data_dir_of(args)
    if args.max_age is not None and args.digests is None:
        print("verify: --max-age needs --digests DIR", file=sys.stderr)
        return 2
    store, _keep = _open_store(args)
    config = LedgerConfig.from_environ(data_dir=data_dir, **store_overrides(args))
    own_key = (config.root_key_file or config.signing_key_file or os.environ.get(ROOT_KEY_ENV)
               or (data_dir / ROOT_KEY_FILE).exists())
    if args.public_key:
        try:
            keys = [load_public_key(path.read_bytes()) for path in args.public_key]
        except (OSError, ValueError) as error:
            print(f"verify: cannot read the public key: {error}", file=sys.stderr)
            return 2
        source = "from " + ", ".join(str(path) for path in args.public_key)
    elif own_key:
        ledger = open_ledger(args)
        try:
            keys = [ledger.integrity.signer.public_key]
        except SealBroken:  # evidence of tampering (or of a foreign root key), not a crash
            print(f"verify: the key store row {SIGNING_KEY_MATERIAL} is not a valid signing "
                  "key (altered, or sealed under another root key); verify with --public-key "
                  "PEM, the published key", file=sys.stderr)
            return 1
        source = ("taken from the ledger's own key store; pass --public-key with a published "
                  "copy to rule out a replaced key")
    else:
        print("verify needs --public-key (no root key to read the ledger's own)", file=sys.stderr)
        return 2
    try:
        published = PublishedFiles.read(args.digests) if args.digests is not None else None
    except OSError as error:
        print(f"verify: cannot read the digest files: {error}", file=sys.stderr)
        return 2
    report = verify(store, keys, key_source=source, start=args.start, end=args.end,
                    published=published, now=datetime.now(timezone.utc),
                    max_age=args.max_age,
                    unproven_after=(config.digest_interval or timedelta()) + UNPROVEN_GRACE)
    print(f"Validating the log in {data_dir}", end="\n\n")
    print("\n".join(report.lines()))
    return report.status


def run_prove(args: argparse.Namespace) -> int:
    store, _keep = _open_store(args)
    try:
        print(json.dumps(build_proof(store, args.event_id), indent=2, sort_keys=True))
    except ProofUnavailable as error:
        print(f"prove: {error}", file=sys.stderr)
        return 1
    return 0


def run_check_proof(args: argparse.Namespace) -> int:
    """No ledger needed: what a third party runs on a proof they were handed."""
    text = sys.stdin.read() if str(args.proof) == "-" else args.proof.read_text()
    if not check_proof(text, args.public_key.read_bytes()):
        print("INVALID: the proof does not show this event under a digest signed by this key")
        return 1
    proof = json.loads(text)
    event, digest = proof["event"], proof["digest"]
    print(f"valid: event {event['originator_id']}:{event['originator_version']} "
          f"({event['topic']}) at log position {event['position']} is in digest "
          f"{digest['sequence']}, signed by this key")
    return 0


def run_digest(args: argparse.Namespace) -> int:
    ledger = open_ledger(args)
    try:
        if args.digest_dir is not None:
            ledger.integrity.publish_to(args.digest_dir)
        print_json(ledger.write_digest().summary())
    except (UnsignableRange, PublishConflict) as error:
        print(f"digest: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"digest: cannot publish to {args.digest_dir}: {error}", file=sys.stderr)
        return 1
    return 0


def run_public_key(args: argparse.Namespace) -> int:
    """With a signing key file, its public half (no ledger needed); else the ledger's key."""
    key_file = LedgerConfig.from_environ(**store_overrides(args)).signing_key_file
    if key_file is not None:
        sys.stdout.write(public_key_pem(read_signing_key_file(key_file).public_key()))
    else:
        sys.stdout.write(open_ledger(args).integrity.public_key_pem())
    return 0


def run_purge(args: argparse.Namespace) -> int:
    print_json({"Purged": open_ledger(args).purge_expired()})
    return 0

"""`verify`, `prove`, `check-proof`, `digest`, `public-key` and `purge`: the log's integrity
from the shell.

`verify` and `prove` open the database read-only and need no root key when given the public
key, so an auditor can run them on a copy of the data directory.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ledger.integrity.digest_writer import UnsignableRange
from ledger.integrity.inclusion import ProofUnavailable, build_proof
from ledger.integrity.proof import check_proof
from ledger.integrity.signing import SIGNING_KEY_MATERIAL, load_public_key
from ledger.config import LedgerConfig
from ledger.integrity.store import IntegrityStore, SQLiteIntegrityStore
from ledger.integrity.verify import verify
from ledger.keys.envelope import SealBroken
from ledger.keys.rootkey import ROOT_KEY_ENV, ROOT_KEY_FILE
from tools.commands.common import (
    add_data_dir, data_dir_of, existing_ledger_file, open_ledger, print_json, store_overrides,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    check = subparsers.add_parser("verify", help="check the hash chains and signed digests")
    add_data_dir(check)
    check.add_argument("--from", dest="start", type=_moment, default=None,
                       help="first time to check (ISO 8601 or epoch seconds)")
    check.add_argument("--to", dest="end", type=_moment, default=None, help="last time to check")
    check.add_argument("--public-key", type=Path, default=None,
                       help="the published digest public key (PEM); default: the ledger's own")
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
    digest.set_defaults(handler=run_digest)

    key = subparsers.add_parser("public-key", help="print the digest public key (PEM)")
    add_data_dir(key)
    key.set_defaults(handler=run_public_key)

    purge = subparsers.add_parser("purge", help="end every recovery window and key pending "
                                                 "window that has passed")
    add_data_dir(purge)
    purge.set_defaults(handler=run_purge)


def _moment(text: str) -> datetime:
    try:
        return datetime.fromtimestamp(float(text), timezone.utc)
    except ValueError:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _open_store(args: argparse.Namespace) -> tuple[IntegrityStore, Any]:
    """The SQLite file opened read-only; on PostgreSQL, the ledger's own connection (the
    second value keeps the ledger, and so its connections, alive while the store is used)."""
    if LedgerConfig.from_environ(**store_overrides(args)).backend == "postgres":
        ledger = open_ledger(args)
        return ledger.integrity.store, ledger
    return SQLiteIntegrityStore.open_file(existing_ledger_file(args)), None


def run_verify(args: argparse.Namespace) -> int:
    data_dir = data_dir_of(args)
    store, _keep = _open_store(args)
    if args.public_key is not None:
        key, source = load_public_key(args.public_key.read_bytes()), f"from {args.public_key}"
    elif os.environ.get(ROOT_KEY_ENV) or (data_dir / ROOT_KEY_FILE).exists():
        ledger = open_ledger(args)
        try:
            key = ledger.integrity.signer.public_key
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
    report = verify(store, key, key_source=source, start=args.start, end=args.end)
    print(f"Validating the log in {data_dir}", end="\n\n")
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


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
    try:
        print_json(open_ledger(args).write_digest().summary())
    except UnsignableRange as error:
        print(f"digest: {error}", file=sys.stderr)
        return 1
    return 0


def run_public_key(args: argparse.Namespace) -> int:
    sys.stdout.write(open_ledger(args).integrity.public_key_pem())
    return 0


def run_purge(args: argparse.Namespace) -> int:
    print_json({"Purged": open_ledger(args).purge_expired()})
    return 0

"""`secrets-ledger audit ...`: query, export and fingerprint-search the CloudTrail-format trail.

    audit lookup [--event-name N | --resource-name R | --username U | --access-key-id K |
                  --read-only true|false | --event-id E] [--start-time T] [--end-time T]
                 [--max-results N] [--next-token TOKEN] [--records]
                 [--public-key PEM ...] [--digests DIR]
    audit export --format cloudtrail|jsonl [--output FILE] [--start-time T] [--end-time T]
                 [--public-key PEM ...] [--digests DIR]
    audit hash (--value-stdin | --binary-file FILE) [--keep-newline]

Times are ISO 8601 (`2026-03-17T03:12:00Z`); a time without an offset is UTC. Every record
lookup and export show is proven under a signed digest (`audit_proof`) or, after the last
digest, marked unproven (`UnprovenEventIds`, and a line on stderr).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ledger.errors import LedgerError
from ledger.integrity.published import PublishedFiles
from ledger.integrity.signing import load_public_key
from projections import audit_hash, export, lookup
from projections.audit_proof import RecordProver
from projections.secret_view import to_micros
from tools.commands.common import add_data_dir, open_ledger, print_json

_ATTRIBUTES = (("event_name", "EventName"), ("resource_name", "ResourceName"),
               ("username", "Username"), ("access_key_id", "AccessKeyId"),
               ("read_only", "ReadOnly"), ("event_id", "EventId"))


def parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    try:  # in UTC, which a time at the calendar's edge with an offset may not fit
        return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(
            tzinfo=timezone.utc)
    except OverflowError:
        raise argparse.ArgumentTypeError(f"not a time in years 1-9999 UTC: {text!r}") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("audit", help="query and export the audit trail")
    commands = parser.add_subparsers(dest="audit_command", required=True)

    find = commands.add_parser("lookup", help="LookupEvents: one attribute, a time range")
    add_data_dir(find)
    attributes = find.add_mutually_exclusive_group()
    for dest, key in _ATTRIBUTES:
        attributes.add_argument("--" + dest.replace("_", "-"), dest=dest, metavar=key.upper())
    _add_time_range(find)
    find.add_argument("--max-results", type=int, default=None)
    find.add_argument("--next-token", default=None)
    find.add_argument("--records", action="store_true",
                      help="print the CloudTrail records themselves, not LookupEvents entries")
    _add_proof_options(find)
    find.set_defaults(handler=run_lookup)

    dump = commands.add_parser("export", help="the trail as a CloudTrail log file or JSON lines")
    add_data_dir(dump)
    dump.add_argument("--format", choices=export.FORMATS, default="cloudtrail")
    dump.add_argument("--output", type=Path, default=None, help="file to write (default: stdout)")
    _add_time_range(dump)
    _add_proof_options(dump)
    dump.set_defaults(handler=run_export)

    digest = commands.add_parser("hash", help="fingerprint a candidate value, list the records "
                                              "of calls that stored it")
    add_data_dir(digest)
    source = digest.add_mutually_exclusive_group(required=True)
    source.add_argument("--value-stdin", action="store_true",
                        help="read a SecretString candidate from stdin")
    source.add_argument("--binary-file", type=Path, help="a SecretBinary candidate")
    digest.add_argument("--keep-newline", action="store_true",
                        help="keep a trailing newline of stdin (dropped by default)")
    digest.set_defaults(handler=run_hash)


def _add_time_range(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start-time", type=parse_time, default=None)
    parser.add_argument("--end-time", type=parse_time, default=None)


def _add_proof_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--public-key", type=Path, action="append", default=None,
                        metavar="PEM", help="a published digest public key to prove the "
                        "records with (repeatable after a rotation); default: the ledger's own")
    parser.add_argument("--digests", type=Path, default=None, metavar="DIR",
                        help="the published digest files, which take the database's digests' "
                             "place, so a digest deleted from the database still proves")


class _Usage(Exception):
    """A proof option that cannot be used: one line, exit status 2."""


def _prover(args: argparse.Namespace, ledger: Any) -> RecordProver:
    try:
        keys = ([load_public_key(path.read_bytes()) for path in args.public_key]
                if args.public_key else [ledger.integrity.signer.public_key])
    except (OSError, ValueError) as error:
        raise _Usage(f"cannot read the public key: {error}") from None
    try:
        published = PublishedFiles.read(args.digests) if args.digests is not None else None
    except OSError as error:
        raise _Usage(f"cannot read the digest files: {error}") from None
    return RecordProver(ledger.integrity.store, keys, published)


def _unproven_note(command: str, count: int, where: str) -> None:
    one = count == 1
    print(f"audit {command}: {count} of the records shown ({where}) {'is' if one else 'are'} "
          f"after the last signed digest: unproven, nothing shows {'it' if one else 'them'} "
          "unaltered yet (`secrets-ledger digest` signs one)", file=sys.stderr)


def run_lookup(args: argparse.Namespace) -> int:
    chosen = [{"AttributeKey": key, "AttributeValue": getattr(args, dest)}
              for dest, key in _ATTRIBUTES if getattr(args, dest) is not None]
    ledger = open_ledger(args)
    try:
        prover = _prover(args, ledger)
        query = lookup.parse_query(chosen, args.start_time, args.end_time)
        page = ledger.read_models.read_audit(
            lambda cursor: lookup.lookup(cursor, query, args.max_results, args.next_token))
    except _Usage as error:
        print(f"audit lookup: {error}", file=sys.stderr)
        return 2
    except LedgerError as error:
        print(f"{error.code}: {error.message}", file=sys.stderr)
        return 1
    unproven = prover.unproven_records([e["EventId"] for e in page["Events"]])
    document: Any = page
    if args.records:
        document = {"Records": [json.loads(e["CloudTrailEvent"]) for e in page["Events"]]}
        if "NextToken" in page:
            document["NextToken"] = page["NextToken"]
    if unproven:
        document["UnprovenEventIds"] = unproven
        _unproven_note("lookup", len(unproven), "EventIds in UnprovenEventIds")
    print_json(document)
    return 0


def run_export(args: argparse.Namespace) -> int:
    ledger = open_ledger(args)
    start = to_micros(args.start_time) if args.start_time else 0
    end = to_micros(args.end_time) if args.end_time else 2**62
    try:
        prover = _prover(args, ledger)
    except _Usage as error:
        print(f"audit export: {error}", file=sys.stderr)
        return 2
    unproven: list[int] = []

    def check(position: int) -> None:
        if not prover.proven(position):
            unproven.append(position)

    def write(out: Any) -> int:
        return ledger.read_models.read_audit(
            lambda cursor: export.write(cursor, out, args.format, start, end, check))

    if args.output is None:
        count = write(sys.stdout)
    elif args.output.is_symlink():
        print(f"audit export: {args.output} is a symbolic link; not followed", file=sys.stderr)
        return 2
    else:
        count = _write_new_private_file(args.output, write)
    print(f"exported {count} records", file=sys.stderr)
    if unproven:
        _unproven_note("export", len(unproven), f"the last: log positions {unproven[0]}-"
                                                f"{unproven[-1]}")
    return 0


def _write_new_private_file(path: Path, write: Callable[[Any], int]) -> int:
    """Write a new file only its owner may read, then rename it to `path`: an existing file
    there is replaced, not reused with whatever mode (and readers) it had."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            count = write(out)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return count


def run_hash(args: argparse.Namespace) -> int:
    if args.binary_file is not None:
        value_type, data = audit_hash.BINARY, args.binary_file.read_bytes()
    else:
        data = sys.stdin.buffer.read()
        if not args.keep_newline and data.endswith(b"\n"):
            data = data[:-2] if data.endswith(b"\r\n") else data[:-1]
        value_type = audit_hash.STRING
    ledger = open_ledger(args)
    fingerprints = audit_hash.fingerprints_of(ledger, value_type, data)
    del data
    print_json(audit_hash.find(ledger, fingerprints))
    return 0

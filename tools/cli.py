"""`secrets-ledger`: a thin command line over the one application service.

Each command group lives in its own module exposing `register(subparsers)`; a command's handler
takes the parsed arguments and returns the process exit status.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sqlite3
import sys

from eventsourcing.persistence import MapperDeserialisationError, PersistenceError

from ledger.files import NotPrivate
from ledger.keys.envelope import SealBroken
from ledger.keys.private_files import KeyFileError
from projections.audit_check import AuditViewAltered
from tools.commands.common import NoLedger

COMMAND_MODULES = [
    "tools.commands.secrets",
    "tools.commands.serve",
    "tools.commands.principals",
    "tools.commands.keys",
    "tools.commands.integrity",
    "tools.commands.audit",
    "tools.commands.inspect",
    "tools.commands.replay",
    "tools.commands.history",
    "tools.commands.custody",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="secrets-ledger",
                                     description="Event-sourced secrets store with AWS Secrets "
                                                 "Manager semantics and a tamper-evident log.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    umask = os.umask(0o077)  # what a command creates (a ledger, an export) is its user's alone
    try:
        return _run(args)
    finally:
        os.umask(umask)


def _run(args: argparse.Namespace) -> int:
    """The command's exit status; damaged data and a closed stdout end in one line, or none."""
    try:
        return int(args.handler(args) or 0)
    except (NoLedger, KeyFileError, NotPrivate) as error:  # the wrong place or key, or unsafe
        print(f"secrets-ledger {args.command}: {error}", file=sys.stderr)
        return 2
    except MapperDeserialisationError as error:  # bytes in the log that no event decodes from
        print(f"secrets-ledger {args.command}: the log cannot be read: {error}. It may have "
              "been altered; `secrets-ledger verify` names what changed and where.",
              file=sys.stderr)
        return 1
    except AuditViewAltered as error:
        print(f"secrets-ledger {args.command}: {error}.", file=sys.stderr)
        return 1
    except SealBroken:
        print(f"secrets-ledger {args.command}: a key in the key store does not open under the "
              "root key: its row was altered, or the root key is not this ledger's.",
              file=sys.stderr)
        return 1
    except (sqlite3.DatabaseError, PersistenceError) as error:  # damaged, or not a ledger
        print(f"secrets-ledger {args.command}: the ledger's database cannot be read: {error}.",
              file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as error:  # a file named that is missing or not allowed, a port taken
        print(f"secrets-ledger {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

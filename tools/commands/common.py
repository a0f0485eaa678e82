"""What every command shares: where the ledger lives and how results are printed."""
from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ledger.application import SecretsLedger
from ledger.config import LEDGER_FILE, STORES, LedgerConfig


def int_between(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high` (a usage error, not a crash)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"not a whole number from {low} to {high}: {text}")
        return value
    return parse


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=None,
                        help="ledger data directory (default: $LEDGER_DATA_DIR or ./ledger-data)")
    parser.add_argument("--store", choices=STORES, default=None,
                        help="where the log lives (default: $LEDGER_STORE; postgres when "
                             "LEDGER_DATABASE_URL is set; else sqlite). postgres reads "
                             "LEDGER_DATABASE_URL or the POSTGRES_* settings; the data directory "
                             "still holds the root key unless --root-key names it")
    parser.add_argument("--root-key", type=Path, default=None, metavar="FILE",
                        help="the root key file, kept outside the data directory (default: "
                             "$LEDGER_ROOT_KEY_FILE, else base64 $LEDGER_ROOT_KEY, else "
                             "DATA_DIR/root.key)")
    parser.add_argument("--signing-key", type=Path, default=None, metavar="FILE",
                        help="the digest signing key file (default: $LEDGER_SIGNING_KEY_FILE, "
                             "else the key kept in the ledger's key store)")


def add_command(commands: argparse._SubParsersAction, name: str, help_text: str,
                handler: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
    """A subcommand that works on a ledger: its parser, with --data-dir and --store."""
    parser = commands.add_parser(name, help=help_text)
    add_data_dir(parser)
    parser.set_defaults(handler=handler)
    return parser


def store_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """LedgerConfig overrides from the command line (`--store`, `--root-key`, `--signing-key`)."""
    given = {"store": getattr(args, "store", None),
             "root_key_file": getattr(args, "root_key", None),
             "signing_key_file": getattr(args, "signing_key", None)}
    return {name: value for name, value in given.items() if value}


class NoLedger(Exception):
    """A command that reads a ledger was pointed at a directory that holds none."""


def data_dir_of(args: argparse.Namespace) -> Path:
    return Path(args.data_dir or os.environ.get("LEDGER_DATA_DIR") or "ledger-data")


def open_ledger(args: argparse.Namespace, *, create: bool = False) -> SecretsLedger:
    """The ledger the arguments name. Only commands that write may create one: an audit
    command pointed at the wrong directory must say so, not verify a new, empty ledger."""
    config = LedgerConfig.from_environ(data_dir=data_dir_of(args), **store_overrides(args))
    if not create and config.backend == "sqlite":
        existing_ledger_file(args)
    return SecretsLedger(config)


def existing_ledger_file(args: argparse.Namespace) -> Path:
    """The SQLite file of the ledger the arguments name; NoLedger if there is none."""
    path = data_dir_of(args) / LEDGER_FILE
    if not path.exists():
        raise NoLedger(f"no ledger in {path.parent} (no {LEDGER_FILE} there); "
                       "check --data-dir or LEDGER_DATA_DIR")
    return path


def print_json(document: Any) -> None:
    json.dump(document, sys.stdout, indent=2, sort_keys=True, default=_json_default)
    sys.stdout.write("\n")


def _json_default(value: Any) -> str:
    """Bytes (SecretBinary) print as base64, as the AWS CLI prints them; the rest as text."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def run_admin(args: argparse.Namespace, make_admin: Callable[[SecretsLedger], Any],
              refusals: tuple[type[Exception], ...], action: Callable[[Any], None]) -> int:
    """Open the ledger, run one admin action on it and close it; a refusal is one line on
    stderr and exit status 1."""
    ledger = open_ledger(args, create=True)
    try:
        action(make_admin(ledger))
    except (*refusals, OSError) as error:
        print(str(error), file=sys.stderr)
        return 1
    finally:
        ledger.close()
    return 0

"""`secrets-ledger inspect [SECRET] (--at T | --position N)`: the state as of a moment.

With SECRET: its versions, which version held each label, key, description, tags, deletion
state and every label move up to then (who, when, which request). Without: every secret and KMS
key of the ledger. JSON out. The value is never printed unless `--show-value` is given; then it
is read through an audited GetSecretValue as the system identity, and a version whose data key
was destroyed says so.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from ledger.context import Caller
from ledger.errors import LedgerError
from projections.point_in_time import Bound, ledger_as_of, secret_as_of, value_as_of
from tools.commands.audit import parse_time
from tools.commands.common import add_data_dir, int_between, open_ledger, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("inspect", help="a secret or the whole ledger as of a time "
                                                   "or log position")
    add_data_dir(parser)
    parser.add_argument("secret", nargs="?", default=None, help="name or ARN (omit: everything)")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--at", type=parse_time, default=None, help="ISO 8601 time")
    when.add_argument("--position", type=int_between(0, 2**63 - 1), default=None, help="log position (notification id)")
    parser.add_argument("--show-value", action="store_true",
                        help="also print the value the label pointed at (an audited read)")
    parser.add_argument("--label", default="AWSCURRENT", help="label for --show-value")
    parser.set_defaults(handler=run_inspect)


def run_inspect(args: argparse.Namespace) -> int:
    ledger = open_ledger(args)
    if args.at is None and args.position is None:
        bound = Bound(position=ledger.recorder.max_notification_id() or 0)
    else:
        bound = Bound(at=args.at, position=args.position)
    try:
        if args.secret is None:
            if args.show_value:
                print("--show-value needs a SECRET", file=sys.stderr)
                return 2
            document: dict[str, Any] = ledger_as_of(ledger, bound)
        else:
            document = secret_as_of(ledger, args.secret, bound)
            if args.show_value:
                document["value"] = value_as_of(ledger, document,
                                                Caller.system(ledger.config.account_id),
                                                args.label)
    except LedgerError as error:
        print(f"{error.code}: {error.message}", file=sys.stderr)
        return 1
    print_json(document)
    return 0

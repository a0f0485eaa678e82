"""`secrets-ledger call OPERATION JSON`: run any Secrets Manager operation as the system identity."""
from __future__ import annotations

import argparse
import json
import sys

from ledger.context import Caller
from ledger.errors import LedgerError
from tools.commands.common import add_data_dir, open_ledger, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("call", help="run one Secrets Manager operation locally")
    add_data_dir(parser)
    parser.add_argument("operation", help="e.g. CreateSecret, UpdateSecret, DescribeSecret")
    parser.add_argument("request", nargs="?", default="{}",
                        help="the request as JSON, or - to read it from stdin")
    parser.set_defaults(handler=run_call)


def run_call(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.request == "-" else args.request
    try:
        request = json.loads(text)
    except json.JSONDecodeError as error:
        print(f"request is not valid JSON: {error.msg}", file=sys.stderr)
        return 2
    ledger = open_ledger(args, create=True)
    try:
        print_json(ledger.call(args.operation, request, Caller.system(ledger.config.account_id),
                               user_agent="secrets-ledger-cli"))
    except LedgerError as error:
        print(f"{error.code}: {error.message}", file=sys.stderr)
        return 1
    return 0

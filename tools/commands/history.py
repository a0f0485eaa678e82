"""`secrets-ledger history` and `secrets-ledger report`: the log as people read it.

    history SECRET [--at T] [--html FILE] [--no-verify] [--plain | --rich]
    report [--from T] [--to T] [--html FILE] [--sensitive-tag KEY[=VALUE] ...] [--no-verify]

Without --html they print to the terminal (rich tables on a terminal, plain text otherwise);
with --html they write one self-contained page and print its path. Times are ISO 8601; a time
without an offset is UTC. Neither reads a secret value.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ledger.errors import LedgerError
from projections.history_source import load_report, load_timeline
from projections.sensitivity import SensitiveRule
from tools.commands.audit import parse_time
from tools.commands.common import add_data_dir, open_ledger
from tools.render import html, layout, terminal

T = TypeVar("T")


def register(subparsers: argparse._SubParsersAction) -> None:
    show = subparsers.add_parser("history", help="a secret's timeline: versions, labels, keys, "
                                                 "reads, deletion")
    add_data_dir(show)
    show.add_argument("secret", help="name or ARN (a deleted secret's too)")
    show.add_argument("--at", type=parse_time, default=None, help="history up to this time")
    _add_output(show)
    show.set_defaults(handler=run_history)

    report = subparsers.add_parser("report", help="an audit report of a period")
    add_data_dir(report)
    report.add_argument("--from", dest="start", type=parse_time, default=None,
                        help="first time (default: the beginning)")
    report.add_argument("--to", dest="end", type=parse_time, default=None,
                        help="last time (default: now)")
    report.add_argument("--sensitive-tag", dest="sensitive", action="append", default=[],
                        type=_rule, metavar="KEY[=VALUE]",
                        help="a tag marking sensitive secrets (repeatable; default: "
                             "sensitivity=high, classification=confidential|restricted|secret)")
    _add_output(report)
    report.set_defaults(handler=run_report)


def _add_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--html", type=Path, default=None, help="write an HTML page here")
    parser.add_argument("--no-verify", dest="verify", action="store_false",
                        help="skip the integrity check of the log")
    style = parser.add_mutually_exclusive_group()
    style.add_argument("--plain", dest="rich", action="store_const", const=False, default=None,
                       help="plain text even on a terminal")
    style.add_argument("--rich", dest="rich", action="store_const", const=True,
                       help="rich tables even when not on a terminal")


def _rule(text: str) -> SensitiveRule:
    try:
        return SensitiveRule.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def run_history(args: argparse.Namespace) -> int:
    ledger = open_ledger(args)
    try:
        timeline = load_timeline(ledger, args.secret, args.at, verify=args.verify)
    except LedgerError as error:
        print(f"{error.code}: {error.message}", file=sys.stderr)
        return 1
    _show(args, timeline, html.history_page, layout.history_blocks)
    return 0


def run_report(args: argparse.Namespace) -> int:
    if args.start is not None and args.end is not None and args.start > args.end:
        print("report: --from is after --to", file=sys.stderr)
        return 2
    ledger = open_ledger(args)
    report = load_report(ledger, args.start, args.end, args.sensitive, verify=args.verify)
    _show(args, report, html.report_page, layout.report_blocks)
    return 0


def _show(args: argparse.Namespace, subject: T, page: Callable[[T], str],
          blocks: Callable[[T], Any]) -> None:
    """One HTML page to --html FILE, else blocks on the terminal."""
    if args.html is not None:
        args.html.write_text(page(subject), encoding="utf-8")
        print(f"wrote {args.html}")
    else:
        terminal.write(blocks(subject), sys.stdout, args.rich)

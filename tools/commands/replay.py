"""`secrets-ledger rebuild` and `secrets-ledger replay`: the read models against the log.

    rebuild   drop the live read models and rebuild them from position 0, in place
    replay    rebuild every read model from position 0 into fresh storage and compare it with
              the live one (exit status 1 unless equal); a progress bar on a terminal
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from projections.replay import replay
from tools.commands.common import add_data_dir, open_ledger, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    rebuild = subparsers.add_parser("rebuild", help="rebuild the read models from the log")
    add_data_dir(rebuild)
    rebuild.set_defaults(handler=run_rebuild)

    check = subparsers.add_parser("replay", help="replay the log into fresh read models and "
                                                 "compare them with the live ones")
    add_data_dir(check)
    check.add_argument("--into", type=Path, default=None,
                       help="new SQLite file for the rebuilt models (default: memory)")
    check.set_defaults(handler=run_replay)


def progress_bar(total: int) -> Callable[[int], None] | None:
    """A one-line bar on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty() or total <= 0:
        return None
    last = [0.0]

    def show(position: int) -> None:
        now = time.monotonic()
        if now - last[0] < 0.1 and position < total:
            return
        last[0] = now
        done = min(position, total) / total
        bar = "#" * int(done * 40)
        sys.stderr.write(f"\r[{bar:<40}] {done:6.1%}  position {position}/{total}")
        sys.stderr.flush()
    return show


def run_rebuild(args: argparse.Namespace) -> int:
    ledger = open_ledger(args)
    total = ledger.recorder.max_notification_id() or 0
    started = time.perf_counter()
    applied = ledger.read_models.rebuild(progress_bar(total))
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    print_json({"eventsApplied": applied, "positions": ledger.read_models.positions(),
                "seconds": round(time.perf_counter() - started, 3)})
    return 0


def run_replay(args: argparse.Namespace) -> int:
    ledger = open_ledger(args)
    total = ledger.recorder.max_notification_id() or 0
    report = replay(ledger, args.into, progress_bar(total))
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    print_json(report.as_json())
    return 0 if report.equal else 1

"""What every command shares: where the ledger lives and how results are printed."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ledger.application import SecretsLedger
from ledger.config import LedgerConfig


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=None,
                        help="ledger data directory (default: $LEDGER_DATA_DIR or ./ledger-data)")


def open_ledger(args: argparse.Namespace) -> SecretsLedger:
    import os
    data_dir = args.data_dir or os.environ.get("LEDGER_DATA_DIR") or "ledger-data"
    return SecretsLedger(LedgerConfig.from_environ(data_dir=data_dir))


def print_json(document: Any) -> None:
    json.dump(document, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")
